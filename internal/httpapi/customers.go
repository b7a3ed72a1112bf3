package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/httpx"
)

// CustomerView is a customer as the API returns it: the input form (masked
// where sensitive) plus the archive's metadata.
type CustomerView struct {
	ID           string               `json:"id"`
	ArchiveNo    string               `json:"archive_no"`
	Status       custos.ArchiveStatus `json:"status"`
	Verification custos.Verification  `json:"verification"`
	Version      int64                `json:"version"`
	CreatedAt    time.Time            `json:"created_at"`
	UpdatedAt    time.Time            `json:"updated_at"`
	Masked       bool                 `json:"masked"`
	custos.CustomerInput
}

func viewOf(c *custos.Customer, masked bool) CustomerView {
	in := custos.InputOf(c)
	return CustomerView{ID: c.ID, ArchiveNo: c.ArchiveNo, Status: c.Status, Verification: c.Verification, Version: c.Version,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Masked: masked, CustomerInput: in}
}

func (api *API) createCustomer(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in custos.CustomerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := api.app.CreateCustomer(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+c.ID)
	httpx.WriteJSON(w, http.StatusCreated, viewOf(c.Masked(nil, nil), true))
	return nil
}

// CustomerList is one page of customers.
type CustomerList struct {
	Items    []CustomerView `json:"items"`
	Total    int            `json:"total"`
	Page     int            `json:"page"`
	PageSize int            `json:"page_size"`
}

func (api *API) listCustomers(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	if err := noTermsInURL(r, "/api/v1/customers"); err != nil {
		return err
	}
	return api.searchCustomersBy(w, r, a, r.URL.Query())
}

// searchCustomers is the customer search with the terms in the body.
func (api *API) searchCustomers(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	q, err := searchBody(r)
	if err != nil {
		return err
	}
	return api.searchCustomersBy(w, r, a, q)
}

func (api *API) searchCustomersBy(w http.ResponseWriter, r *http.Request, a custos.Actor, q url.Values) error {
	f := custos.CustomerFilter{
		Type: custos.CustomerType(q.Get("type")), Category: q.Get("category"), Status: custos.ArchiveStatus(q.Get("status")),
		Sensitivity: custos.Sensitivity(q.Get("sensitivity")), Verification: custos.Verification(q.Get("verification")),
		Name: q.Get("name"), IDNumber: q.Get("id_number"), Phone: q.Get("phone"), USCC: q.Get("uscc"),
		Estate: q.Get("estate"), Building: q.Get("building"), Sort: q.Get("sort"),
	}
	var err error
	if f.OrgID, err = intParam(q, "org_id"); err != nil {
		return err
	}
	if f.OwnerID, err = intParam(q, "owner_id"); err != nil {
		return err
	}
	page, err := intParam(q, "page")
	if err != nil {
		return err
	}
	size, err := intParam(q, "page_size")
	if err != nil {
		return err
	}
	f.Page, f.PageSize = int(min(page, custos.MaxPage+1)), int(min(size, custos.MaxPageSize+1))
	for key, vals := range q {
		if tax, ok := strings.CutPrefix(key, "class."); ok && len(vals) > 0 {
			if f.Classes == nil {
				f.Classes = map[string]string{}
			}
			f.Classes[tax] = vals[0]
		}
	}
	for _, tax := range []string{"tier", "lifecycle", "aml_risk", "volume", "nature", "stage", "property_status"} {
		if v := q.Get(tax); v != "" {
			if f.Classes == nil {
				f.Classes = map[string]string{}
			}
			f.Classes[tax] = v
		}
	}
	res, err := api.app.SearchCustomers(r.Context(), a, f)
	if err != nil {
		return err
	}
	out := CustomerList{Items: make([]CustomerView, 0, len(res.Items)), Total: res.Total, Page: res.Page, PageSize: res.PageSize}
	for _, c := range res.Items {
		out.Items = append(out.Items, viewOf(c, true))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (api *API) getCustomer(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	c, err := api.app.GetCustomer(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.Version, 10)))
	httpx.WriteJSON(w, http.StatusOK, viewOf(c, true))
	return nil
}

// patchBody is a JSON merge patch of the customer's input form, with the
// version it was based on (or an If-Match header) and the reason for the
// change, which an effective archive needs (R-B1).
type patchBody struct {
	Version *int64 `json:"version,omitempty"`
	Reason  string `json:"reason,omitempty"`
	*custos.CustomerInput
}

// ChangeAccepted answers a change of an effective archive: it waits for a
// second person's approval (R-B1), and the customer is still as it was.
type ChangeAccepted struct {
	Request  *custos.Request `json:"request"`
	Customer CustomerView    `json:"customer"`
}

// patchCustomer changes a draft at once (200), and files a change request
// for an effective archive (202 with the pending request).
func (api *API) patchCustomer(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var version int64
	if m := strings.Trim(r.Header.Get("If-Match"), `"W/`); m != "" {
		v, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return invalid("If-Match", custos.CodeInvalidFormat, custos.StandardMessage(custos.CodeInvalidFormat))
		}
		version = v
	}
	// The body is read once and checked before anything is loaded; the
	// merge onto the current state happens inside the service.
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	head := patchBody{CustomerInput: &custos.CustomerInput{}}
	if err := decodeBytes(raw, &head); err != nil {
		return err
	}
	if head.Version != nil {
		if version != 0 && *head.Version != version {
			return invalid("version", custos.CodeNotAllowed, custos.Message{ZH: "版本与 If-Match 不一致", EN: "version differs from If-Match"})
		}
		version = *head.Version
	}
	ch, err := api.app.ChangeCustomer(r.Context(), a, r.PathValue("id"), version, head.Reason, func(in *custos.CustomerInput) error {
		return decodeBytes(raw, &patchBody{CustomerInput: in})
	})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(ch.Customer.Version, 10)))
	if ch.Request != nil {
		w.Header().Set("Location", requestPath(ch.Request.ID))
		httpx.WriteJSON(w, http.StatusAccepted, ChangeAccepted{Request: requestOut(ch.Request), Customer: viewOf(ch.Customer, true)})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, viewOf(ch.Customer, true))
	return nil
}

type revealRequest struct {
	Fields  []string `json:"fields"`
	Purpose string   `json:"purpose"`
}

func (api *API) revealCustomer(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var req revealRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Purpose != "" {
		a.Purpose = req.Purpose
	}
	c, err := api.app.RevealCustomer(r.Context(), a, r.PathValue("id"), req.Fields)
	if err != nil {
		return err
	}
	v := viewOf(c, true)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"revealed": req.Fields, "customer": v})
	return nil
}

func (api *API) catalogue(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Catalogue(r.Context(), a)
	if err != nil {
		return err
	}
	if out == nil {
		out = []custos.CatalogueEntry{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}
