package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/custos-cim/custos"
)

// The customer self-service portal (R-B5, R-E3): portal accounts, one-time
// login codes and portal sessions. Passwords are argon2id hashes, codes
// keyed HMACs, session ids SHA-256 hashes; nothing personal is stored here.

// PortalAccount is a customer's access to the self-service portal.
type PortalAccount struct {
	CustomerID        string
	PasswordHash      string // argon2id; "" when the customer signs in with one-time codes only
	Enabled           bool
	EnabledBy         int64
	EnabledAt         time.Time
	FailedLogins      int
	LockedUntil       time.Time
	PasswordChangedAt time.Time
	LastLoginAt       *time.Time
}

// PutPortalAccount enables (or re-enables) portal access for a customer,
// replacing the password hash when one is given and clearing the lockout.
func (tx *Tx) PutPortalAccount(ctx context.Context, a *PortalAccount) error {
	now := tx.db.ts(a.EnabledAt)
	changed := tx.db.ts(time.Time{})
	if a.PasswordHash != "" {
		changed = now
	}
	_, err := tx.exec(ctx, `INSERT INTO portal_accounts (customer_id, password_hash, enabled, enabled_by, enabled_at, failed_logins, locked_until, password_changed_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT (customer_id) DO UPDATE SET
			password_hash = CASE WHEN excluded.password_hash = '' THEN portal_accounts.password_hash ELSE excluded.password_hash END,
			password_changed_at = CASE WHEN excluded.password_hash = '' THEN portal_accounts.password_changed_at ELSE excluded.password_changed_at END,
			enabled = excluded.enabled, enabled_by = excluded.enabled_by, enabled_at = excluded.enabled_at,
			failed_logins = 0, locked_until = excluded.locked_until`,
		a.CustomerID, a.PasswordHash, a.Enabled, a.EnabledBy, now, tx.db.ts(time.Time{}), changed)
	if err != nil {
		return fmt.Errorf("put portal account: %w", err)
	}
	return nil
}

// DisablePortalAccount switches a customer's portal access off and ends
// their portal sessions. A missing account is custos.ErrNotFound.
func (tx *Tx) DisablePortalAccount(ctx context.Context, customerID string) error {
	res, err := tx.exec(ctx, `UPDATE portal_accounts SET enabled = ? WHERE customer_id = ?`, false, customerID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = custos.ErrNotFound
		}
		return err
	}
	_, err = tx.exec(ctx, `DELETE FROM portal_sessions WHERE customer_id = ?`, customerID)
	return err
}

// PortalAccount loads a customer's portal account.
func (tx *Tx) PortalAccount(ctx context.Context, customerID string) (*PortalAccount, error) {
	var a PortalAccount
	err := tx.row(ctx, `SELECT customer_id, password_hash, enabled, enabled_by, enabled_at, failed_logins, locked_until, password_changed_at, last_login_at
		FROM portal_accounts WHERE customer_id = ?`, customerID).
		Scan(&a.CustomerID, &a.PasswordHash, &a.Enabled, &a.EnabledBy, scanTime{&a.EnabledAt}, &a.FailedLogins, scanTime{&a.LockedUntil},
			scanTime{&a.PasswordChangedAt}, scanTimePtr{&a.LastLoginAt})
	if err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// PortalAccountsOf returns which of the given customers have a portal
// account that is enabled (a login resolves an ID number to customers first).
func (tx *Tx) PortalAccountsOf(ctx context.Context, customerIDs []string) ([]string, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(customerIDs)+1)
	args = append(args, true)
	for _, id := range customerIDs {
		args = append(args, id)
	}
	rows, err := tx.query(ctx, `SELECT customer_id FROM portal_accounts WHERE enabled = ? AND customer_id IN (`+placeholders(len(customerIDs))+`) ORDER BY customer_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// RecordPortalFailure counts a failed portal login (a wrong password or a
// wrong code) and locks the account for lockFor once the count reaches
// limit. It returns the new count.
func (tx *Tx) RecordPortalFailure(ctx context.Context, customerID string, limit int, lockFor time.Duration) (int, error) {
	var n int
	if err := tx.row(ctx, `UPDATE portal_accounts SET failed_logins = failed_logins + 1 WHERE customer_id = ? RETURNING failed_logins`, customerID).Scan(&n); err != nil {
		return 0, notFound(err)
	}
	if n >= limit {
		if _, err := tx.exec(ctx, `UPDATE portal_accounts SET locked_until = ? WHERE customer_id = ?`, tx.db.ts(tx.Now().Add(lockFor)), customerID); err != nil {
			return n, err
		}
	}
	return n, nil
}

// RecordPortalSuccess resets the failure count and notes the login.
func (tx *Tx) RecordPortalSuccess(ctx context.Context, customerID string) error {
	_, err := tx.exec(ctx, `UPDATE portal_accounts SET failed_logins = 0, locked_until = ?, last_login_at = ? WHERE customer_id = ?`,
		tx.db.ts(time.Time{}), tx.db.ts(tx.Now()), customerID)
	return err
}

// PortalOTP is a one-time login code as stored: its keyed hash only.
type PortalOTP struct {
	ID         int64
	CustomerID string
	CodeHash   []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Attempts   int
	UsedAt     *time.Time
}

// InsertPortalOTP stores a new code and voids the customer's earlier
// unused ones: only the newest code counts.
func (tx *Tx) InsertPortalOTP(ctx context.Context, o *PortalOTP) error {
	if _, err := tx.exec(ctx, `UPDATE portal_otps SET used_at = ? WHERE customer_id = ? AND used_at IS NULL`, tx.db.ts(o.CreatedAt), o.CustomerID); err != nil {
		return err
	}
	return tx.row(ctx, `INSERT INTO portal_otps (customer_id, code_hash, created_at, expires_at, attempts) VALUES (?, ?, ?, ?, 0) RETURNING id`,
		o.CustomerID, o.CodeHash, tx.db.ts(o.CreatedAt), tx.db.ts(o.ExpiresAt)).Scan(&o.ID)
}

// LatestPortalOTP loads the customer's newest unused code.
func (tx *Tx) LatestPortalOTP(ctx context.Context, customerID string) (*PortalOTP, error) {
	var o PortalOTP
	err := tx.row(ctx, `SELECT id, customer_id, code_hash, created_at, expires_at, attempts, used_at FROM portal_otps
		WHERE customer_id = ? AND used_at IS NULL ORDER BY id DESC LIMIT 1`, customerID).
		Scan(&o.ID, &o.CustomerID, &o.CodeHash, scanTime{&o.CreatedAt}, scanTime{&o.ExpiresAt}, &o.Attempts, scanTimePtr{&o.UsedAt})
	if err != nil {
		return nil, notFound(err)
	}
	return &o, nil
}

// CountPortalOTPsSince counts the codes issued to a customer since a time
// (to bound how many codes one account can be sent).
func (tx *Tx) CountPortalOTPsSince(ctx context.Context, customerID string, since time.Time) (int, error) {
	var n int
	err := tx.row(ctx, `SELECT COUNT(*) FROM portal_otps WHERE customer_id = ? AND created_at >= ?`, customerID, tx.db.ts(since)).Scan(&n)
	return n, err
}

// FailPortalOTP counts a wrong attempt at a code; at maxAttempts the code
// is used up. It returns the new count.
func (tx *Tx) FailPortalOTP(ctx context.Context, id int64, maxAttempts int, at time.Time) (int, error) {
	var n int
	if err := tx.row(ctx, `UPDATE portal_otps SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n); err != nil {
		return 0, notFound(err)
	}
	if n >= maxAttempts {
		if _, err := tx.exec(ctx, `UPDATE portal_otps SET used_at = ? WHERE id = ?`, tx.db.ts(at), id); err != nil {
			return n, err
		}
	}
	return n, nil
}

// UsePortalOTP marks a code used; it reports false when it was used
// meanwhile (two logins racing with one code: only one wins).
func (tx *Tx) UsePortalOTP(ctx context.Context, id int64, at time.Time) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE portal_otps SET used_at = ? WHERE id = ? AND used_at IS NULL`, tx.db.ts(at), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PurgePortalOTPs deletes codes that expired before a time.
func (tx *Tx) PurgePortalOTPs(ctx context.Context, before time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM portal_otps WHERE expires_at < ?`, tx.db.ts(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PortalSession is a stored portal session; only the hash of its id is kept.
type PortalSession struct {
	IDHash     []byte
	CustomerID string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Lang       string
	ClientAddr string
}

// CreatePortalSession stores a portal session.
func (tx *Tx) CreatePortalSession(ctx context.Context, s *PortalSession) error {
	_, err := tx.exec(ctx, `INSERT INTO portal_sessions (id_hash, customer_id, created_at, last_seen_at, expires_at, lang, client_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.CustomerID, tx.db.ts(s.CreatedAt), tx.db.ts(s.LastSeenAt), tx.db.ts(s.ExpiresAt), s.Lang, s.ClientAddr)
	return err
}

// PortalSession loads a portal session by its id hash.
func (tx *Tx) PortalSession(ctx context.Context, idHash []byte) (*PortalSession, error) {
	var s PortalSession
	err := tx.row(ctx, `SELECT id_hash, customer_id, created_at, last_seen_at, expires_at, lang, client_addr FROM portal_sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.CustomerID, scanTime{&s.CreatedAt}, scanTime{&s.LastSeenAt}, scanTime{&s.ExpiresAt}, &s.Lang, &s.ClientAddr)
	if err != nil {
		return nil, notFound(err)
	}
	return &s, nil
}

// TouchPortalSession records activity and the chosen language.
func (tx *Tx) TouchPortalSession(ctx context.Context, s *PortalSession) error {
	_, err := tx.exec(ctx, `UPDATE portal_sessions SET last_seen_at = ?, lang = ? WHERE id_hash = ?`, tx.db.ts(s.LastSeenAt), s.Lang, s.IDHash)
	return err
}

// DeletePortalSession ends a portal session.
func (tx *Tx) DeletePortalSession(ctx context.Context, idHash []byte) error {
	_, err := tx.exec(ctx, `DELETE FROM portal_sessions WHERE id_hash = ?`, idHash)
	return err
}

// PurgePortalSessions deletes portal sessions idle since before idleBefore
// or past their absolute expiry.
func (tx *Tx) PurgePortalSessions(ctx context.Context, idleBefore time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM portal_sessions WHERE last_seen_at < ? OR expires_at < ?`, tx.db.ts(idleBefore), tx.db.ts(tx.Now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SetPortalPassword replaces a customer's portal password hash.
func (tx *Tx) SetPortalPassword(ctx context.Context, customerID, hash string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE portal_accounts SET password_hash = ?, password_changed_at = ? WHERE customer_id = ?`, hash, tx.db.ts(at), customerID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = custos.ErrNotFound
		}
		return err
	}
	return nil
}
