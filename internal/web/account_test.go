package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/custos-cim/custos/internal/sqlstore"
	"github.com/custos-cim/custos/internal/sqlstore/sqltest"
)

// TestOneTimePasswordPage_RC4: a password an administrator set lands on
// the change-password page and reaches nothing else until changed; the
// reset ended the session that was open.
func TestOneTimePasswordPage_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		e.login("am_bj01")
		wantStatus(t, e.get("/account/password"), http.StatusOK)
		// An account manager's reset waits for the security administrator.
		filed, err := e.f.App.ResetPassword(ctx, e.f.Actor("admin"), e.f.Users["am_bj01"].ID, "Einmal-Passw0rt-2026!")
		if err != nil || filed == nil {
			t.Fatalf("reset: %+v %v", filed, err)
		}
		if _, err := e.f.App.DecideRequest(ctx, e.f.Actor("secadmin"), filed.ID, true, "本人确认"); err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, e.get("/customers"), "/login")

		wantRedirect(t, e.post("/login", url.Values{"username": {"am_bj01"}, "password": {"Einmal-Passw0rt-2026!"}}), "/customers")
		for _, path := range []string{"/customers", "/inbox", "/account/tokens", "/retention"} {
			wantRedirect(t, e.get(path), "/account/password")
		}
		wantRedirect(t, e.post("/customers", url.Values{"name": {"x"}}), "/account/password")
		a := e.get("/account/password")
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, `id="must-change"`, "仅可使用一次")

		a = e.post("/account/password", url.Values{"old_password": {"Einmal-Passw0rt-2026!"}, "password": {"Eigenes-Passw0rt-2027!"}, "confirm": {"Anderes-Passw0rt-2027!"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, "两次输入的新密码不一致")
		a = e.post("/account/password", url.Values{"old_password": {"wrong"}, "password": {"Eigenes-Passw0rt-2027!"}, "confirm": {"Eigenes-Passw0rt-2027!"}})
		wantStatus(t, a, http.StatusUnprocessableEntity)
		wantBody(t, a, "原密码错误")
		wantRedirect(t, e.post("/account/password", url.Values{"old_password": {"Einmal-Passw0rt-2026!"}, "password": {"Eigenes-Passw0rt-2027!"}, "confirm": {"Eigenes-Passw0rt-2027!"}}), "/account/password?done=1")
		wantRedirect(t, e.get("/customers"), "/purpose") // on to the purpose of use, no longer held
		lacks(t, e.get("/account/password"), `id="must-change"`)
	})
}

// TestTokensPage_RC4: the user's own tokens, listed and revoked; an
// administrator sees anyone's; a colleague's answer 404.
func TestTokensPage_RC4(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		tok, err := e.f.App.CreateToken(ctx, e.f.Actor("am_bj01"), "报表脚本", []string{"customers:read"}, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.login("am_bj01")
		a := e.get("/account/tokens")
		wantStatus(t, a, http.StatusOK)
		wantBody(t, a, "报表脚本", "customers:read", `id="token-`+strconv.FormatInt(tok.ID, 10)+`"`)
		lacks(t, a, tok.Secret)

		other := session(t, e.f, "am2_bj01", "")
		wantStatus(t, other.post("/account/tokens/"+strconv.FormatInt(tok.ID, 10)+"/revoke", nil), http.StatusNotFound)
		wantStatus(t, other.get("/account/tokens?user=am_bj01"), http.StatusForbidden)
		admin := session(t, e.f, "admin", "")
		wantBody(t, admin.get("/account/tokens?user=am_bj01"), "报表脚本")

		wantRedirect(t, e.post("/account/tokens/"+strconv.FormatInt(tok.ID, 10)+"/revoke", nil), "/account/tokens")
		wantBody(t, e.get("/account/tokens"), "已撤销或过期")
		if _, err := e.f.App.TokenActor(ctx, tok.Secret, "", ""); err == nil {
			t.Fatal("the revoked token still works")
		}
	})
}
