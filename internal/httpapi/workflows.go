package httpapi

import (
	"net/http"
	"strconv"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Approval requests (R-A10, R-B1, R-C1–R-C3, R-H1). Who may see and decide a
// request is the engine's business (app.DecideRequest, custos.Request.Decide):
// a requester deciding their own request is 403, a request the caller has
// no business with is 404, like a missing one.

func requestPath(id int64) string { return "/api/v1/requests/" + strconv.FormatInt(id, 10) }

// requestOut is a request as the API returns it: never its payload (which
// may hold personal data; the request view shows it masked), and decisions
// as a list even when there are none.
func requestOut(r *custos.Request) *custos.Request {
	if r == nil {
		return nil
	}
	out := *r
	out.Payload = nil
	if out.Decisions == nil {
		out.Decisions = []custos.RequestDecision{}
	}
	return &out
}

func requestsOut(rs []*custos.Request) []*custos.Request {
	out := make([]*custos.Request, len(rs))
	for i, r := range rs {
		out[i] = requestOut(r)
	}
	return out
}

// listRequests lists the caller's own requests (compliance and auditors:
// everyone's), filtered by kind, state and customer.
func (api *API) listRequests(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	q := r.URL.Query()
	f := custos.RequestFilter{Kind: custos.RequestKind(q.Get("kind")), State: custos.RequestState(q.Get("state")), CustomerID: q.Get("customer_id")}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	out, err := api.app.Requests(r.Context(), a, f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"requests": requestsOut(out)})
	return nil
}

// inbox lists the pending requests the caller may decide.
func (api *API) inbox(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Inbox(r.Context(), a)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"requests": requestsOut(out)})
	return nil
}

// getRequest shows one request; for a change, the field-by-field diff with
// sensitive values masked.
func (api *API) getRequest(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "rid")
	if err != nil {
		return app.ErrRequestNotFound
	}
	v, err := api.app.Request(r.Context(), a, id)
	if err != nil {
		return err
	}
	out := *v
	out.Request = requestOut(v.Request)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

type decisionBody struct {
	Comment string `json:"comment"`
}

func (api *API) decide(w http.ResponseWriter, r *http.Request, a custos.Actor, approve bool) error {
	id, err := pathInt(r, "rid")
	if err != nil {
		return app.ErrRequestNotFound
	}
	var b decisionBody
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	out, err := api.app.DecideRequest(r.Context(), a, id, approve, b.Comment)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, requestOut(out))
	return nil
}

// approveRequest approves; once enough approvers have, the request takes
// effect in the same transaction (state "applied").
func (api *API) approveRequest(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	return api.decide(w, r, a, true)
}

// rejectRequest rejects; a rejection needs a comment.
func (api *API) rejectRequest(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	return api.decide(w, r, a, false)
}

// cancelRequest withdraws a pending request (its requester only).
func (api *API) cancelRequest(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "rid")
	if err != nil {
		return app.ErrRequestNotFound
	}
	if err := api.app.CancelRequest(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// requestAccess asks for time-limited access to an archive outside the
// caller's scope (R-C1). The answer is the same whether or not the archive
// exists.
func (api *API) requestAccess(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.AccessInput
	if err := decode(r, &in); err != nil {
		return err
	}
	req, err := api.app.RequestAccess(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", requestPath(req.ID))
	httpx.WriteJSON(w, http.StatusCreated, requestOut(req))
	return nil
}

func (api *API) listApprovalRules(w http.ResponseWriter, r *http.Request, _ custos.Actor) error {
	out, err := api.app.ApprovalRules(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}

// putApprovalRule replaces the rule of the kind in the path (administrators).
func (api *API) putApprovalRule(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var rule custos.ApprovalRule
	if err := decode(r, &rule); err != nil {
		return err
	}
	kind := custos.RequestKind(r.PathValue("kind"))
	if rule.Kind != "" && rule.Kind != kind {
		return invalid("kind", custos.CodeNotAllowed, custos.Message{ZH: "与路径中的申请类型不一致", EN: "differs from the kind in the path"})
	}
	rule.Kind = kind
	req, err := api.app.PutApprovalRule(r.Context(), a, rule)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, requestOut(req)) // in force once a second person approves
	return nil
}
