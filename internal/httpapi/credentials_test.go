package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/app/apptest"
)

func init() {
	apiWalks = append(apiWalks, struct {
		name, owns string
		run        func(t *testing.T, f *apptest.Fixture, c *client)
	}{"credentials_RC4", "", walkCredentials})
}

// walkCredentials: tokens bounded by the token that mints them, listed and
// revoked; the caller's own password; an administrator's resets, which are
// one-time and end the person's tokens (R-C4).
func walkCredentials(t *testing.T, f *apptest.Fixture, c *client) {
	var tok app.NewToken
	c.do("am_bj01", "POST", "/api/v1/tokens", "", map[string]any{"name": "ro", "scopes": []string{"customers:read"}, "ttl": "24h"}).expect(t, 201, "a read-only token").json(t, &tok)
	c.tokens["am_ro"] = tok.Secret
	c.do("am_ro", "POST", "/api/v1/tokens", "", map[string]any{"name": "long", "ttl": "48h"}).expect(t, 422, "a token outliving its parent")
	c.do("am_ro", "POST", "/api/v1/tokens", "", map[string]any{"name": "wide", "scopes": []string{"customers:write"}}).expect(t, 422, "a token with more scopes")
	var child app.NewToken
	c.do("am_ro", "POST", "/api/v1/tokens", "", map[string]any{"name": "child", "ttl": "1h"}).expect(t, 201, "a narrower token").json(t, &child)

	var list struct{ Tokens []app.TokenInfo }
	c.do("am_bj01", "GET", "/api/v1/tokens", "", nil).expect(t, 200, "own tokens").json(t, &list)
	if len(list.Tokens) != 3 {
		t.Fatalf("own tokens: %+v", list)
	}
	c.do("am2_bj01", "GET", fmt.Sprintf("/api/v1/tokens?user_id=%d", f.Users["am_bj01"].ID), "", nil).expect(t, 404, "a colleague's tokens")
	c.do("admin", "GET", fmt.Sprintf("/api/v1/tokens?user_id=%d", f.Users["am_bj01"].ID), "", nil).expect(t, 200, "an administrator's view")
	c.do("am2_bj01", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", child.ID), "", nil).expect(t, 404, "a colleague revokes")
	c.do("am_bj01", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", child.ID), "", nil).expect(t, 204, "revoke own token")
	c.do("am_bj01", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", child.ID), "", nil).expect(t, 404, "revoke twice")

	c.do("am2_bj01", "POST", "/api/v1/me/password", "", map[string]any{"old_password": "wrong", "password": "Eigenes-Passw0rt-2027!"}).expect(t, 422, "a wrong current password")
	c.do("am2_bj01", "POST", "/api/v1/me/password", "", map[string]any{"old_password": apptest.Password, "password": "short"}).expect(t, 422, "a weak password")
	c.do("am2_bj01", "POST", "/api/v1/me/password", "", map[string]any{"old_password": apptest.Password, "password": "Eigenes-Passw0rt-2027!"}).expect(t, 204, "change own password")

	uid := f.Users["am_bj01"].ID
	c.do("am2_bj01", "POST", fmt.Sprintf("/api/v1/users/%d/password", uid), "", map[string]any{"password": "Einmal-Passw0rt-2026!"}).expect(t, 403, "a colleague resets a password")
	c.do("admin", "POST", fmt.Sprintf("/api/v1/users/%d/password", f.Users["admin"].ID), "", map[string]any{"password": "Einmal-Passw0rt-2026!"}).expect(t, 422, "an administrator resets their own")
	// An account manager's reset waits for a second person (the
	// administrator would otherwise sign in as them); a custodian's does not.
	var filed custos.Request
	c.do("admin", "POST", fmt.Sprintf("/api/v1/users/%d/password", uid), "", map[string]any{"password": "Einmal-Passw0rt-2026!"}).expect(t, 202, "a reset, filed").json(t, &filed)
	c.do("secadmin", "POST", reqPath(filed.ID, "approve"), "", map[string]any{"comment": "本人确认"}).expect(t, 200, "the reset approved")
	c.do("admin", "POST", fmt.Sprintf("/api/v1/users/%d/password", f.Users["custodian"].ID), "", map[string]any{"password": "Einmal-Passw0rt-2026!"}).expect(t, 204, "a custodian's reset")
	c.do("am_bj01", "GET", "/api/v1/me", "", nil).expect(t, 401, "the token after the reset")
	c.do("am_ro", "GET", "/api/v1/me", "", nil).expect(t, 401, "every token after the reset")
	c.do("am2_bj01", "POST", fmt.Sprintf("/api/v1/users/%d/mfa-reset", f.Users["mgr_bj"].ID), "", nil).expect(t, 403, "a colleague resets a second factor")
	c.do("admin", "POST", fmt.Sprintf("/api/v1/users/%d/mfa-reset", f.Users["mgr_bj"].ID), "", nil).expect(t, 202, "a manager's second-factor reset, filed").json(t, &filed)
	c.do("secadmin", "POST", reqPath(filed.ID, "approve"), "", map[string]any{"comment": "本人确认"}).expect(t, 200, "the second-factor reset approved")
	c.do("mgr_bj", "GET", "/api/v1/me", "", nil).expect(t, 401, "the token after the second-factor reset")
	c.do("admin", "POST", "/api/v1/users/99999/mfa-reset", "", nil).expect(t, 404, "a missing user")
}
