// Package portal is the customer self-service portal (R-B5, R-E3), mounted
// at /portal/: server-rendered html/template pages, Chinese by default and
// English on request, no JavaScript. A customer signs in with their ID
// number and a password or a one-time code, sees their profile (masked),
// lists and searches their own transactions, downloads statements as PDF,
// CSV or XLSX and files correction requests. Handlers read the form, call
// one service of internal/app with the customer actor and render the
// answer; what a customer may see is decided by the services (custos.Decide).
// Cookies are HttpOnly, SameSite=Strict and scoped to /portal/; state-changing
// requests are POSTs behind cross-origin protection; every page is no-store.
package portal

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/portal.css
var css []byte

// Prefix is where the portal is mounted.
const Prefix = "/portal/"

// Cookie names.
const (
	SessionCookie = "custos_portal"
	LangCookie    = "lang"
)

// Options configure the portal.
type Options struct {
	Secure bool         // served over TLS: cookies carry the Secure flag
	Log    *slog.Logger // errors only; never personal data
}

type server struct {
	app   *app.App
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
}

// New returns the portal handler for paths under Prefix.
func New(a *app.App, opts Options) http.Handler {
	s := &server{app: a, opts: opts, log: opts.Log}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.pages = parsePages()
	return s.routes()
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /portal/static/portal.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(css)
	})
	mux.HandleFunc("GET /portal/login", s.loginPage)
	mux.HandleFunc("POST /portal/login", s.login)
	mux.HandleFunc("POST /portal/login/code", s.sendCode)
	mux.HandleFunc("POST /portal/login/otp", s.loginOTP)
	mux.HandleFunc("POST /portal/lang", s.setLang)
	mux.Handle("POST /portal/logout", s.authed(s.logout))
	mux.Handle("GET /portal/{$}", s.authed(func(w http.ResponseWriter, r *http.Request, p *page) {
		http.Redirect(w, r, "/portal/transactions", http.StatusSeeOther)
	}))
	mux.Handle("GET /portal/profile", s.authed(s.profile))
	mux.Handle("GET /portal/transactions", s.authed(s.transactions))
	mux.Handle("GET /portal/transactions/{id}", s.authed(s.transaction))
	mux.Handle("GET /portal/statement", s.authed(s.statementPage))
	mux.Handle("GET /portal/statement/download", s.authed(s.statement))
	mux.Handle("GET /portal/corrections", s.authed(s.corrections))
	mux.Handle("POST /portal/corrections", s.authed(s.fileCorrection))
	mux.Handle("POST /portal/corrections/{id}/cancel", s.authed(s.cancelCorrection))
	mux.Handle("GET /portal/password", s.authed(s.passwordPage))
	mux.Handle("POST /portal/password", s.authed(s.changePassword))
	mux.HandleFunc("/portal/", s.notFoundPage)
	cop := http.NewCrossOriginProtection()
	h := cop.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/portal/static/portal.css" {
			w.Header().Set("Cache-Control", "no-store")
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		h.ServeHTTP(w, r)
	})
}

// page is what every template sees.
type page struct {
	Lang   string
	Title  string
	Sess   *app.PortalSession
	Actor  custos.Actor
	Here   string
	Notice string
	Error  string
	Errors []fieldMessage
	Data   any
}

type fieldMessage struct{ Field, Message string }

func (p *page) T(key string) string       { return translate(p.Lang, key) }
func (p *page) M(m custos.Message) string { return m.In(p.Lang) }

// Other is the language the switch offers.
func (p *page) Other() string {
	if p.Lang == "en" {
		return "zh"
	}
	return "en"
}

// HTMLLang is the lang attribute of the page.
func (p *page) HTMLLang() string {
	if p.Lang == "en" {
		return "en"
	}
	return "zh-CN"
}

func normLang(s string) string {
	if strings.HasPrefix(strings.ToLower(s), "en") {
		return "en"
	}
	return "zh"
}

func (s *server) newPage(r *http.Request, sess *app.PortalSession) *page {
	p := &page{Lang: "zh", Sess: sess}
	if c, err := r.Cookie(LangCookie); err == nil {
		p.Lang = normLang(c.Value)
	}
	if sess != nil {
		if sess.Lang != "" {
			p.Lang = normLang(sess.Lang)
		}
		p.Actor = s.app.PortalActor(sess, httpx.ClientAddr(r.Context()), httpx.RequestID(r.Context()))
	}
	p.Here = "/portal/transactions"
	if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/portal/statement/download") {
		p.Here = r.URL.RequestURI()
	}
	return p
}

// authed runs h for a signed-in customer; anyone else goes to the login page.
func (s *server) authed(h func(http.ResponseWriter, *http.Request, *page)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *app.PortalSession
		if c, err := r.Cookie(SessionCookie); err == nil {
			sess, err = s.app.PortalSessionFor(r.Context(), c.Value)
			if err != nil {
				if custos.ErrorCodeOf(err) != custos.EUnauthenticated {
					s.fail(w, r, s.newPage(r, nil), err)
					return
				}
				s.clearSession(w)
			}
		}
		if sess == nil {
			http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
			return
		}
		h(w, r, s.newPage(r, sess))
	})
}

func (s *server) setCookie(w http.ResponseWriter, c *http.Cookie) {
	if c.Path == "" {
		c.Path = Prefix
	}
	c.HttpOnly = true
	c.Secure = s.opts.Secure
	c.SameSite = http.SameSiteStrictMode
	http.SetCookie(w, c)
}

func (s *server) clearSession(w http.ResponseWriter) {
	s.setCookie(w, &http.Cookie{Name: SessionCookie, Value: "", MaxAge: -1})
}

// safeNext accepts only portal paths as a place to return to (see
// httpx.LocalRedirect).
func safeNext(s string) string { return httpx.LocalRedirect(s, "/portal/transactions", Prefix) }

// render executes a page into a buffer, so a template error becomes an
// error page instead of half a page.
func (s *server) render(w http.ResponseWriter, p *page, status int, name string) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("portal: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Message custos.Message
}

// fail answers an application error: the login page for an expired
// session, the 404 page for a missing or someone else's record, else the
// error page.
func (s *server) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	code := custos.ErrorCodeOf(err)
	switch code {
	case custos.EUnauthenticated:
		s.clearSession(w)
		http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
		return
	case custos.ENotFound:
		s.notFound(w, p)
		return
	}
	if code == custos.EInternal || code == custos.EAuditUnavailable {
		s.log.Error("portal: request failed", "id", httpx.RequestID(r.Context()), "path", r.URL.Path, "code", string(code), "err", err)
	}
	p.Title = "error.title"
	p.Data = errorData{Status: httpx.Status(code), Message: custos.ErrorMessageOf(err)}
	s.render(w, p, httpx.Status(code), "error")
}

func (s *server) notFound(w http.ResponseWriter, p *page) {
	p.Title = "notfound.title"
	p.Data = errorData{Status: http.StatusNotFound, Message: custos.ErrNotFound.Message}
	s.render(w, p, http.StatusNotFound, "error")
}

func (s *server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	var sess *app.PortalSession
	if c, err := r.Cookie(SessionCookie); err == nil {
		sess, _ = s.app.PortalSessionFor(r.Context(), c.Value)
	}
	s.notFound(w, s.newPage(r, sess))
}

// showError puts an input error above a form, with its field messages.
func (p *page) showError(err error) bool {
	var e *custos.Error
	if !errors.As(err, &e) || e.Code != custos.EInvalid && e.Code != custos.EConflict && e.Code != custos.ELocked && e.Code != custos.ERateLimited {
		return false
	}
	p.Error = p.M(e.Message)
	for _, f := range e.Fields {
		label := translate(p.Lang, "field."+f.Field)
		if label == "field."+f.Field {
			label = f.Field
		}
		p.Errors = append(p.Errors, fieldMessage{Field: label, Message: p.M(f.Message)})
	}
	return true
}

// --- login ---

type loginData struct {
	IDNumber string
	Codes    bool // one-time codes are offered
	CodeSent bool
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, nil)
	if c, err := r.Cookie(SessionCookie); err == nil {
		if _, err := s.app.PortalSessionFor(r.Context(), c.Value); err == nil {
			http.Redirect(w, r, "/portal/transactions", http.StatusSeeOther)
			return
		}
	}
	p.Title = "login.title"
	p.Data = loginData{Codes: s.app.PortalCodesAvailable()}
	s.render(w, p, http.StatusOK, "login")
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	s.doLogin(w, r, app.PortalCredentials{IDNumber: r.PostFormValue("id_number"), Password: r.PostFormValue("password")})
}

func (s *server) loginOTP(w http.ResponseWriter, r *http.Request) {
	code := strings.TrimSpace(r.PostFormValue("code"))
	if code == "" {
		code = "-" // never a password login through the code form
	}
	s.doLogin(w, r, app.PortalCredentials{IDNumber: r.PostFormValue("id_number"), Code: code})
}

func (s *server) doLogin(w http.ResponseWriter, r *http.Request, c app.PortalCredentials) {
	p := s.newPage(r, nil)
	c.ClientAddr, c.Lang = httpx.ClientAddr(r.Context()), p.Lang
	sess, err := s.app.PortalLogin(r.Context(), c)
	if err != nil {
		code := custos.ErrorCodeOf(err)
		if code != custos.EUnauthenticated && code != custos.ELocked && code != custos.ERateLimited {
			s.fail(w, r, p, err)
			return
		}
		p.Title = "login.title"
		p.Error = p.M(custos.ErrorMessageOf(err))
		id := ""
		if c.Code != "" {
			id = strings.TrimSpace(c.IDNumber) // back into the code form the customer is using
		}
		p.Data = loginData{IDNumber: id, Codes: s.app.PortalCodesAvailable(), CodeSent: c.Code != ""}
		s.render(w, p, httpx.Status(code), "login")
		return
	}
	// Max-Age, not Expires: the client counts the lifetime from its own
	// clock, which need not be the service's.
	s.setCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, MaxAge: int(sess.Lifetime / time.Second)})
	http.Redirect(w, r, "/portal/transactions", http.StatusSeeOther)
}

func (s *server) sendCode(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, nil)
	p.Title = "login.title"
	id := strings.TrimSpace(r.PostFormValue("id_number"))
	err := s.app.RequestPortalCode(r.Context(), id, httpx.ClientAddr(r.Context()))
	if err != nil && !p.showError(err) {
		s.fail(w, r, p, err)
		return
	}
	if err == nil {
		p.Notice = p.T("login.code_sent")
	}
	// The ID number is echoed only into the code form the customer is filling in.
	p.Data = loginData{IDNumber: id, Codes: s.app.PortalCodesAvailable(), CodeSent: err == nil}
	s.render(w, p, http.StatusOK, "login")
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, p *page) {
	if err := s.app.PortalLogout(r.Context(), p.Sess, p.Actor); err != nil {
		s.log.Error("portal: logout", "err", err)
	}
	s.clearSession(w)
	http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
}

func (s *server) setLang(w http.ResponseWriter, r *http.Request) {
	lang := normLang(r.PostFormValue("lang"))
	s.setCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600})
	if c, err := r.Cookie(SessionCookie); err == nil {
		if sess, err := s.app.PortalSessionFor(r.Context(), c.Value); err == nil {
			s.app.SetPortalLang(r.Context(), sess, lang)
		}
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// --- profile ---

func (s *server) profile(w http.ResponseWriter, r *http.Request, p *page) {
	c, err := s.app.PortalProfile(r.Context(), p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Title = "nav.profile"
	p.Data = c
	s.render(w, p, http.StatusOK, "profile")
}

// --- transactions ---

type txnForm struct {
	From, To, Min, Max, Direction, Type, Currency, Sort string
}

type txnData struct {
	Form   txnForm
	Page   *custos.TxnPage
	Next   string // URL of the next page
	Search bool
}

// parseDay reads a YYYY-MM-DD date as the start of that day in China
// Standard Time, the zone of the records.
func parseDay(s string) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), custos.TxnZone)
	return t.UTC(), err == nil
}

// filter turns the search form into a filter; "to" is inclusive on screen.
func (f txnForm) filter(v *custos.Validation) custos.TxnFilter {
	var out custos.TxnFilter
	if f.From != "" {
		if t, ok := parseDay(f.From); ok {
			out.From = t
		} else {
			v.Addf("from", custos.CodeInvalidDate)
		}
	}
	if f.To != "" {
		if t, ok := parseDay(f.To); ok {
			out.To = t.Add(24 * time.Hour)
		} else {
			v.Addf("to", custos.CodeInvalidDate)
		}
	}
	for _, a := range []struct {
		field, s string
		dst      *custos.Amount
	}{{"min_amount", f.Min, &out.MinAmount}, {"max_amount", f.Max, &out.MaxAmount}} {
		if a.s == "" {
			continue
		}
		if x, err := custos.ParseAmount(a.s); err == nil {
			*a.dst = x
		} else {
			v.Addf(a.field, custos.CodeInvalidFormat)
		}
	}
	out.Direction, out.Type, out.Currency, out.Sort = custos.Direction(f.Direction), f.Type, f.Currency, f.Sort
	return out
}

func (s *server) transactions(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	form := txnForm{From: q.Get("from"), To: q.Get("to"), Min: q.Get("min"), Max: q.Get("max"), Direction: q.Get("direction"),
		Type: q.Get("type"), Currency: q.Get("currency"), Sort: q.Get("sort")}
	p.Title = "nav.transactions"
	d := &txnData{Form: form, Search: len(q) > 0}
	p.Data = d
	var v custos.Validation
	f := form.filter(&v)
	f.Cursor = q.Get("cursor")
	f.Limit = 50
	if err := v.Err(); err != nil {
		p.showError(err)
		s.render(w, p, http.StatusUnprocessableEntity, "transactions")
		return
	}
	page, err := s.app.PortalTransactions(r.Context(), p.Actor, f)
	if err != nil {
		if p.showError(err) {
			s.render(w, p, http.StatusUnprocessableEntity, "transactions")
			return
		}
		s.fail(w, r, p, err)
		return
	}
	d.Page = page
	if page.NextCursor != "" {
		nq := url.Values{}
		for k, vs := range q {
			if k != "cursor" {
				nq[k] = vs
			}
		}
		nq.Set("cursor", page.NextCursor)
		d.Next = "/portal/transactions?" + nq.Encode()
	}
	s.render(w, p, http.StatusOK, "transactions")
}

func (s *server) transaction(w http.ResponseWriter, r *http.Request, p *page) {
	t, err := s.app.PortalTransaction(r.Context(), p.Actor, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Title = "txn.detail"
	p.Data = t
	s.render(w, p, http.StatusOK, "transaction")
}

// --- statements ---

type statementForm struct{ From, To string }

func (s *server) statementPage(w http.ResponseWriter, r *http.Request, p *page) {
	now := s.app.Clock().Now().In(custos.TxnZone)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, custos.TxnZone)
	p.Title = "nav.statement"
	p.Data = statementForm{From: first.AddDate(0, -3, 0).Format("2006-01-02"), To: now.Format("2006-01-02")}
	s.render(w, p, http.StatusOK, "statement")
}

func (s *server) statement(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	form := statementForm{From: q.Get("from"), To: q.Get("to")}
	var v custos.Validation
	from, ok := parseDay(form.From)
	if !ok {
		v.Addf("from", custos.CodeInvalidDate)
	}
	to, ok := parseDay(form.To)
	if !ok {
		v.Addf("to", custos.CodeInvalidDate)
	}
	err := v.Err()
	var st *app.Statement
	if err == nil {
		st, err = s.app.PortalStatement(r.Context(), p.Actor, from, to.Add(24*time.Hour), q.Get("format"))
	}
	if err != nil {
		p.Title = "nav.statement"
		p.Data = form
		if p.showError(err) {
			s.render(w, p, httpx.Status(custos.ErrorCodeOf(err)), "statement")
			return
		}
		s.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", st.ContentType)
	w.Header().Set("Content-Disposition", "attachment; filename=\""+path.Base(st.Filename)+"\"")
	w.Write(st.Body)
}

// --- corrections ---

type correctionData struct {
	Profile  *custos.Customer
	Requests []*custos.Request
	Form     app.CorrectionInput
}

func (s *server) corrections(w http.ResponseWriter, r *http.Request, p *page) {
	if id := r.URL.Query().Get("filed"); id != "" {
		p.Notice = p.T("corr.filed") + " #" + id
	}
	if id := r.URL.Query().Get("cancelled"); id != "" {
		p.Notice = p.T("corr.cancelled") + " #" + id
	}
	s.renderCorrections(w, r, p, app.CorrectionInput{}, http.StatusOK)
}

func (s *server) renderCorrections(w http.ResponseWriter, r *http.Request, p *page, form app.CorrectionInput, status int) {
	c, err := s.app.PortalProfile(r.Context(), p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	reqs, err := s.app.PortalRequests(r.Context(), p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	p.Title = "nav.corrections"
	p.Data = correctionData{Profile: c, Requests: reqs, Form: form}
	s.render(w, p, status, "corrections")
}

func (s *server) fileCorrection(w http.ResponseWriter, r *http.Request, p *page) {
	in := app.CorrectionInput{Phone: r.PostFormValue("phone"), Email: r.PostFormValue("email"), Address: r.PostFormValue("address"),
		Occupation: r.PostFormValue("occupation"), Employer: r.PostFormValue("employer"), Note: r.PostFormValue("note")}
	req, err := s.app.PortalRequestCorrection(r.Context(), p.Actor, in)
	if err != nil {
		if p.showError(err) {
			s.renderCorrections(w, r, p, in, httpx.Status(custos.ErrorCodeOf(err)))
			return
		}
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/portal/corrections?filed="+itoa(req.ID), http.StatusSeeOther)
}

// cancelCorrection withdraws one of the customer's own pending corrections;
// only the customer may (staff end it by deciding it).
func (s *server) cancelCorrection(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, p, custos.ErrNotFound)
		return
	}
	if err := s.app.PortalCancelCorrection(r.Context(), p.Actor, id); err != nil {
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/portal/corrections?cancelled="+itoa(id), http.StatusSeeOther)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// --- password ---

func (s *server) passwordPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Title = "nav.password"
	if r.URL.Query().Get("changed") == "1" {
		p.Notice = p.T("pw.changed")
	}
	s.render(w, p, http.StatusOK, "password")
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request, p *page) {
	next := r.PostFormValue("password")
	if next != r.PostFormValue("confirm") {
		p.Title, p.Error = "nav.password", p.T("pw.mismatch")
		s.render(w, p, http.StatusUnprocessableEntity, "password")
		return
	}
	if err := s.app.PortalChangePassword(r.Context(), p.Actor, r.PostFormValue("current"), next); err != nil {
		p.Title = "nav.password"
		if p.showError(err) {
			s.render(w, p, httpx.Status(custos.ErrorCodeOf(err)), "password")
			return
		}
		s.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/portal/password?changed=1", http.StatusSeeOther)
}

// --- templates ---

func funcs() template.FuncMap {
	return template.FuncMap{
		"day":   func(t time.Time) string { return t.In(custos.TxnZone).Format("2006-01-02") },
		"stamp": func(t time.Time) string { return t.In(custos.TxnZone).Format("2006-01-02 15:04") },
	}
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs()).ParseFS(templateFS, "templates/_*.html"))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		t := template.Must(base.Clone())
		out[name] = template.Must(t.ParseFS(templateFS, f))
	}
	return out
}
