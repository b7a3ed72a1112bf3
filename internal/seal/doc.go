// Package seal protects customer data at rest (R-D1) and gives the audit trail
// its keys (R-D3): envelope encryption of customer fields, blind indexes for
// searching encrypted fields, keyed references for audit rows, and the key that
// signs audit checkpoints.
//
// # Keys and why each exists
//
// Six kinds of key, six jobs, never shared, so that the loss or misuse of one
// does not hand over the others:
//
//   - The key-encryption key (KEK, kek.json) wraps data keys, and the few
//     secrets that belong to no customer (Sealer.SealSystem, e.g. TOTP
//     secrets); it never encrypts customer fields itself, so it stays off the
//     hot path and could live in an HSM. It is a tink AEAD keyset of
//     AES-256-GCM keys, so it can be rotated: a new primary key wraps from
//     then on, older enabled keys still unwrap, and every wrapped key carries
//     tink's 5-byte prefix naming the version that wrapped it
//     ([WrappedKeyID]), which lets a re-wrap job find what is left to move
//     before an old version is retired.
//   - One data key (DEK) per customer: 32 random bytes, AES-256-GCM, stored only
//     wrapped, next to the customer. Encrypting each customer under its own key
//     makes erasure cheap and certain (R-F3): deleting the wrapped key row
//     ("crypto-shredding") makes every copy of that customer's ciphertext
//     unreadable. A backup that still holds the wrapped key stays readable
//     until it expires, or until the KEK version that wrapped it is retired,
//     which is why rotation plus retirement is also the way to shred old
//     backups. Field encryption uses crypto/aes + crypto/cipher
//     directly, with unwrapped keys held in a bounded LRU cache, because it is
//     the hot path. Random 96-bit nonces are safe here because each key only
//     ever encrypts one customer's fields, far below GCM's 2^32 message bound.
//   - The index key (index.json) computes blind indexes: HMAC-SHA256 over
//     kind || 0x00 || normalised value. Equal inputs give equal indexes, so the
//     store can look up an identity number or phone number without decrypting;
//     the database alone shows which rows share a value, not the value.
//   - The audit-reference key (auditref.json) computes the references that
//     audit rows carry instead of personal data (as Vault HMACs values before
//     they reach its audit log). It is a different key from the index key on
//     purpose: someone holding the audit log cannot join its rows to the blind
//     indexes of the customer tables.
//   - The audit signing key (auditsign.json) is an Ed25519 key that signs audit
//     checkpoints, so that an outside witness holding only the public key can
//     check that the log was not rewritten.
//   - The record key (records.json) tags the security-relevant columns of
//     customer and transaction rows ([RecordMAC]), so that a row changed in
//     the database outside Custos fails its check on the next read.
//
// The index and audit-reference keys are deliberately not rotated in place:
// a new key changes every index value, so "rotation" there is a re-indexing
// migration, not a keyset operation. Only their primary key is used.
//
// # Associated data
//
// Every AEAD call binds its ciphertext to where it belongs:
//
//	wrapped data key   "custos/dek/v1|" + customerID
//	field ciphertext   "custos/field/v1|" + customerID + "|" + field
//	system secret      "custos/system/v1|" + purpose
//
// A ciphertext copied to another customer's row, or into another column of
// the same row, fails to authenticate ([ErrDecrypt]) instead of decrypting
// under the wrong owner; so does a wrapped key copied to another customer.
// Customer IDs may not contain '|', which keeps the encoding unambiguous. A
// field ciphertext is 0x01 | 12-byte nonce | GCM ciphertext and tag; the
// leading version byte leaves room for a later format.
//
// # Key files
//
// All the keys are stored as cleartext tink JSON keysets, one per file, mode
// 0600 in a 0700 directory, and refused if group or others can read them.
// [OpenKeyring] creates only the files its caller allows: keys are made for
// a store that holds no data, never beside one that does (fresh keys there
// would make its data unreadable and its audit trail look tampered with);
// [Keyring.Fingerprints] and [Keyring.KEKCheck] let the store record which
// keys it was made with. Using one format for all of them means one loader, one
// permission check, one tool (tinkey) to inspect them, and one path to an
// encrypted-at-rest keyset when a KMS arrives. Rewrites go through a temporary
// file and a rename, so a crash leaves either the old or the new keyset, and
// first creation uses a hard link so that two processes starting at once
// cannot each create a different key.
//
// A process notices a keyset rewritten by another process (for example
// "custos kek rotate" run while the server is up): it re-reads kek.json when
// it changes, checked at most every few seconds, and at once when it meets a
// wrapped key whose version it does not know.
//
// # KMS and HSM
//
// Everything above the KEK only sees the [KEK] interface: Wrap(dek, ad) and
// Unwrap(wrapped, ad). A KMS or HSM implementation sends the 32-byte data key
// and the associated data to the device and never exposes its master key;
// [Sealer] keeps working unchanged, and its cache keeps the device out of the
// hot path. The KEK file path is configured separately from the other keys so
// that, until then, it can live on a different volume from the database and
// its backups.
package seal
