package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
)

// The user's own credentials (R-C4): changing the password — the only page
// a one-time password set by an administrator reaches — and the API tokens,
// which the user (or an administrator, for anyone) can list and revoke.

func (s *server) accountRoutes(mux *http.ServeMux) {
	mux.Handle("GET /account/password", s.authed(s.passwordPage))
	mux.Handle("POST /account/password", s.authed(s.changePassword))
	mux.Handle("GET /account/tokens", s.authed(s.tokensPage))
	mux.Handle("POST /account/tokens/{tid}/revoke", s.authed(s.revokeToken))
}

// mustChangeAllowed are the paths a session with a one-time password may reach.
func mustChangeAllowed(path string) bool {
	return path == "/account/password" || path == "/logout"
}

type accountPasswordData struct {
	MustChange bool
	Errors     map[string]string
}

func (s *server) passwordPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Here = "account.password_title", "/account/password"
	p.Data = accountPasswordData{MustChange: p.Sess.User.MustChangePassword}
	if r.URL.Query().Get("done") == "1" {
		p.Notice = p.T("account.password_changed")
	}
	s.render(w, p, http.StatusOK, "account_password")
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Here = "account.password_title", "/account/password"
	d := accountPasswordData{MustChange: p.Sess.User.MustChangePassword, Errors: map[string]string{}}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, p, custos.Errorf(custos.EInvalid, "表单无法解析", "the form cannot be read"))
		return
	}
	if r.PostFormValue("password") != r.PostFormValue("confirm") {
		d.Errors["confirm"] = p.T("account.confirm_mismatch")
		p.Data = d
		s.render(w, p, http.StatusUnprocessableEntity, "account_password")
		return
	}
	err := s.app.SetPassword(r.Context(), p.Actor, p.Sess.User.ID, r.PostFormValue("old_password"), r.PostFormValue("password"))
	if err != nil {
		ce, ok := asError(err)
		if !ok || ce.Code != custos.EInvalid {
			s.fail(w, r, p, err)
			return
		}
		for _, f := range ce.Fields {
			d.Errors[f.Field] = p.M(f.Message)
		}
		p.Data = d
		s.render(w, p, http.StatusUnprocessableEntity, "account_password")
		return
	}
	http.Redirect(w, r, "/account/password?done=1", http.StatusSeeOther)
}

type tokenRow struct {
	ID                                      int64
	Name, Scopes, Created, Expires, LastUse string
	Live                                    bool
	RevokeLink                              string
}

type tokensData struct {
	User   string // whose tokens, when an administrator looks at someone else's
	Tokens []tokenRow
}

func (s *server) tokensPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title, p.Here = "account.tokens_title", "/account/tokens"
	uid, who := p.Sess.User.ID, ""
	if name := strings.TrimSpace(r.URL.Query().Get("user")); name != "" && name != p.Sess.User.Username {
		us, err := s.app.Users(r.Context(), p.Actor, custos.UserFilter{Username: custos.NormalizeUsername(name)})
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		if len(us) != 1 {
			s.notFound(w, p)
			return
		}
		uid, who = us[0].ID, us[0].Username
	}
	ts, err := s.app.Tokens(r.Context(), p.Actor, uid)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	now := s.app.Clock().Now()
	d := tokensData{User: who}
	for _, t := range ts {
		row := tokenRow{ID: t.ID, Name: t.Name, Scopes: strings.Join(t.Scopes, ", "), Created: localTime(t.CreatedAt), Expires: localTime(t.ExpiresAt),
			Live: t.RevokedAt == nil && now.Before(t.ExpiresAt), RevokeLink: "/account/tokens/" + strconv.FormatInt(t.ID, 10) + "/revoke"}
		if t.LastUsedAt != nil {
			row.LastUse = localTime(*t.LastUsedAt)
		}
		d.Tokens = append(d.Tokens, row)
	}
	p.Data = d
	s.render(w, p, http.StatusOK, "account_tokens")
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "tid")
	if !ok {
		s.notFound(w, p)
		return
	}
	if err := s.app.RevokeToken(r.Context(), p.Actor, id); err != nil {
		if custos.ErrorCodeOf(err) == custos.ENotFound {
			s.notFound(w, p)
			return
		}
		s.fail(w, r, p, err)
		return
	}
	next := "/account/tokens"
	if u := strings.TrimSpace(r.FormValue("user")); u != "" {
		next += "?user=" + url.QueryEscape(u)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

var accountMessages = map[string]struct{ zh, en string }{
	"account.password_title":   {"修改密码", "Change password"},
	"account.must_change":      {"您的密码由管理员设置，仅可使用一次。请先设置您自己的新密码，之后才能使用系统。", "Your password was set by an administrator and works only once. Choose your own new password before you can use the system."},
	"account.old_password":     {"当前密码", "Current password"},
	"account.new_password":     {"新密码", "New password"},
	"account.confirm":          {"再次输入新密码", "New password again"},
	"account.confirm_mismatch": {"两次输入的新密码不一致", "the two new passwords differ"},
	"account.submit":           {"修改密码", "Change password"},
	"account.password_changed": {"密码已修改。", "Password changed."},
	"account.tokens_title":     {"API 令牌", "API tokens"},
	"account.tokens_of":        {"用户的令牌：", "Tokens of user: "},
	"account.tokens_intro":     {"令牌的密钥只在创建时显示一次。不再使用或可能泄露的令牌请立即撤销；撤销立即生效并记入审计日志。", "A token's secret is shown once, when it is created. Revoke a token that is no longer used or may have leaked; revocation takes effect at once and is audited."},
	"account.no_tokens":        {"没有令牌。", "No tokens."},
	"account.token_name":       {"名称", "Name"},
	"account.token_scopes":     {"权限范围", "Scopes"},
	"account.token_created":    {"创建时间", "Created"},
	"account.token_expires":    {"过期时间", "Expires"},
	"account.token_last_used":  {"最近使用", "Last used"},
	"account.token_state":      {"状态", "State"},
	"account.token_live":       {"有效", "Live"},
	"account.token_dead":       {"已撤销或过期", "Revoked or expired"},
	"account.revoke":           {"撤销", "Revoke"},
	"nav.account_password":     {"修改密码", "Change password"},
	"nav.account_tokens":       {"API 令牌", "API tokens"},
}

func init() {
	for k, v := range accountMessages {
		if _, dup := messages[k]; dup {
			panic("web: catalogue key defined twice: " + k)
		}
		messages[k] = v
	}
}
