package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) { // R-C4
	h := HashPassword("Correct-Horse-9")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected hash format %q", h)
	}
	if ok, err := VerifyPassword(h, "Correct-Horse-9"); !ok || err != nil {
		t.Fatalf("right password refused: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "Correct-Horse-8"); ok {
		t.Fatal("wrong password accepted")
	}
	if h == HashPassword("Correct-Horse-9") {
		t.Fatal("hashes must be salted")
	}
	if _, err := VerifyPassword("$2a$10$abc", "x"); err != ErrBadHash {
		t.Fatalf("bcrypt-looking hash: %v", err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct{ pw, user, code string }{
		{"short1A!", "li", "password_too_short"},
		{"alllowercaseletters", "li", "password_too_simple"},
		{"Wangwei-2024x", "wangwei", "password_contains_username"},
		{"MyPassword1!", "li", "password_common"},
		{"Tiger-Lily-77", "li", ""},
	} {
		err := CheckPassword(tc.pw, tc.user)
		got := ""
		if err != nil {
			got = err.(*PolicyViolation).Code
		}
		if got != tc.code {
			t.Errorf("CheckPassword(%q) = %q, want %q", tc.pw, got, tc.code)
		}
	}
}

func TestSecretsAreStoredAsHashes(t *testing.T) {
	s, h := NewSecret(TokenPrefix)
	if !strings.HasPrefix(s, TokenPrefix) || len(s) < 40 {
		t.Fatalf("token %q", s)
	}
	if string(HashSecret(s)) != string(h) {
		t.Fatal("hash mismatch")
	}
}

func TestTOTP(t *testing.T) { // R-D4
	secret, url, err := NewTOTPSecret("Custos", "li")
	if err != nil || !strings.HasPrefix(url, "otpauth://totp/") || !ValidBase32(secret) {
		t.Fatalf("secret %q url %q err %v", secret, url, err)
	}
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	code, err := TOTPCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckTOTP(secret, code, now.Add(25*time.Second)) {
		t.Fatal("current code refused")
	}
	if CheckTOTP(secret, code, now.Add(5*time.Minute)) {
		t.Fatal("stale code accepted")
	}
}
