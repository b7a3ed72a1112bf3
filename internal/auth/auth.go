// Package auth holds the credential primitives of Custos (R-C4, R-D4):
// argon2id password hashes, the password policy, random session and API
// token secrets that are stored only as hashes, and TOTP second factors.
// It keeps no state; the services decide when to call what.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrBadHash reports a stored hash this package cannot read.
var ErrBadHash = errors.New("auth: unrecognised password hash")

// VerifyPassword checks a password against a stored hash in constant time.
func VerifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when a username does not exist, so that a
// login attempt takes as long for unknown users as for known ones.
var dummyHash = HashPassword("custos-dummy-password")

// BurnTime spends as long as a real verification.
func BurnTime(password string) { VerifyPassword(dummyHash, password) }

// PolicyViolation names what a password lacks.
type PolicyViolation struct {
	Code   string
	ZH, EN string
}

func (v *PolicyViolation) Error() string { return v.EN }

// MinPasswordLength is the policy's minimum length.
const MinPasswordLength = 10

var commonPasswords = []string{"password", "12345678", "123456789", "1234567890", "qwertyuiop", "abc123456", "iloveyou", "admin123", "password1", "11111111", "88888888", "woaini1314"}

// CheckPassword applies the password policy: at least 10 characters, three
// of four character classes, not containing the username, not a common password.
func CheckPassword(password, username string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return &PolicyViolation{"password_too_short", fmt.Sprintf("密码至少需要 %d 个字符", MinPasswordLength), fmt.Sprintf("password needs at least %d characters", MinPasswordLength)}
	}
	var upper, lower, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return &PolicyViolation{"password_too_simple", "密码需包含大写字母、小写字母、数字、符号中的至少三类", "password needs three of: upper-case, lower-case, digits, symbols"}
	}
	lp := strings.ToLower(password)
	if u := strings.ToLower(username); len(u) >= 3 && strings.Contains(lp, u) {
		return &PolicyViolation{"password_contains_username", "密码不能包含用户名", "password must not contain the username"}
	}
	for _, c := range commonPasswords {
		if strings.Contains(lp, c) {
			return &PolicyViolation{"password_common", "密码过于常见", "password is too common"}
		}
	}
	return nil
}

// NewSecret returns a random secret with a prefix, e.g. "cst_…" for API
// tokens, and the SHA-256 hash that is the only thing stored.
func NewSecret(prefix string) (secret string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret hashes a presented session id or token for lookup. The secrets
// carry 256 bits of entropy, so an unsalted SHA-256 is sufficient.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Token prefixes.
const (
	TokenPrefix   = "cst_"
	SessionPrefix = "css_"
)

// NewTOTPSecret creates a TOTP secret for a user and returns its base32 form
// and the otpauth:// URL for authenticator apps.
func NewTOTPSecret(issuer, account string) (secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// CheckTOTP validates a six-digit code, allowing one step of clock skew.
func CheckTOTP(secret, code string, now time.Time) bool {
	ok, err := totp.ValidateCustom(strings.TrimSpace(code), secret, now, totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return err == nil && ok
}

// TOTPCode computes the current code (tests, and the CLI's enrolment check).
func TOTPCode(secret string, now time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// ValidBase32 reports whether s is a usable TOTP secret.
func ValidBase32(s string) bool {
	_, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(s))
	return err == nil && len(s) >= 16
}
