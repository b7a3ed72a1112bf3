// Package httpapi is the JSON API of Custos under /api/v1, authenticated by
// bearer tokens and described by the OpenAPI 3.1 document it serves at
// /api/v1/openapi.json. Handlers decode and validate input, call one service
// method and map its error code to a status; no SQL and no permission rules
// live here.
package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/jsonl"
)

// OpenAPI returns the API description.
func OpenAPI() []byte { return openapiDoc }

// API serves the JSON API.
type API struct {
	app *app.App
	log *slog.Logger
}

// Route is one registered endpoint, exported so tests can hold the OpenAPI
// document to the real routes.
type Route struct {
	Method, Pattern string
	Public          bool // no token needed
	handler         func(*API, http.ResponseWriter, *http.Request, custos.Actor) error
}

// Routes lists every endpoint: the whole API surface, one group per area.
func Routes() []Route {
	var all []Route
	for _, group := range [][]Route{
		coreRoutes(),
		transactionRoutes(),
		exportRoutes(),
		retentionRoutes(),
		portalRoutes(),
		credentialRoutes(),
	} {
		all = append(all, group...)
	}
	return all
}

// coreRoutes are the archive, workflow, administration and audit endpoints.
func coreRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/healthz", Public: true, handler: (*API).health},
		{Method: "GET", Pattern: "/api/v1/openapi.json", Public: true, handler: (*API).openapi},
		{Method: "GET", Pattern: "/api/v1/me", handler: (*API).me},
		{Method: "POST", Pattern: "/api/v1/tokens", handler: (*API).createToken},

		{Method: "POST", Pattern: "/api/v1/customers", handler: (*API).createCustomer},
		{Method: "GET", Pattern: "/api/v1/customers", handler: (*API).listCustomers},
		{Method: "POST", Pattern: "/api/v1/customers/search", handler: (*API).searchCustomers},
		{Method: "GET", Pattern: "/api/v1/customers/{id}", handler: (*API).getCustomer},
		{Method: "PATCH", Pattern: "/api/v1/customers/{id}", handler: (*API).patchCustomer},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/reveal", handler: (*API).revealCustomer},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/timeline", handler: (*API).listTimeline},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/timeline", handler: (*API).addTimeline},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/attachments", handler: (*API).listAttachments},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/attachments", handler: (*API).addAttachment},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/attachments/{aid}", handler: (*API).getAttachment},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/checklist", handler: (*API).checklist},
		{Method: "GET", Pattern: "/api/v1/catalogue", handler: (*API).catalogue},

		// Onboarding, verification and business (R-A5, R-A6, R-A10); history
		// and the borrowing register (R-B1, R-C3).
		{Method: "GET", Pattern: "/api/v1/customers/{id}/verifications", handler: (*API).listVerifications},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/verifications", handler: (*API).recordVerification},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/business", handler: (*API).listBusiness},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/business", handler: (*API).addBusiness},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/versions", handler: (*API).listVersions},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/diff", handler: (*API).diffVersions},
		{Method: "GET", Pattern: "/api/v1/customers/{id}/register", handler: (*API).borrowingRegister},

		// Approval requests: one engine for onboarding, changes, access and
		// paper loans (maker-checker, R-B1, R-C1–R-C3, R-H1).
		{Method: "GET", Pattern: "/api/v1/requests", handler: (*API).listRequests},
		{Method: "GET", Pattern: "/api/v1/inbox", handler: (*API).inbox},
		{Method: "GET", Pattern: "/api/v1/requests/{rid}", handler: (*API).getRequest},
		{Method: "POST", Pattern: "/api/v1/requests/{rid}/approve", handler: (*API).approveRequest},
		{Method: "POST", Pattern: "/api/v1/requests/{rid}/reject", handler: (*API).rejectRequest},
		{Method: "POST", Pattern: "/api/v1/requests/{rid}/cancel", handler: (*API).cancelRequest},
		{Method: "POST", Pattern: "/api/v1/access-requests", handler: (*API).requestAccess},
		{Method: "GET", Pattern: "/api/v1/approval-rules", handler: (*API).listApprovalRules},
		{Method: "PUT", Pattern: "/api/v1/approval-rules/{kind}", handler: (*API).putApprovalRule},

		// Paper archives (R-H1, R-H2).
		{Method: "GET", Pattern: "/api/v1/paper/locations", handler: (*API).listLocations},
		{Method: "POST", Pattern: "/api/v1/paper/locations", handler: (*API).createLocation},
		{Method: "GET", Pattern: "/api/v1/paper/files", handler: (*API).listPaperFiles},
		{Method: "POST", Pattern: "/api/v1/paper/files", handler: (*API).registerPaperFile},
		{Method: "GET", Pattern: "/api/v1/paper/files/{fid}", handler: (*API).getPaperFile},
		{Method: "POST", Pattern: "/api/v1/paper/files/{fid}/lend", handler: (*API).lendPaperFile},
		{Method: "POST", Pattern: "/api/v1/paper/files/{fid}/return", handler: (*API).returnPaperFile},
		{Method: "POST", Pattern: "/api/v1/paper/files/{fid}/transfer", handler: (*API).transferPaperFile},

		// Staff handover (R-G1).
		{Method: "GET", Pattern: "/api/v1/handovers", handler: (*API).listHandovers},
		{Method: "POST", Pattern: "/api/v1/handovers", handler: (*API).startHandover},
		{Method: "GET", Pattern: "/api/v1/handovers/{hid}", handler: (*API).getHandover},
		{Method: "PUT", Pattern: "/api/v1/handovers/{hid}/assignments", handler: (*API).assignHandover},
		{Method: "POST", Pattern: "/api/v1/handovers/{hid}/sign", handler: (*API).signHandover},
		{Method: "GET", Pattern: "/api/v1/handovers/{hid}/certificate", handler: (*API).handoverCertificate},

		{Method: "GET", Pattern: "/api/v1/orgs", handler: (*API).listOrgs},
		{Method: "POST", Pattern: "/api/v1/orgs", handler: (*API).createOrg},
		{Method: "GET", Pattern: "/api/v1/users", handler: (*API).listUsers},
		{Method: "POST", Pattern: "/api/v1/users", handler: (*API).createUser},
		{Method: "POST", Pattern: "/api/v1/users/{uid}/disable", handler: (*API).disableUser},
		{Method: "PUT", Pattern: "/api/v1/users/{uid}/role", handler: (*API).setUserRole},
		{Method: "POST", Pattern: "/api/v1/users/{uid}/enable", handler: (*API).enableUser},
		{Method: "GET", Pattern: "/api/v1/portfolio", handler: (*API).listPortfolio},
		{Method: "POST", Pattern: "/api/v1/portfolio", handler: (*API).addPortfolio},
		{Method: "DELETE", Pattern: "/api/v1/portfolio", handler: (*API).removePortfolio},

		{Method: "GET", Pattern: "/api/v1/taxonomies", handler: (*API).listTaxonomies},
		{Method: "PUT", Pattern: "/api/v1/taxonomies/{code}", handler: (*API).putTaxonomy},
		{Method: "GET", Pattern: "/api/v1/categories", handler: (*API).listCategories},
		{Method: "PUT", Pattern: "/api/v1/categories/{code}", handler: (*API).putCategory},
		{Method: "GET", Pattern: "/api/v1/custom-fields", handler: (*API).listCustomFields},
		{Method: "POST", Pattern: "/api/v1/custom-fields", handler: (*API).putCustomField},
		{Method: "DELETE", Pattern: "/api/v1/custom-fields/{fid}", handler: (*API).deleteCustomField},
		{Method: "GET", Pattern: "/api/v1/checklists/{category}", handler: (*API).listChecklist},
		{Method: "PUT", Pattern: "/api/v1/checklists/{category}/{code}", handler: (*API).putChecklistItem},
		{Method: "GET", Pattern: "/api/v1/purposes", handler: (*API).listPurposes},
		{Method: "PUT", Pattern: "/api/v1/purposes/{code}", handler: (*API).putPurpose},
		{Method: "GET", Pattern: "/api/v1/settings/archive-pattern", handler: (*API).getArchivePattern},
		{Method: "PUT", Pattern: "/api/v1/settings/archive-pattern", handler: (*API).putArchivePattern},

		{Method: "GET", Pattern: "/api/v1/grants", handler: (*API).listGrants},
		{Method: "POST", Pattern: "/api/v1/grants", handler: (*API).createGrant},
		{Method: "DELETE", Pattern: "/api/v1/grants/{gid}", handler: (*API).revokeGrant},

		{Method: "GET", Pattern: "/api/v1/audit/events", handler: (*API).auditEvents},
		{Method: "GET", Pattern: "/api/v1/audit/export", handler: (*API).auditExport},
		{Method: "GET", Pattern: "/api/v1/audit/checkpoints", handler: (*API).auditCheckpoints},
	}
}

// New returns the API handler for /api/ and /healthz.
func New(a *app.App, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	api := &API{app: a, log: log}
	mux := http.NewServeMux()
	for _, rt := range Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, api.wrap(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, log, custos.Errorf(custos.ENotFound, "接口不存在", "no such endpoint"))
	})
	return mux
}

func (api *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var actor custos.Actor
		if !rt.Public {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="custos"`)
				httpx.WriteError(w, r, api.log, custos.Errorf(custos.EUnauthenticated, "需要 Bearer 令牌", "a bearer token is required"))
				return
			}
			var err error
			actor, err = api.app.TokenActor(r.Context(), strings.TrimSpace(tok), httpx.ClientAddr(r.Context()), httpx.RequestID(r.Context()))
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="custos", error="invalid_token"`)
				httpx.WriteError(w, r, api.log, err)
				return
			}
			actor.Purpose = r.Header.Get("X-Purpose")
			if p := r.URL.Query().Get("purpose"); p != "" {
				actor.Purpose = p
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, 32<<20)
		if err := rt.handler(api, w, r, actor); err != nil {
			httpx.WriteError(w, r, api.log, err)
		}
	})
}

// decode reads a JSON body strictly: unknown fields and type mismatches are
// field errors (422), so a typo never silently drops data.
func decode(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// decodeOptional is decode for bodies that may be left out entirely (an
// approval without comment): an empty body leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeBytes(body, v)
}

// readBody reads the whole request body within the size limit.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, invalid("", "too_large", custos.Message{ZH: "请求体过大", EN: "request body too large"})
		}
		return nil, invalid("", "unreadable", custos.Message{ZH: "无法读取请求体", EN: "cannot read the request body"})
	}
	return body, nil
}

// decodeBytes decodes one JSON value strictly (see decode).
func decodeBytes(body []byte, v any) error {
	if at := jsonl.InvalidText(body); at >= 0 {
		// encoding/json would replace it with U+FFFD and store a name that was never sent.
		return invalid("", custos.CodeInvalidEncoding, custos.Message{ZH: fmt.Sprintf("请求体第 %d 个字节起不是有效的 UTF-8 文本", at+1), EN: fmt.Sprintf("the body is not valid UTF-8 text at byte %d", at+1)})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return invalid(te.Field, custos.CodeInvalidFormat, custos.Message{ZH: "类型不正确，应为 " + te.Type.String(), EN: "wrong type, expected " + te.Type.String()})
		case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return invalid("", "invalid_json", custos.Message{ZH: "请求体不是有效的 JSON", EN: "the body is not valid JSON"})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalid(f, custos.CodeUnknown, custos.Message{ZH: "未知字段", EN: "unknown field"})
		}
		return invalid("", "invalid_json", custos.Message{ZH: "请求体无法解析", EN: "the body cannot be parsed"})
	}
	if dec.More() {
		return invalid("", "invalid_json", custos.Message{ZH: "请求体只能包含一个 JSON 值", EN: "the body must hold one JSON value"})
	}
	return nil
}

func invalid(field, code string, msg custos.Message) error {
	return &custos.Error{Code: custos.EInvalid, Message: custos.Message{ZH: "输入有误", EN: "invalid input"},
		Fields: []custos.FieldError{{Field: field, Code: code, Message: msg}}}
}

func pathInt(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, custos.ErrNotFound
	}
	return n, nil
}

func queryInt(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid(name, custos.CodeInvalidFormat, custos.StandardMessage(custos.CodeInvalidFormat))
	}
	return n, nil
}

// queryBool reads a yes/no parameter: absent, "0"/"false" or "1"/"true";
// anything else is a field error.
func queryBool(r *http.Request, name string) (bool, error) {
	switch r.URL.Query().Get(name) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, invalid(name, custos.CodeInvalidFormat, custos.StandardMessage(custos.CodeInvalidFormat))
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(name, custos.CodeInvalidDate, custos.Message{ZH: "时间格式应为 RFC 3339 或 YYYY-MM-DD", EN: "expected RFC 3339 or YYYY-MM-DD"})
}

// health answers 200 when the store reads and writes, 503 with the reason
// when it does not (see app.Health); it waits at most healthTimeout.
func (api *API) health(w http.ResponseWriter, r *http.Request, _ custos.Actor) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	rep := api.app.Health(ctx)
	if !rep.OK {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": rep.Reason, "database": rep.Database})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": rep.Database})
	return nil
}

// healthTimeout bounds how long /healthz waits for the write probe.
const healthTimeout = 2 * time.Second

func (api *API) openapi(w http.ResponseWriter, r *http.Request, _ custos.Actor) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openapiDoc)
	return nil
}

func (api *API) me(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"user_id": a.UserID, "username": a.Username, "role": a.Role, "org_id": a.OrgID, "scopes": a.Scopes})
	return nil
}

type tokenRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	TTL    string   `json:"ttl"` // e.g. "720h"
}

func (api *API) createToken(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var req tokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return invalid("ttl", custos.CodeInvalidFormat, custos.StandardMessage(custos.CodeInvalidFormat))
		}
		ttl = d
	}
	t, err := api.app.CreateToken(r.Context(), a, req.Name, req.Scopes, ttl)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, t)
	return nil
}
