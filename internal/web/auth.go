package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

type loginData struct {
	Username string
	Next     string
	ShowTOTP bool
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if c, err := r.Cookie(SessionCookie); err == nil {
		if sess, err := s.app.SessionFor(r.Context(), c.Value); err == nil && sess.MFAPassed {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	p := s.newPage(r, nil)
	p.Title = "login.title"
	p.Data = loginData{Next: next}
	s.render(w, p, http.StatusOK, "login")
}

// login checks the credentials (R-C4). The service rate-limits, locks and
// audits; this handler only shows its answer in the chosen language.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, nil)
	p.Title, p.Here = "login.title", "/login"
	r.ParseForm()
	d := loginData{Username: strings.TrimSpace(r.PostFormValue("username")), Next: safeNext(r.PostFormValue("next")), ShowTOTP: r.PostFormValue("totp") != ""}
	sess, err := s.app.Login(r.Context(), app.Credentials{
		Username: d.Username, Password: r.PostFormValue("password"), TOTP: strings.TrimSpace(r.PostFormValue("totp")),
		ClientAddr: httpx.ClientAddr(r.Context()), Lang: p.Lang, Via: "web",
	})
	if err != nil {
		code := custos.ErrorCodeOf(err)
		if code == custos.EInternal || code == custos.EAuditUnavailable {
			s.log.Error("web: login failed", "id", httpx.RequestID(r.Context()), "code", string(code), "err", err)
		}
		if code == custos.EMFARequired {
			d.ShowTOTP = true
		}
		p.Error = p.M(custos.ErrorMessageOf(err))
		p.Data = d
		s.render(w, p, httpx.Status(code), "login")
		return
	}
	// A session this browser held before ends now, rather than idling on.
	if c, err := r.Cookie(SessionCookie); err == nil {
		if old, err := s.app.SessionFor(r.Context(), c.Value); err == nil {
			actor := app.ActorFor(old.User, old.Org, "web", httpx.ClientAddr(r.Context()), httpx.RequestID(r.Context()), old.Purpose)
			if err := s.app.Logout(r.Context(), old, actor); err != nil {
				s.log.Error("web: end previous session", "id", httpx.RequestID(r.Context()), "err", err)
			}
		}
	}
	s.setCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token})
	if !sess.MFAPassed {
		http.Redirect(w, r, "/mfa/setup", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, p *page) {
	if err := s.app.Logout(r.Context(), p.Sess, p.Actor); err != nil {
		s.log.Error("web: logout", "id", httpx.RequestID(r.Context()), "err", err)
	}
	s.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang switches the language: kept in the session when signed in and in
// the lang cookie for the login page.
func (s *server) setLang(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	lang := normLang(r.PostFormValue("lang"))
	s.setCookie(w, &http.Cookie{Name: LangCookie, Value: lang, MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
	if c, err := r.Cookie(SessionCookie); err == nil {
		if sess, err := s.app.SessionFor(r.Context(), c.Value); err == nil {
			if err := s.app.SetSessionPrefs(r.Context(), sess, sess.Purpose, lang); err != nil {
				s.log.Error("web: save language", "id", httpx.RequestID(r.Context()), "err", err)
			}
		}
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

type mfaData struct {
	Secret, URL string
	CodeError   string
}

// mfaPage starts the enrolment of a second factor for a user whose role
// needs one; until it is confirmed the session may do nothing else.
func (s *server) mfaPage(w http.ResponseWriter, r *http.Request, p *page) {
	if p.Sess.MFAPassed {
		http.Redirect(w, r, "/customers", http.StatusSeeOther)
		return
	}
	secret, u, err := s.app.StartTOTP(r.Context(), p.Sess.User.ID, p.Sess.User.Username)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Title = "mfa.title"
	p.Data = mfaData{Secret: secret, URL: u}
	s.render(w, p, http.StatusOK, "mfa")
}

func (s *server) mfaConfirm(w http.ResponseWriter, r *http.Request, p *page) {
	if p.Sess.MFAPassed {
		http.Redirect(w, r, "/customers", http.StatusSeeOther)
		return
	}
	r.ParseForm()
	err := s.app.ConfirmTOTP(r.Context(), p.Actor, p.Sess, strings.TrimSpace(r.PostFormValue("code")))
	if err != nil {
		if custos.ErrorCodeOf(err) != custos.EInvalid {
			s.fail(w, r, p, err)
			return
		}
		p.Title, p.Here = "mfa.title", "/mfa/setup"
		p.Data = mfaData{CodeError: p.M(custos.ErrorMessageOf(err))}
		s.render(w, p, http.StatusUnprocessableEntity, "mfa")
		return
	}
	http.Redirect(w, r, "/customers", http.StatusSeeOther)
}

type purposeData struct {
	Next    string
	Current string
	Options []option
}

// option is one choice of a select, already translated.
type option struct {
	Value, Label string
	Selected     bool
}

// purposePage asks for the purpose of use (R-C6) and returns to the page
// that needed it.
func (s *server) purposePage(w http.ResponseWriter, r *http.Request, p *page) {
	s.renderPurpose(w, r, p, safeNext(r.URL.Query().Get("next")), p.Sess.Purpose, http.StatusOK)
}

func (s *server) renderPurpose(w http.ResponseWriter, r *http.Request, p *page, next, current string, status int) {
	ps, err := s.app.Purposes(r.Context())
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	d := purposeData{Next: next, Current: current}
	for _, x := range ps {
		if x.Active {
			d.Options = append(d.Options, option{Value: x.Code, Label: p.L(x.NameZH, x.NameEN), Selected: x.Code == current})
		}
	}
	p.Title = "purpose.title"
	p.Here = "/purpose?next=" + url.QueryEscape(next)
	p.Data = d
	s.render(w, p, status, "purpose")
}

func (s *server) setPurpose(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	next := safeNext(r.PostFormValue("next"))
	purpose := strings.TrimSpace(r.PostFormValue("purpose"))
	if purpose == "" {
		p.Error = p.T("purpose.required")
		s.renderPurpose(w, r, p, next, "", http.StatusUnprocessableEntity)
		return
	}
	if err := s.app.SetSessionPrefs(r.Context(), p.Sess, purpose, p.Lang); err != nil {
		if custos.ErrorCodeOf(err) != custos.EInvalid {
			s.fail(w, r, p, err)
			return
		}
		p.Error = p.M(custos.ErrorMessageOf(err))
		s.renderPurpose(w, r, p, next, "", http.StatusUnprocessableEntity)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
