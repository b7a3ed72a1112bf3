package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

// CreateOrg inserts a unit below its parent and computes its path.
func (tx *Tx) CreateOrg(ctx context.Context, o *custos.Org) error {
	parentPath := "/"
	if o.ParentID != 0 {
		p, err := tx.Org(ctx, o.ParentID)
		if err != nil {
			if errors.Is(err, custos.ErrNotFound) {
				return custos.Errorf(custos.EInvalid, "上级机构不存在", "parent organisation does not exist")
			}
			return err
		}
		parentPath = p.Path
	}
	var parent any
	if o.ParentID != 0 {
		parent = o.ParentID
	}
	err := tx.row(ctx, `INSERT INTO orgs (code, name, name_en, kind, parent_id, path, created_at) VALUES (?, ?, ?, ?, ?, '', ?) RETURNING id`,
		o.Code, o.Name, o.NameEN, string(o.Kind), parent, tx.db.ts(tx.Now())).Scan(&o.ID)
	if err != nil {
		if isUnique(err) {
			return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "机构代码已存在", EN: "organisation code already exists"},
				Fields: []custos.FieldError{{Field: "code", Code: custos.CodeDuplicate, Message: custos.StandardMessage(custos.CodeDuplicate)}}}
		}
		return fmt.Errorf("insert org: %w", err)
	}
	o.Path = fmt.Sprintf("%s%d/", parentPath, o.ID)
	_, err = tx.exec(ctx, `UPDATE orgs SET path = ? WHERE id = ?`, o.Path, o.ID)
	return err
}

// UpdateOrg renames a unit. Units do not move: paths are part of every scope.
func (tx *Tx) UpdateOrg(ctx context.Context, o *custos.Org) error {
	res, err := tx.exec(ctx, `UPDATE orgs SET name = ?, name_en = ?, kind = ? WHERE id = ?`, o.Name, o.NameEN, string(o.Kind), o.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

const orgColumns = `id, code, name, name_en, kind, COALESCE(parent_id, 0), path`

func scanOrg(s scanner) (*custos.Org, error) {
	var o custos.Org
	var kind string
	if err := s.Scan(&o.ID, &o.Code, &o.Name, &o.NameEN, &kind, &o.ParentID, &o.Path); err != nil {
		return nil, notFound(err)
	}
	o.Kind = custos.OrgKind(kind)
	return &o, nil
}

// Org loads one unit.
func (tx *Tx) Org(ctx context.Context, id int64) (*custos.Org, error) {
	return scanOrg(tx.row(ctx, `SELECT `+orgColumns+` FROM orgs WHERE id = ?`, id))
}

// OrgByCode loads one unit by its code.
func (tx *Tx) OrgByCode(ctx context.Context, code string) (*custos.Org, error) {
	return scanOrg(tx.row(ctx, `SELECT `+orgColumns+` FROM orgs WHERE code = ?`, code))
}

// Orgs lists all units in tree order.
func (tx *Tx) Orgs(ctx context.Context) ([]*custos.Org, error) {
	rows, err := tx.query(ctx, `SELECT `+orgColumns+` FROM orgs ORDER BY path`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// CreateUser inserts a user with an already hashed password.
func (tx *Tx) CreateUser(ctx context.Context, u *custos.User, passwordHash string) error {
	now := tx.Now()
	u.CreatedAt = now
	u.PasswordChangedAt = now
	err := tx.row(ctx, `INSERT INTO users (username, display_name, email, org_id, role, password_hash, disabled, password_changed_at, created_at, must_change_password)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Username, u.DisplayName, u.Email, u.OrgID, string(u.Role), passwordHash, u.Disabled, tx.db.ts(now), tx.db.ts(now), u.MustChangePassword).Scan(&u.ID)
	if err != nil {
		if isUnique(err) {
			return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "用户名已存在", EN: "username already exists"},
				Fields: []custos.FieldError{{Field: "username", Code: custos.CodeDuplicate, Message: custos.StandardMessage(custos.CodeDuplicate)}}}
		}
		if isForeignKey(err) {
			return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "机构不存在", EN: "organisation does not exist"},
				Fields: []custos.FieldError{{Field: "org_id", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

const userColumns = `id, username, display_name, email, org_id, role, disabled, mfa_enabled, failed_logins, locked_until, password_changed_at, created_at, last_login_at, must_change_password`

func scanUser(s scanner) (*custos.User, error) {
	var u custos.User
	var role string
	err := s.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.OrgID, &role, &u.Disabled, &u.MFAEnabled, &u.FailedLogins,
		scanTime{&u.LockedUntil}, scanTime{&u.PasswordChangedAt}, scanTime{&u.CreatedAt}, scanTimePtr{&u.LastLoginAt}, &u.MustChangePassword)
	if err != nil {
		return nil, notFound(err)
	}
	u.Role = custos.Role(role)
	return &u, nil
}

// User loads one user.
func (tx *Tx) User(ctx context.Context, id int64) (*custos.User, error) {
	return scanUser(tx.row(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserByName loads one user by username.
func (tx *Tx) UserByName(ctx context.Context, username string) (*custos.User, error) {
	return scanUser(tx.row(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
}

// NoUsers reports whether the store has no user yet (a fresh installation).
func (tx *Tx) NoUsers(ctx context.Context) (bool, error) {
	var n int
	err := tx.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) x`).Scan(&n)
	return n == 0, err
}

// Bootstrapping reports whether the store is a fresh installation: no
// customer yet and no active user with one of the given roles (the second
// persons who would approve a privileged account).
func (tx *Tx) Bootstrapping(ctx context.Context, approvers []custos.Role) (bool, error) {
	var n int
	if err := tx.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM customers LIMIT 1) x`).Scan(&n); err != nil || n > 0 {
		return false, err
	}
	if len(approvers) == 0 {
		return true, nil
	}
	args := make([]any, len(approvers))
	for i, r := range approvers {
		args[i] = string(r)
	}
	err := tx.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE role IN (`+placeholders(len(args))+`) AND NOT disabled LIMIT 1) x`, args...).Scan(&n)
	return n == 0, err
}

// UserCredentials returns a user's password hash and encrypted TOTP secret.
func (tx *Tx) UserCredentials(ctx context.Context, id int64) (hash string, totp []byte, err error) {
	err = tx.row(ctx, `SELECT password_hash, totp_ct FROM users WHERE id = ?`, id).Scan(&hash, &totp)
	return hash, totp, notFound(err)
}

// Users lists users.
func (tx *Tx) Users(ctx context.Context, f custos.UserFilter) ([]*custos.User, error) {
	var where []string
	var args []any
	if f.OrgID != 0 {
		where, args = append(where, "org_id = ?"), append(args, f.OrgID)
	}
	if f.Role != "" {
		where, args = append(where, "role = ?"), append(args, string(f.Role))
	}
	if f.Username != "" {
		where, args = append(where, "username = ?"), append(args, f.Username)
	}
	q := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := tx.query(ctx, q+` ORDER BY username`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*custos.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser changes a user's profile fields (not credentials).
func (tx *Tx) UpdateUser(ctx context.Context, u *custos.User) error {
	res, err := tx.exec(ctx, `UPDATE users SET display_name = ?, email = ?, org_id = ?, role = ?, disabled = ? WHERE id = ?`,
		u.DisplayName, u.Email, u.OrgID, string(u.Role), u.Disabled, u.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

// SetPassword stores a new password hash and clears the lockout;
// mustChange marks it one-time (set by someone else).
func (tx *Tx) SetPassword(ctx context.Context, userID int64, hash string, mustChange bool) error {
	res, err := tx.exec(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = ?, must_change_password = ? WHERE id = ?`,
		hash, tx.db.ts(tx.Now()), tx.db.ts(time.Time{}), mustChange, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

// SetTOTP stores (or with nil clears) a user's encrypted TOTP secret.
func (tx *Tx) SetTOTP(ctx context.Context, userID int64, secretCT []byte, enabled bool) error {
	_, err := tx.exec(ctx, `UPDATE users SET totp_ct = ?, mfa_enabled = ? WHERE id = ?`, secretCT, enabled, userID)
	return err
}

// RecordLoginFailure counts a failed login and locks the account for lockFor
// once the count reaches limit. It returns the new count.
func (tx *Tx) RecordLoginFailure(ctx context.Context, userID int64, limit int, lockFor time.Duration) (int, error) {
	var n int
	if err := tx.row(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins`, userID).Scan(&n); err != nil {
		return 0, notFound(err)
	}
	if n >= limit {
		if _, err := tx.exec(ctx, `UPDATE users SET locked_until = ? WHERE id = ?`, tx.db.ts(tx.Now().Add(lockFor)), userID); err != nil {
			return n, err
		}
	}
	return n, nil
}

// RecordLoginSuccess resets the failure count.
func (tx *Tx) RecordLoginSuccess(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = ?, last_login_at = ? WHERE id = ?`,
		tx.db.ts(time.Time{}), tx.db.ts(tx.Now()), userID)
	return err
}

// Session is a stored login session; the id itself is never stored, only its hash.
type Session struct {
	IDHash     []byte
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	MFAPassed  bool
	Purpose    string
	Lang       string
	ClientAddr string
}

// CreateSession stores a session.
func (tx *Tx) CreateSession(ctx context.Context, s *Session) error {
	_, err := tx.exec(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, mfa_passed, purpose, lang, client_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.UserID, tx.db.ts(s.CreatedAt), tx.db.ts(s.LastSeenAt), tx.db.ts(s.ExpiresAt),
		s.MFAPassed, s.Purpose, s.Lang, s.ClientAddr)
	return err
}

// Session loads a session by its id hash.
func (tx *Tx) Session(ctx context.Context, idHash []byte) (*Session, error) {
	var s Session
	err := tx.row(ctx, `SELECT id_hash, user_id, created_at, last_seen_at, expires_at, mfa_passed, purpose, lang, client_addr FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.UserID, scanTime{&s.CreatedAt}, scanTime{&s.LastSeenAt}, scanTime{&s.ExpiresAt}, &s.MFAPassed, &s.Purpose, &s.Lang, &s.ClientAddr)
	if err != nil {
		return nil, notFound(err)
	}
	return &s, nil
}

// TouchSession records activity and the session's chosen purpose and language.
func (tx *Tx) TouchSession(ctx context.Context, s *Session) error {
	_, err := tx.exec(ctx, `UPDATE sessions SET last_seen_at = ?, purpose = ?, lang = ?, mfa_passed = ? WHERE id_hash = ?`,
		tx.db.ts(s.LastSeenAt), s.Purpose, s.Lang, s.MFAPassed, s.IDHash)
	return err
}

// DeleteSession ends a session.
func (tx *Tx) DeleteSession(ctx context.Context, idHash []byte) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

// DeleteUserSessions ends every session of a user.
func (tx *Tx) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// PurgeSessions deletes sessions idle since before idleBefore or past their absolute expiry.
func (tx *Tx) PurgeSessions(ctx context.Context, idleBefore time.Time) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR expires_at < ?`, tx.db.ts(idleBefore), tx.db.ts(tx.Now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// APIToken is a stored API token; only the hash of the secret is kept.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Hash       []byte
	Scopes     []string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// CreateToken stores a token.
func (tx *Tx) CreateToken(ctx context.Context, t *APIToken) error {
	t.CreatedAt = tx.Now()
	return tx.row(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, scopes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		t.UserID, t.Name, t.Hash, strings.Join(t.Scopes, ","), tx.db.ts(t.ExpiresAt), tx.db.ts(t.CreatedAt)).Scan(&t.ID)
}

const tokenColumns = `id, user_id, name, token_hash, scopes, expires_at, created_at, last_used_at, revoked_at`

func scanToken(s scanner) (*APIToken, error) {
	var t APIToken
	var scopes string
	if err := s.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, scanTime{&t.ExpiresAt}, scanTime{&t.CreatedAt}, scanTimePtr{&t.LastUsedAt}, scanTimePtr{&t.RevokedAt}); err != nil {
		return nil, notFound(err)
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, ",")
	}
	return &t, nil
}

// TokenByHash loads a token by the hash of its secret.
func (tx *Tx) TokenByHash(ctx context.Context, hash []byte) (*APIToken, error) {
	return scanToken(tx.row(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`, hash))
}

// Tokens lists a user's tokens.
func (tx *Tx) Tokens(ctx context.Context, userID int64) ([]*APIToken, error) {
	rows, err := tx.query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TouchToken records a token's use.
func (tx *Tx) TouchToken(ctx context.Context, id int64) error {
	_, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, tx.db.ts(tx.Now()), id)
	return err
}

// TokenByID loads a token by its id.
func (tx *Tx) TokenByID(ctx context.Context, id int64) (*APIToken, error) {
	return scanToken(tx.row(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`, id))
}

// RevokeUserTokens revokes every live token of a user and says how many.
func (tx *Tx) RevokeUserTokens(ctx context.Context, userID int64) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, tx.db.ts(tx.Now()), userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// RevokeToken revokes a token.
func (tx *Tx) RevokeToken(ctx context.Context, id, userID int64) error {
	res, err := tx.exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`, tx.db.ts(tx.Now()), id, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return custos.ErrNotFound
	}
	return nil
}

// AddPortfolio assigns a customer or a building to a user.
func (tx *Tx) AddPortfolio(ctx context.Context, e custos.PortfolioEntry) error {
	var err error
	if e.CustomerID != "" {
		_, err = tx.exec(ctx, `INSERT INTO portfolio (user_id, customer_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, e.UserID, e.CustomerID)
	} else {
		_, err = tx.exec(ctx, `INSERT INTO portfolio_buildings (user_id, building) VALUES (?, ?) ON CONFLICT DO NOTHING`, e.UserID, e.Building)
	}
	if isForeignKey(err) {
		return custos.ErrNotFound
	}
	return err
}

// RemovePortfolio removes an assignment.
func (tx *Tx) RemovePortfolio(ctx context.Context, e custos.PortfolioEntry) error {
	var err error
	if e.CustomerID != "" {
		_, err = tx.exec(ctx, `DELETE FROM portfolio WHERE user_id = ? AND customer_id = ?`, e.UserID, e.CustomerID)
	} else {
		_, err = tx.exec(ctx, `DELETE FROM portfolio_buildings WHERE user_id = ? AND building = ?`, e.UserID, e.Building)
	}
	return err
}

// Portfolio lists a user's assignments.
func (tx *Tx) Portfolio(ctx context.Context, userID int64) ([]custos.PortfolioEntry, error) {
	rows, err := tx.query(ctx, `SELECT customer_id, '' FROM portfolio WHERE user_id = ? UNION ALL SELECT '', building FROM portfolio_buildings WHERE user_id = ?`, userID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []custos.PortfolioEntry
	for rows.Next() {
		e := custos.PortfolioEntry{UserID: userID}
		if err := rows.Scan(&e.CustomerID, &e.Building); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SystemSecret is a secret sealed directly under the key-encryption key.
type SystemSecret struct {
	UserID int64
	CT     []byte
}

// TOTPSecrets lists every stored TOTP secret (for rewrapping after a KEK rotation).
func (tx *Tx) TOTPSecrets(ctx context.Context) ([]SystemSecret, error) {
	rows, err := tx.query(ctx, `SELECT id, totp_ct FROM users WHERE totp_ct IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SystemSecret
	for rows.Next() {
		var s SystemSecret
		if err := rows.Scan(&s.UserID, &s.CT); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReplaceTOTPSecret swaps a rewrapped TOTP secret in, if it is still the one that was rewrapped.
func (tx *Tx) ReplaceTOTPSecret(ctx context.Context, userID int64, old, ct []byte) error {
	_, err := tx.exec(ctx, `UPDATE users SET totp_ct = ? WHERE id = ? AND totp_ct = ?`, ct, userID, old)
	return err
}
