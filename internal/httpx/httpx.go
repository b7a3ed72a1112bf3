// Package httpx holds the HTTP plumbing shared by the JSON API and the web
// UI: request ids, client addresses, security headers (R-C9), CSRF
// protection, error responses with bilingual messages, and request logging
// that never contains personal data.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/custos-cim/custos"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyClientAddr
)

// RequestID returns the request's id.
func RequestID(ctx context.Context) string { s, _ := ctx.Value(keyRequestID).(string); return s }

// ClientAddr returns the client's address (without port).
func ClientAddr(ctx context.Context) string { s, _ := ctx.Value(keyClientAddr).(string); return s }

// Options configure the common middleware.
type Options struct {
	TLS            bool     // serving HTTPS: set HSTS and Secure cookies
	TrustedProxies []string // remote addresses whose X-Forwarded-For is believed
	Log            *slog.Logger
}

// Wrap applies request ids, client address, security headers, CSRF
// protection for browser requests and access logging.
func Wrap(h http.Handler, o Options) http.Handler {
	cop := http.NewCrossOriginProtection()
	h = cop.Handler(h)
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		addr := remoteAddr(r, o.TrustedProxies)
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyClientAddr, addr)
		hd := w.Header()
		hd.Set("X-Request-Id", id)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		// Customer data must not stay behind on shared computers (R-C9):
		// nothing this server says is cacheable, except static assets.
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
			hd.Set("Pragma", "no-cache")
		}
		if o.TLS {
			hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r.WithContext(ctx))
		// The path may hold a customer id; ids are not personal data. Query
		// strings may hold search terms, so they are never logged.
		log.Info("http", "id", id, "method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", time.Since(start).Milliseconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func remoteAddr(r *http.Request, trusted []string) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	for _, t := range trusted {
		if t == host {
			if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
				parts := strings.Split(xff, ",")
				return strings.TrimSpace(parts[len(parts)-1])
			}
		}
	}
	return host
}

// StatusClientClosedRequest answers a request whose client went away before
// the answer was ready (nginx's 499): the client reads nothing, and the
// log shows a client that gave up, not a failure of the server.
const StatusClientClosedRequest = 499

// Status maps an application error code to an HTTP status.
func Status(code custos.ErrorCode) int {
	switch code {
	case custos.EInvalid:
		return http.StatusUnprocessableEntity
	case custos.ENotFound:
		return http.StatusNotFound
	case custos.EConflict:
		return http.StatusConflict
	case custos.EUnauthenticated, custos.EMFARequired:
		return http.StatusUnauthorized
	case custos.EForbidden:
		return http.StatusForbidden
	case custos.EPurposeRequired:
		return http.StatusBadRequest
	case custos.ELocked:
		return http.StatusLocked
	case custos.ERateLimited:
		return http.StatusTooManyRequests
	case custos.EAuditUnavailable:
		return http.StatusServiceUnavailable
	case custos.ECanceled:
		return StatusClientClosedRequest
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a machine code, a message in zh-CN and English, and field errors.
type ErrorDetail struct {
	Code      custos.ErrorCode    `json:"code"`
	Message   custos.Message      `json:"message"`
	Fields    []custos.FieldError `json:"fields,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
}

// WriteError answers with the error's status and JSON body. Internal causes
// are logged, never sent.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := custos.ErrorCodeOf(err)
	d := ErrorDetail{Code: code, Message: custos.ErrorMessageOf(err), RequestID: RequestID(r.Context())}
	var e *custos.Error
	if errors.As(err, &e) {
		d.Fields = e.Fields
	}
	if code == custos.EInternal || code == custos.EAuditUnavailable {
		if log == nil {
			log = slog.Default()
		}
		log.Error("request failed", "id", d.RequestID, "path", r.URL.Path, "err", err)
	}
	WriteJSON(w, Status(code), ErrorBody{Error: d})
}

// WriteJSON answers with a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// IsLoopback reports whether a listen address only accepts local connections.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
