package httpapi

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Encrypted exports and the confidentiality-agreement registry (R-C7, R-C8,
// R-E5). Creating or generating an export answers the password once, in
// that response only (which, like every response, is no-store); the file
// is fetched separately from /exports/{eid}/file, so the password and the
// file never travel together.

// exportRoutes are the endpoints of exports and agreements.
func exportRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/agreements", handler: (*API).listAgreements},
		{Method: "POST", Pattern: "/api/v1/agreements", handler: (*API).createAgreement},
		{Method: "GET", Pattern: "/api/v1/agreements/{agid}", handler: (*API).getAgreement},
		{Method: "POST", Pattern: "/api/v1/agreements/{agid}/revoke", handler: (*API).revokeAgreement},
		{Method: "GET", Pattern: "/api/v1/exports", handler: (*API).listExports},
		{Method: "POST", Pattern: "/api/v1/exports", handler: (*API).createExport},
		{Method: "GET", Pattern: "/api/v1/exports/{eid}", handler: (*API).getExport},
		{Method: "POST", Pattern: "/api/v1/exports/{eid}/generate", handler: (*API).generateExport},
		{Method: "GET", Pattern: "/api/v1/exports/{eid}/file", handler: (*API).exportFile},
	}
}

func (api *API) listAgreements(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	active, err := queryBool(r, "active")
	if err != nil {
		return err
	}
	out, err := api.app.Agreements(r.Context(), a, active)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"agreements": out})
	return nil
}

// agreementInput registers a signed confidentiality agreement.
type agreementInput struct {
	Party     string              `json:"party"`
	Reference string              `json:"reference"`
	Scope     []custos.ExportKind `json:"scope"`
	ValidFrom string              `json:"valid_from"`
	ValidTo   string              `json:"valid_to"`
	SignedBy  string              `json:"signed_by"`
}

func (api *API) createAgreement(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in agreementInput
	if err := decode(r, &in); err != nil {
		return err
	}
	ag, err := api.app.CreateAgreement(r.Context(), a, custos.Agreement{Party: in.Party, Reference: in.Reference, Scope: in.Scope,
		ValidFrom: in.ValidFrom, ValidTo: in.ValidTo, SignedBy: in.SignedBy})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/agreements/"+strconv.FormatInt(ag.ID, 10))
	httpx.WriteJSON(w, http.StatusCreated, ag)
	return nil
}

func (api *API) getAgreement(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "agid")
	if err != nil {
		return app.ErrAgreementNotFound
	}
	ag, err := api.app.Agreement(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ag)
	return nil
}

func (api *API) revokeAgreement(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "agid")
	if err != nil {
		return app.ErrAgreementNotFound
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ag, err := api.app.RevokeAgreement(r.Context(), a, id, in.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ag)
	return nil
}

func (api *API) listExports(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Exports(r.Context(), a)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"exports": out})
	return nil
}

// exportCreated is the answer to a generated export: the password, once.
type exportCreated struct {
	ID       int64          `json:"id"`
	Password string         `json:"password"`
	SHA256   string         `json:"sha256"`
	File     string         `json:"file"`
	Export   *custos.Export `json:"export"`
}

func created(res *app.ExportResult) exportCreated {
	return exportCreated{ID: res.Export.ID, Password: res.Password, SHA256: res.Export.SHA256,
		File: "/api/v1/exports/" + strconv.FormatInt(res.Export.ID, 10) + "/file", Export: res.Export}
}

// createExport generates an internal export at once (201, with the
// password) or files an external one for approval (202, with the request).
func (api *API) createExport(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var spec custos.ExportSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	res, err := api.app.CreateExport(r.Context(), a, spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/exports/"+strconv.FormatInt(res.Export.ID, 10))
	if res.Password == "" {
		httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"export": res.Export, "request": res.Request})
		return nil
	}
	httpx.WriteJSON(w, http.StatusCreated, created(res))
	return nil
}

func (api *API) getExport(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "eid")
	if err != nil {
		return app.ErrExportNotFound
	}
	e, err := api.app.Export(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, e)
	return nil
}

// generateExport makes the file of an approved external export (its
// requester, once) and answers the password.
func (api *API) generateExport(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "eid")
	if err != nil {
		return app.ErrExportNotFound
	}
	res, err := api.app.GenerateExport(r.Context(), a, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, created(res))
	return nil
}

// exportFile streams the encrypted file; its SHA-256 is in a header so the
// recipient can check what arrived.
func (api *API) exportFile(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "eid")
	if err != nil {
		return app.ErrExportNotFound
	}
	e, content, err := api.app.ExportFile(r.Context(), a, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": ExportFileName(e)}))
	w.Header().Set("Content-Length", fmt.Sprint(len(content)))
	w.Header().Set("X-Content-SHA256", e.SHA256)
	w.Write(content)
	return nil
}

// ExportFileName is the download name of an export: an age-encrypted ZIP.
func ExportFileName(e *custos.Export) string {
	return fmt.Sprintf("custos-export-%d-%s.zip.age", e.ID, e.Kind)
}
