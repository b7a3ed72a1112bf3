package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Staff handover (R-G1): inventory, assignments to successors, the
// signatures of leaver, successor and supervisor, and the certificate.

// inventoryOut gives every list of an inventory as a list, even an empty one.
func inventoryOut(inv custos.HandoverInventory) custos.HandoverInventory {
	if inv.Customers == nil {
		inv.Customers = []string{}
	}
	if inv.Buildings == nil {
		inv.Buildings = []string{}
	}
	if inv.OpenRequests == nil {
		inv.OpenRequests = []int64{}
	}
	if inv.ActiveGrants == nil {
		inv.ActiveGrants = []int64{}
	}
	if inv.BorrowedFiles == nil {
		inv.BorrowedFiles = []int64{}
	}
	if inv.UnfiledAttachments == nil {
		inv.UnfiledAttachments = []string{}
	}
	return inv
}

// handoverOut is a handover as the API returns it: lists and maps are never null.
func handoverOut(h *custos.Handover) *custos.Handover {
	out := *h
	out.Inventory = inventoryOut(h.Inventory)
	if out.Successors == nil {
		out.Successors = []int64{}
	}
	if out.Assignments == nil {
		out.Assignments = map[string]int64{}
	}
	if out.SignedBy == nil {
		out.SignedBy = map[string]int64{}
	}
	if out.SignedAt == nil {
		out.SignedAt = map[string]time.Time{}
	}
	return &out
}

func (api *API) listHandovers(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	hs, err := api.app.Handovers(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]*custos.Handover, len(hs))
	for i, h := range hs {
		out[i] = handoverOut(h)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"handovers": out})
	return nil
}

// startHandover inventories what the leaver holds and opens the handover.
func (api *API) startHandover(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.HandoverInput
	if err := decode(r, &in); err != nil {
		return err
	}
	h, err := api.app.StartHandover(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/handovers/"+strconv.FormatInt(h.ID, 10))
	httpx.WriteJSON(w, http.StatusCreated, handoverOut(h))
	return nil
}

// HandoverDetail is a handover with a fresh look at what the leaver still
// holds (while it is open).
type HandoverDetail struct {
	*custos.Handover
	LiveInventory *custos.HandoverInventory `json:"live_inventory,omitempty"`
}

func (api *API) getHandover(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "hid")
	if err != nil {
		return err
	}
	h, live, err := api.app.Handover(r.Context(), a, id)
	if err != nil {
		return err
	}
	out := HandoverDetail{Handover: handoverOut(h)}
	if live != nil {
		inv := inventoryOut(*live)
		out.LiveInventory = &inv
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// assignmentsBody maps each customer id, or "building:<estate/building>",
// to the user id of the successor who receives it.
type assignmentsBody struct {
	Assignments map[string]int64 `json:"assignments"`
}

func (api *API) assignHandover(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "hid")
	if err != nil {
		return err
	}
	var b assignmentsBody
	if err := decode(r, &b); err != nil {
		return err
	}
	h, err := api.app.AssignHandover(r.Context(), a, id, b.Assignments)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, handoverOut(h))
	return nil
}

// signBody is the signing party's own password (and code): a signature
// is the party signing in at that moment (R-G1).
type signBody struct {
	Password string `json:"password"`
	TOTP     string `json:"totp"`
}

// signHandover signs in the caller's capacity (leaver, successor or
// supervisor); the last signature completes the handover.
func (api *API) signHandover(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "hid")
	if err != nil {
		return err
	}
	var b signBody
	if err := decode(r, &b); err != nil {
		return err
	}
	h, err := api.app.SignHandover(r.Context(), a, id, app.Credentials{Password: b.Password, TOTP: b.TOTP})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, handoverOut(h))
	return nil
}

// handoverCertificate downloads a completed handover's certificate as JSON
// (the default) or PDF.
func (api *API) handoverCertificate(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	return certificate(w, r, "hid", "handover", func(id int64, format string) ([]byte, error) {
		return api.app.HandoverCertificateFile(r.Context(), a, id, format)
	})
}
