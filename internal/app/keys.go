package app

import (
	"context"
	"fmt"

	"github.com/custos-cim/custos/internal/seal"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// RotateResult reports a key rotation.
type RotateResult struct {
	NewVersion uint32
	Rewrapped  int
}

// RotateKEK adds a new key-encryption key version, makes it primary and
// rewraps every customer's data key under it (R-D1). Old versions stay able
// to decrypt until retired. progress is called after every batch.
func (a *App) RotateKEK(ctx context.Context, progress func(done int)) (RotateResult, error) {
	v, err := a.keys.KEK.Rotate()
	if err != nil {
		return RotateResult{}, fmt.Errorf("rotate key-encryption key: %w", err)
	}
	res := RotateResult{NewVersion: v.ID}
	n, err := a.RewrapAll(ctx, progress)
	res.Rewrapped = n
	return res, err
}

// RewrapAll rewraps every data key, and every secret sealed directly under
// the KEK (TOTP secrets, the store's KEK check value), that is not yet under the primary KEK version. It
// works in batches and can be interrupted and rerun safely.
func (a *App) RewrapAll(ctx context.Context, progress func(done int)) (int, error) {
	primary := a.keys.KEK.Primary().ID
	n, err := a.rewrapSystemSecrets(ctx, primary)
	if err != nil {
		return n, err
	}
	if err := a.rewrapKEKCheck(ctx); err != nil {
		return n, fmt.Errorf("rewrap the KEK check value: %w", err)
	}
	m, err := a.rewrapDataKeys(ctx, primary, progress)
	return n + m, err
}

func (a *App) rewrapSystemSecrets(ctx context.Context, primary uint32) (int, error) {
	secrets, err := a.db.Reader().TOTPSecrets(ctx)
	if err != nil {
		return 0, err
	}
	done := 0
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		done = 0
		for _, s := range secrets {
			if id, ok := seal.WrappedKeyID(s.CT); ok && id == primary {
				continue
			}
			ct, err := a.keys.Sealer.RewrapSystem(totpPurpose(s.UserID), s.CT)
			if err != nil {
				return fmt.Errorf("rewrap TOTP secret of user %d: %w", s.UserID, err)
			}
			if err := tx.ReplaceTOTPSecret(ctx, s.UserID, s.CT, ct); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	return done, err
}

func (a *App) rewrapDataKeys(ctx context.Context, primary uint32, progress func(done int)) (int, error) {
	after := ""
	done := 0
	for {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		keys, err := a.db.Reader().CustomerKeys(ctx, after, 500)
		if err != nil {
			return done, err
		}
		if len(keys) == 0 {
			return done, nil
		}
		// The keys are rewrapped before the write, which only stores them.
		var rw []sqlstore.KeyRewrap
		for _, k := range keys {
			if id, ok := seal.WrappedKeyID(k.Wrapped); ok && id == primary {
				continue
			}
			nw, err := a.keys.Sealer.Rewrap(k.CustomerID, k.Wrapped)
			if err != nil {
				return done, fmt.Errorf("rewrap %s: %w", k.CustomerID, err)
			}
			rw = append(rw, sqlstore.KeyRewrap{CustomerID: k.CustomerID, Old: k.Wrapped, New: nw})
		}
		n := len(rw)
		if n > 0 {
			err = a.db.Write(ctx, func(tx *sqlstore.Tx) error { return tx.UpdateCustomerKeys(ctx, int64(primary), rw) })
		}
		if err != nil {
			return done, err
		}
		done += n
		after = keys[len(keys)-1].CustomerID
		if progress != nil {
			progress(done)
		}
	}
}
