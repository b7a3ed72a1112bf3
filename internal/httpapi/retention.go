package httpapi

import (
	"net/http"
	"strconv"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Retention, legal holds and destruction (R-F1–R-F4): the policy, closing
// a relationship, holds and their release by approval, the due-list, and
// destruction batches with their witness, execution and certificate.

func retentionRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/retention/policy", handler: (*API).getRetentionPolicy},
		{Method: "PUT", Pattern: "/api/v1/retention/policy", handler: (*API).putRetentionPolicy},
		{Method: "GET", Pattern: "/api/v1/retention/due", handler: (*API).retentionDue},
		{Method: "POST", Pattern: "/api/v1/customers/{id}/close", handler: (*API).closeRelationship},
		{Method: "GET", Pattern: "/api/v1/holds", handler: (*API).listHolds},
		{Method: "POST", Pattern: "/api/v1/holds", handler: (*API).placeHold},
		{Method: "POST", Pattern: "/api/v1/holds/{hid}/release", handler: (*API).releaseHold},
		{Method: "GET", Pattern: "/api/v1/destruction/batches", handler: (*API).listBatches},
		{Method: "POST", Pattern: "/api/v1/destruction/batches", handler: (*API).createBatch},
		{Method: "GET", Pattern: "/api/v1/destruction/batches/{bid}", handler: (*API).getBatch},
		{Method: "POST", Pattern: "/api/v1/destruction/batches/{bid}/execute", handler: (*API).executeBatch},
		{Method: "GET", Pattern: "/api/v1/destruction/batches/{bid}/certificate", handler: (*API).batchCertificate},
	}
}

func (api *API) getRetentionPolicy(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	p, err := api.app.RetentionPolicy(r.Context(), a)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (api *API) putRetentionPolicy(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var p custos.RetentionPolicy
	if err := decode(r, &p); err != nil {
		return err
	}
	req, err := api.app.SetRetentionPolicy(r.Context(), a, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, requestOut(req)) // in force once a second person approves
	return nil
}

// retentionDue is the dry run: what is due, what holds keep; nothing changes.
func (api *API) retentionDue(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	d, err := api.app.Due(r.Context(), a)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (api *API) closeRelationship(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.CloseInput
	if err := decode(r, &in); err != nil {
		return err
	}
	req, err := api.app.CloseRelationship(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, requestOut(req)) // closed once a second person approves
	return nil
}

func (api *API) listHolds(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	active, err := queryBool(r, "active")
	if err != nil {
		return err
	}
	hs, err := api.app.Holds(r.Context(), a, r.URL.Query().Get("customer_id"), active)
	if err != nil {
		return err
	}
	if hs == nil {
		hs = []*custos.LegalHold{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"holds": hs})
	return nil
}

func (api *API) placeHold(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.HoldInput
	if err := decode(r, &in); err != nil {
		return err
	}
	h, err := api.app.PlaceHold(r.Context(), a, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, h)
	return nil
}

// releaseBody is the reason for releasing a hold.
type releaseBody struct {
	Reason string `json:"reason"`
}

// releaseHold files the approval request that releases a hold.
func (api *API) releaseHold(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "hid")
	if err != nil {
		return err
	}
	var b releaseBody
	if err := decode(r, &b); err != nil {
		return err
	}
	req, err := api.app.RequestHoldRelease(r.Context(), a, id, b.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, requestOut(req))
	return nil
}

func batchOut(b *custos.DestructionBatch) *custos.DestructionBatch {
	out := *b
	if out.Items == nil {
		out.Items = []custos.DestructionItem{}
	}
	return &out
}

func (api *API) listBatches(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	bs, err := api.app.DestructionBatches(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]*custos.DestructionBatch, len(bs))
	for i, b := range bs {
		out[i] = batchOut(b)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"batches": out})
	return nil
}

// createBatch puts what is due into a batch and files its dual-control request.
func (api *API) createBatch(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var b releaseBody
	if err := decode(r, &b); err != nil {
		return err
	}
	batch, req, err := api.app.CreateDestructionBatch(r.Context(), a, b.Reason)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/destruction/batches/"+strconv.FormatInt(batch.ID, 10))
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"batch": batchOut(batch), "request": requestOut(req)})
	return nil
}

func (api *API) getBatch(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "bid")
	if err != nil {
		return err
	}
	b, err := api.app.DestructionBatch(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, batchOut(b))
	return nil
}

// witnessBody is the witness signing in for an execution (R-F3).
type witnessBody struct {
	Witness  string `json:"witness"`
	Password string `json:"witness_password"`
	TOTP     string `json:"witness_totp"`
}

func (api *API) executeBatch(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "bid")
	if err != nil {
		return err
	}
	var b witnessBody
	if err := decode(r, &b); err != nil {
		return err
	}
	batch, err := api.app.ExecuteDestruction(r.Context(), a, id, app.Credentials{Username: b.Witness, Password: b.Password, TOTP: b.TOTP})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, batchOut(batch))
	return nil
}

// batchCertificate downloads an executed batch's certificate: signed JSON
// (the default) or PDF.
func (api *API) batchCertificate(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	return certificate(w, r, "bid", "destruction", func(id int64, format string) ([]byte, error) {
		return api.app.DestructionCertificateFile(r.Context(), a, id, format)
	})
}

// certificate answers a certificate download: signed JSON (the default,
// ?format=json) or PDF (?format=pdf) of the record whose id is the path
// parameter param, named <name>-<id>.<format>.
func certificate(w http.ResponseWriter, r *http.Request, param, name string, file func(id int64, format string) ([]byte, error)) error {
	format := r.URL.Query().Get("format")
	ct := "application/json"
	switch format {
	case "", "json":
		format = "json"
	case "pdf":
		ct = "application/pdf"
	default:
		return invalid("format", custos.CodeNotAllowed, custos.Message{ZH: "格式应为 pdf 或 json", EN: "format must be pdf or json"})
	}
	id, err := pathInt(r, param)
	if err != nil {
		return err
	}
	b, err := file(id, format)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-`+strconv.FormatInt(id, 10)+`.`+format+`"`)
	w.Write(b)
	return nil
}
