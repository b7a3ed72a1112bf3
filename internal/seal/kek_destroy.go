package seal

import (
	"fmt"

	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Destroy deletes a retired (disabled, non-primary) key version from the
// keyset file, key material and all. Retire only disables a version, which
// an operator holding kek.json could undo; Destroy cannot be undone. After
// a destruction of customers (R-F3) it is what makes backups taken before
// it, which still hold the destroyed customers' keys wrapped under that
// version, unreadable with the live keyset. Destroying a version that is
// already gone does nothing.
func (k *KeysetKEK) Destroy(id uint32) error {
	k.change.Lock()
	defer k.change.Unlock()
	if err := k.reloadLocked(); err != nil {
		return err
	}
	for _, v := range versionsOf(k.handle) {
		if v.ID != id {
			continue
		}
		if v.Primary || v.Status == StatusEnabled {
			return fmt.Errorf("seal: destroy: KEK version %d is still in use; retire it first", id)
		}
		m := keyset.NewManagerFromHandle(k.handle)
		if err := m.Delete(id); err != nil {
			return fmt.Errorf("seal: destroy: %w", err)
		}
		if err := k.commitLocked(m); err != nil {
			return fmt.Errorf("seal: destroy: %w", err)
		}
		return nil
	}
	return nil
}
