// Package web is the server-rendered user interface of Custos: html/template
// pages with embedded templates and static files, Chinese by default and
// English on request, no JavaScript required. Handlers read the form, call
// one service of internal/app and render the answer; permission rules, SQL
// and masking stay in the services. Every page is marked no-store so that
// nothing of a customer stays behind on a shared computer (R-C9).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	SessionCookie = "custos_session"
	LangCookie    = "lang"
)

// Options configure the UI.
type Options struct {
	Secure bool         // served over TLS: cookies carry the Secure flag
	Log    *slog.Logger // errors only; never personal data
}

// server holds the UI's dependencies.
type server struct {
	app    *app.App
	opts   Options
	log    *slog.Logger
	pages  map[string]*template.Template
	static map[string]string // file name → content hash, for cache-busting URLs
}

// New returns the UI handler. It serves every path except /api/ and
// /healthz, which the caller routes to the JSON API.
func New(a *app.App, opts Options) http.Handler {
	s := &server{app: a, opts: opts, log: opts.Log, static: map[string]string{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.hashStatic()
	s.pages = parsePages(s.funcs())
	return s.routes()
}

// routes lists every page of the UI.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/", s.serveStatic)

	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /lang", s.setLang)
	mux.Handle("POST /logout", s.authed(s.logout))
	mux.Handle("GET /mfa/setup", s.authed(s.mfaPage))
	mux.Handle("POST /mfa/setup", s.authed(s.mfaConfirm))
	mux.Handle("GET /purpose", s.authed(s.purposePage))
	mux.Handle("POST /purpose", s.authed(s.setPurpose))

	mux.Handle("GET /{$}", s.authed(func(w http.ResponseWriter, r *http.Request, p *page) {
		http.Redirect(w, r, "/customers", http.StatusSeeOther)
	}))
	mux.Handle("GET /customers", s.customers(s.list))
	mux.Handle("POST /customers/search", s.customers(s.list))
	mux.Handle("GET /catalogue", s.customers(s.catalogue))
	mux.Handle("GET /customers/new", s.customers(s.newForm))
	mux.Handle("POST /customers", s.customers(s.create))
	mux.Handle("GET /customers/{id}", s.customers(s.detail))
	mux.Handle("POST /customers/{id}/reveal", s.customers(s.reveal))
	mux.Handle("GET /customers/{id}/edit", s.customers(s.editForm))
	mux.Handle("POST /customers/{id}/edit", s.customers(s.update))
	mux.Handle("POST /customers/{id}/timeline", s.customers(s.addTimeline))
	mux.Handle("POST /customers/{id}/attachments", s.customers(s.addAttachment))
	mux.Handle("GET /customers/{id}/attachments/{aid}", s.customers(s.download))
	mux.Handle("GET /customers/{id}/diff", s.customers(s.diffPage))
	mux.Handle("GET /customers/{id}/register", s.customers(s.registerPage))
	mux.Handle("GET /customers/{id}/register.csv", s.customers(s.registerCSV))
	mux.Handle("POST /customers/{id}/verifications", s.customers(s.addVerification))
	mux.Handle("POST /customers/{id}/business", s.customers(s.addBusiness))
	mux.Handle("GET /customers/{id}/transactions", s.customers(s.transactionsPage))
	mux.Handle("POST /customers/{id}/transactions", s.customers(s.transactionsPage))

	// Approval requests (R-A10, R-B1, R-C1–R-C3, R-H1).
	mux.Handle("GET /inbox", s.authed(s.inboxPage))
	mux.Handle("GET /requests", s.authed(s.requestsPage))
	mux.Handle("GET /requests/{rid}", s.authed(s.requestPage))
	mux.Handle("POST /requests/{rid}/decide", s.authed(s.decideRequest))
	mux.Handle("POST /requests/{rid}/cancel", s.authed(s.cancelRequest))
	mux.Handle("GET /access-requests/new", s.authed(s.accessForm))
	mux.Handle("POST /access-requests/new", s.authed(s.accessCreate))

	// Paper archives (R-H1, R-H2).
	mux.Handle("GET /paper", s.authed(s.paperPage))
	mux.Handle("POST /paper/locations", s.authed(s.createLocation))
	mux.Handle("POST /paper/files", s.authed(s.registerPaper))
	mux.Handle("GET /paper/files/{fid}", s.authed(s.paperFilePage))
	mux.Handle("POST /paper/files/{fid}/lend", s.authed(s.lendPaper))
	mux.Handle("POST /paper/files/{fid}/return", s.authed(s.returnPaper))
	mux.Handle("POST /paper/files/{fid}/transfer", s.authed(s.transferPaper))

	// Staff handovers (R-G1).
	mux.Handle("GET /handovers", s.authed(s.handoversPage))
	mux.Handle("GET /handovers/new", s.authed(s.handoverForm))
	mux.Handle("POST /handovers/new", s.authed(s.startHandover))
	mux.Handle("GET /handovers/{hid}", s.authed(s.handoverPage))
	mux.Handle("POST /handovers/{hid}/assign", s.authed(s.assignHandover))
	mux.Handle("POST /handovers/{hid}/sign", s.authed(s.signHandover))
	mux.Handle("GET /handovers/{hid}/certificate.pdf", s.authed(s.handoverCertificate("pdf")))
	mux.Handle("GET /handovers/{hid}/certificate.json", s.authed(s.handoverCertificate("json")))

	mux.Handle("GET /audit", s.authed(s.auditPage))
	mux.Handle("GET /audit/export.csv", s.authed(s.auditExport))
	s.exportRoutes(mux)    // encrypted exports and agreements (R-C7, R-C8)
	s.retentionRoutes(mux) // retention, legal holds and destruction (R-F1–R-F4)
	s.accountRoutes(mux)   // own password and API tokens (R-C4)

	mux.HandleFunc("/", s.notFoundPage)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The caller's middleware says the same; the UI does not rely on it.
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			w.Header().Set("Cache-Control", "no-store")
		}
		mux.ServeHTTP(w, r)
	})
}

// page is what every template sees: the language, the signed-in user and
// the page's own data.
type page struct {
	Lang         string
	Title        string // catalogue key or literal text
	Sess         *app.Session
	Actor        custos.Actor
	Here         string // where the language switch and the purpose form return to
	Notice       string // a translated message above the content
	Error        string // a translated error above the content
	Errors       []fieldMessage
	Data         any
	srv          *server
	r            *http.Request
	purpose      string // the purpose's label in the page's language
	inbox        *inboxState
	purposeNames map[string]string
}

// inboxState is what the header knows about the user's approval inbox.
type inboxState struct {
	approver bool // the user's role decides some kind of request
	count    int
	reqs     []*custos.Request
}

// fieldMessage is a field error that no input on the page shows inline.
type fieldMessage struct{ Field, Message string }

// T translates a catalogue key into the page's language.
func (p *page) T(key string) string { return translate(p.Lang, key) }

// M picks the page's language from a bilingual message.
func (p *page) M(m custos.Message) string { return m.In(p.Lang) }

// L picks the page's language from a pair of names.
func (p *page) L(zh, en string) string {
	if p.Lang == "en" && en != "" {
		return en
	}
	if zh == "" {
		return en
	}
	return zh
}

// PurposeLabel is the current purpose of use, in the page's language.
func (p *page) PurposeLabel() string { return p.purpose }

// OrgName is the signed-in user's unit.
func (p *page) OrgName() string {
	if p.Sess == nil || p.Sess.Org == nil {
		return ""
	}
	return p.L(p.Sess.Org.Name, p.Sess.Org.NameEN)
}

// RoleLabel is the signed-in user's role.
func (p *page) RoleLabel() string {
	if p.Sess == nil {
		return ""
	}
	return p.M(p.Sess.User.Role.Label())
}

// Can reports whether the signed-in user's role can take an action at all,
// which decides the navigation and the forms shown. The services decide
// each request again.
func (p *page) Can(act string) bool {
	if p.Sess == nil {
		return false
	}
	a := custos.Action(act)
	for _, x := range custos.SystemActions {
		if x == a {
			return custos.Allowed(p.Actor, a).Allowed
		}
	}
	// Best case for a customer action: the user's own customer in the
	// user's own unit. Grants can add more; the service has the last word.
	return custos.Decide(p.Actor, a, custos.CustomerACL{OrgPath: p.Actor.OrgPath, OwnerID: p.Actor.UserID, Sensitivity: custos.Normal}).Allowed
}

// inboxInfo asks the services once per page whether the user approves
// anything and how many requests wait for them.
func (p *page) inboxInfo() *inboxState {
	if p.inbox != nil {
		return p.inbox
	}
	p.inbox = &inboxState{}
	if p.Sess == nil || !p.Sess.MFAPassed || p.r == nil {
		return p.inbox
	}
	ctx := p.r.Context()
	if rules, err := p.srv.app.ApprovalRules(ctx); err == nil {
		for _, r := range rules {
			p.inbox.approver = p.inbox.approver || slices.Contains(r.Roles, p.Actor.Role)
		}
	}
	if reqs, err := p.srv.app.Inbox(ctx, p.Actor); err == nil {
		p.inbox.count, p.inbox.reqs = len(reqs), reqs
	} else {
		p.srv.log.Error("web: inbox count", "err", err)
	}
	return p.inbox
}

// purposeName is a purpose of use by its label in the page's language.
func (p *page) purposeName(code string) string {
	if p.purposeNames == nil {
		p.purposeNames = map[string]string{}
		if p.srv != nil && p.r != nil {
			if ps, err := p.srv.app.Purposes(p.r.Context()); err == nil {
				for _, x := range ps {
					p.purposeNames[x.Code] = p.L(x.NameZH, x.NameEN)
				}
			}
		}
	}
	if l, ok := p.purposeNames[code]; ok {
		return l
	}
	return code
}

// InboxCount is the number of requests waiting for the user's decision,
// shown as a badge in the header.
func (p *page) InboxCount() int { return p.inboxInfo().count }

// Approver reports whether the header offers the inbox.
func (p *page) Approver() bool { i := p.inboxInfo(); return i.approver || i.count > 0 }

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

// newPage starts the page of a request: the language comes from the
// session, else from the lang cookie, else Chinese.
func (s *server) newPage(r *http.Request, sess *app.Session) *page {
	p := &page{Lang: "zh", Sess: sess, srv: s, r: r}
	if c, err := r.Cookie(LangCookie); err == nil {
		p.Lang = normLang(c.Value)
	}
	if sess != nil {
		if sess.Lang != "" {
			p.Lang = normLang(sess.Lang)
		}
		p.Actor = app.ActorFor(sess.User, sess.Org, "web", httpx.ClientAddr(r.Context()), httpx.RequestID(r.Context()), sess.Purpose)
	}
	if r.Method == http.MethodGet {
		p.Here = r.URL.RequestURI()
	} else {
		p.Here = "/customers"
	}
	return p
}

func normLang(s string) string {
	if strings.HasPrefix(strings.ToLower(s), "en") {
		return "en"
	}
	return "zh"
}

// authed runs h for a signed-in user whose session passed the second factor;
// anyone else goes to the login page (or to the second-factor enrolment).
func (s *server) authed(h func(http.ResponseWriter, *http.Request, *page)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *app.Session
		c, err := r.Cookie(SessionCookie)
		if err == nil {
			sess, err = s.app.SessionFor(r.Context(), c.Value)
			if err != nil {
				if custos.ErrorCodeOf(err) != custos.EUnauthenticated {
					s.fail(w, r, s.newPage(r, nil), err)
					return
				}
				s.clearSession(w)
			}
		}
		if sess == nil {
			next := "/customers"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		p := s.newPage(r, sess)
		if !sess.MFAPassed && r.URL.Path != "/mfa/setup" && r.URL.Path != "/logout" {
			http.Redirect(w, r, "/mfa/setup", http.StatusSeeOther)
			return
		}
		// A one-time password reaches nothing but its own change (R-C4).
		if sess.MFAPassed && sess.User.MustChangePassword && !mustChangeAllowed(r.URL.Path) {
			http.Redirect(w, r, "/account/password", http.StatusSeeOther)
			return
		}
		if sess.Purpose != "" {
			p.purpose = sess.Purpose
			if ps, err := s.app.Purposes(r.Context()); err == nil {
				for _, x := range ps {
					if x.Code == sess.Purpose {
						p.purpose = p.L(x.NameZH, x.NameEN)
					}
				}
			}
		}
		h(w, r, p)
	})
}

// customers is authed for pages that read customer data: they need a
// stated purpose of use first (R-C6).
func (s *server) customers(h func(http.ResponseWriter, *http.Request, *page)) http.Handler {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *page) {
		if p.Sess.Purpose == "" {
			s.askPurpose(w, r)
			return
		}
		h(w, r, p)
	})
}

// askPurpose sends the user to the purpose form, which returns to the page.
func (s *server) askPurpose(w http.ResponseWriter, r *http.Request) {
	next := "/customers"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	} else if id := r.PathValue("id"); id != "" {
		next = "/customers/" + url.PathEscape(id)
	}
	http.Redirect(w, r, "/purpose?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// safeNext accepts only paths of this site as a place to return to
// (see httpx.LocalRedirect).
func safeNext(s string) string { return httpx.LocalRedirect(s, "/customers", "/") }

func (s *server) setCookie(w http.ResponseWriter, c *http.Cookie) {
	c.Path = "/"
	c.HttpOnly = true
	c.Secure = s.opts.Secure
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteStrictMode
	}
	http.SetCookie(w, c)
}

func (s *server) clearSession(w http.ResponseWriter) {
	s.setCookie(w, &http.Cookie{Name: SessionCookie, Value: "", MaxAge: -1})
}

// render executes a page template into a buffer, so that a template error
// becomes an error page instead of half a page.
func (s *server) render(w http.ResponseWriter, p *page, status int, name string) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("web: unknown template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("web: render", "template", name, "err", err)
		if name != "error" {
			p.Title, p.Error, p.Data = "error.title", translate(p.Lang, "error.internal"), errorData{Status: 500}
			s.render(w, p, http.StatusInternalServerError, "error")
			return
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorData is the content of the 404 and error pages.
type errorData struct {
	Status  int
	Message custos.Message
}

// fail answers with the page an application error deserves: the login page
// for an expired session, the purpose form for a missing purpose, the 404
// page for a missing or hidden record, else the error page.
func (s *server) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	code := custos.ErrorCodeOf(err)
	switch code {
	case custos.EUnauthenticated:
		s.clearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	case custos.EPurposeRequired:
		s.askPurpose(w, r)
		return
	case custos.ENotFound:
		s.notFound(w, p)
		return
	}
	msg := custos.ErrorMessageOf(err)
	if code == custos.EInternal || code == custos.EAuditUnavailable {
		s.log.Error("web: request failed", "id", httpx.RequestID(r.Context()), "path", r.URL.Path, "code", string(code), "err", err)
	}
	p.Title = "error.title"
	p.Data = errorData{Status: httpx.Status(code), Message: msg}
	s.render(w, p, httpx.Status(code), "error")
}

func (s *server) notFound(w http.ResponseWriter, p *page) {
	p.Title = "notfound.title"
	p.Data = errorData{Status: http.StatusNotFound, Message: custos.ErrNotFound.Message}
	s.render(w, p, http.StatusNotFound, "notfound")
}

// notFoundPage answers unknown paths, with the header for a signed-in user.
func (s *server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	var sess *app.Session
	if c, err := r.Cookie(SessionCookie); err == nil {
		if x, err := s.app.SessionFor(r.Context(), c.Value); err == nil && x.MFAPassed {
			sess = x
		}
	}
	s.notFound(w, s.newPage(r, sess))
}

// hashStatic computes the content hashes that version the static URLs, so
// that they can be cached for long.
func (s *server) hashStatic() {
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		s.static[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(h[:6])
		return nil
	})
}

func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	if _, ok := s.static[name]; !ok {
		s.notFoundPage(w, r)
		return
	}
	b, _ := staticFS.ReadFile("static/" + name)
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(b)
}

// staticURL is the versioned URL of a static file.
func (s *server) staticURL(name string) string {
	return "/static/" + name + "?v=" + s.static[name]
}

func (s *server) funcs() template.FuncMap {
	return template.FuncMap{
		"static": s.staticURL,
		"add":    func(a, b int) int { return a + b },
	}
}

// parsePages builds one template per page: the layout, the shared partials
// and the page's own file.
func parsePages(funcs template.FuncMap) map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/_*.html"))
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

// asError finds the application error in err's chain.
func asError(err error) (*custos.Error, bool) {
	var e *custos.Error
	ok := errors.As(err, &e)
	return e, ok
}
