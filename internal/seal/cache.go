package seal

import (
	"crypto/cipher"
	"hash/maphash"
	"sync"
)

// DefaultCacheSize is the number of unwrapped data keys a Sealer keeps when
// NewSealer is given a size of zero or less.
const DefaultCacheSize = 65536

// cacheKey names an unwrapped data key by its customer and the SHA-256 of the
// wrapped bytes it came from: after a rewrap or a new key the bytes differ,
// so a stale entry is never served, and the same wrapped bytes presented for
// another customer miss and go through the KEK, which refuses them.
type cacheKey struct {
	customer string
	sum      [32]byte
}

// keyCache is a bounded LRU of ready-to-use GCM instances (key schedule
// already expanded). It is sharded by customer so that concurrent requests
// for different customers rarely wait on the same lock, and so that Forget
// only has to look at one shard.
type keyCache struct {
	seed   maphash.Seed
	shards []cacheShard
}

type cacheShard struct {
	mu   sync.Mutex
	max  int
	m    map[cacheKey]*cacheEntry
	head cacheEntry // sentinel: head.next is most recent, head.prev least
	_    [64]byte   // keep neighbouring shards' locks off one cache line
}

type cacheEntry struct {
	key        cacheKey
	gcm        cipher.AEAD
	prev, next *cacheEntry
}

func newKeyCache(size int) *keyCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	n := 16
	if size < 1024 {
		n = 1 // small caches stay exact LRUs, which tests rely on
	}
	c := &keyCache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n)}
	for i := range c.shards {
		s := &c.shards[i]
		s.max = size / n
		if i < size%n {
			s.max++
		}
		s.m = make(map[cacheKey]*cacheEntry)
		s.head.next, s.head.prev = &s.head, &s.head
	}
	return c
}

func (c *keyCache) shard(customer string) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, customer)%uint64(len(c.shards))]
}

func (s *cacheShard) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *cacheShard) pushFront(e *cacheEntry) {
	e.prev, e.next = &s.head, s.head.next
	s.head.next.prev = e
	s.head.next = e
}

func (c *keyCache) get(k cacheKey) (cipher.AEAD, bool) {
	s := c.shard(k.customer)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[k]
	if !ok {
		return nil, false
	}
	if s.head.next != e {
		s.unlink(e)
		s.pushFront(e)
	}
	return e.gcm, true
}

func (c *keyCache) add(k cacheKey, gcm cipher.AEAD) {
	s := c.shard(k.customer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok { // another goroutine unwrapped it too
		s.unlink(e)
		s.pushFront(e)
		return
	}
	for len(s.m) >= s.max && s.head.prev != &s.head {
		old := s.head.prev
		s.unlink(old)
		delete(s.m, old.key)
	}
	e := &cacheEntry{key: k, gcm: gcm}
	s.m[k] = e
	s.pushFront(e)
}

func (c *keyCache) remove(k cacheKey) {
	s := c.shard(k.customer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok {
		s.unlink(e)
		delete(s.m, k)
	}
}

// removeCustomer drops every key of one customer (there can be more than one
// while a rewrap is in flight).
func (c *keyCache) removeCustomer(customer string) {
	s := c.shard(customer)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.m {
		if k.customer == customer {
			s.unlink(e)
			delete(s.m, k)
		}
	}
}

func (c *keyCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
