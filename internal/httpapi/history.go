package httpapi

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Verification and business (R-A5, R-A6, R-A10), versions and the
// borrowing register (R-B1, R-C3). Reads state their purpose like every
// other read of customer data; the services check it and audit the read.

func (api *API) listVerifications(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Verifications(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"verifications": out})
	return nil
}

// recordVerification records an inspector's identity check against the
// attached evidence.
func (api *API) recordVerification(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.VerificationInput
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := api.app.RecordVerification(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	if v.EvidenceIDs == nil {
		v.EvidenceIDs = []string{}
	}
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (api *API) listBusiness(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.BusinessRecords(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"records": out})
	return nil
}

// addBusiness records an account, contract or loan; refused (409) unless
// the archive is effective and the identity verified (R-A5).
func (api *API) addBusiness(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.BusinessInput
	if err := decode(r, &in); err != nil {
		return err
	}
	b, err := api.app.AddBusiness(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, b)
	return nil
}

func (api *API) listVersions(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Versions(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	for i := range out {
		if out[i].Fields == nil {
			out[i].Fields = []string{}
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"versions": out})
	return nil
}

// diffVersions compares two versions field by field, masked.
func (api *API) diffVersions(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var from, to int64
	for _, p := range []struct {
		name string
		v    *int64
	}{{"from", &from}, {"to", &to}} {
		n, err := queryInt(r, p.name)
		if err != nil {
			return err
		}
		if n <= 0 {
			return invalid(p.name, custos.CodeRequired, custos.Message{ZH: "须指明版本号", EN: "a version number is required"})
		}
		*p.v = n
	}
	out, err := api.app.DiffVersions(r.Context(), a, r.PathValue("id"), from, to)
	if err != nil {
		return err
	}
	if out == nil {
		out = []custos.FieldChange{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "changes": out})
	return nil
}

// borrowingRegister is the archive's borrowing register (借阅登记簿, R-C3)
// as JSON, or as CSV with ?format=csv.
func (api *API) borrowingRegister(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return invalid("format", custos.CodeNotAllowed, custos.Message{ZH: "格式应为 json 或 csv", EN: "format must be json or csv"})
	}
	id := r.PathValue("id")
	out, err := api.app.BorrowingRegister(r.Context(), a, id)
	if err != nil {
		return err
	}
	if format != "csv" {
		if out == nil {
			out = []app.RegisterEntry{}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
		return nil
	}
	var body bytes.Buffer
	if err := app.WriteRegisterCSV(&body, out); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="register-`+fileID(id)+`.csv"`)
	w.Write(body.Bytes())
	return nil
}

// fileID keeps an id usable in a file name.
func fileID(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}
