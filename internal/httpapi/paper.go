package httpapi

import (
	"net/http"
	"strconv"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

// Paper archives (R-H1, R-H2): secure locations with a named custodian,
// paper files registered only there, lending and return on record.

func (api *API) listLocations(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Locations(r.Context(), a)
	if err != nil {
		return err
	}
	if out == nil {
		out = []*custos.SecureLocation{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"locations": out})
	return nil
}

// locationInput registers a secure location: a locked cabinet or safe and
// its custodian.
type locationInput struct {
	OrgID       int64           `json:"org_id"`
	Room        string          `json:"room"`
	Cabinet     string          `json:"cabinet"`
	Shelf       string          `json:"shelf"`
	Box         string          `json:"box"`
	LockType    custos.LockType `json:"lock_type"`
	CustodianID int64           `json:"custodian_id"`
}

func (api *API) createLocation(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in locationInput
	if err := decode(r, &in); err != nil {
		return err
	}
	l := &custos.SecureLocation{OrgID: in.OrgID, Room: in.Room, Cabinet: in.Cabinet, Shelf: in.Shelf, Box: in.Box,
		LockType: in.LockType, CustodianID: in.CustodianID}
	if err := api.app.CreateLocation(r.Context(), a, l); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, l)
	return nil
}

func paperPath(id int64) string { return "/api/v1/paper/files/" + strconv.FormatInt(id, 10) }

// listPaperFiles lists the files at the caller's unit's locations;
// ?overdue=1 only the lent files past their due date.
func (api *API) listPaperFiles(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	overdue, err := queryBool(r, "overdue")
	if err != nil {
		return err
	}
	out, err := api.app.PaperFiles(r.Context(), a, overdue)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"files": out})
	return nil
}

func (api *API) registerPaperFile(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.PaperInput
	if err := decode(r, &in); err != nil {
		return err
	}
	f, err := api.app.RegisterPaperFile(r.Context(), a, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", paperPath(f.ID))
	httpx.WriteJSON(w, http.StatusCreated, f)
	return nil
}

// PaperFileDetail is a paper file with its movements, oldest first.
type PaperFileDetail struct {
	*app.PaperView
	Movements []custos.PaperMovement `json:"movements"`
}

func (api *API) getPaperFile(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "fid")
	if err != nil {
		return err
	}
	f, moves, err := api.app.PaperFile(r.Context(), a, id)
	if err != nil {
		return err
	}
	if moves == nil {
		moves = []custos.PaperMovement{}
	}
	httpx.WriteJSON(w, http.StatusOK, PaperFileDetail{PaperView: f, Movements: moves})
	return nil
}

// lendPaperFile lends a file (200 with the file), or, for a protected
// customer's file, files a paper-loan request (202 with the request): the
// file leaves only when it is approved (R-H1).
func (api *API) lendPaperFile(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "fid")
	if err != nil {
		return err
	}
	var in app.LendInput
	if err := decode(r, &in); err != nil {
		return err
	}
	f, req, err := api.app.LendPaperFile(r.Context(), a, id, in)
	if err != nil {
		return err
	}
	if req != nil {
		w.Header().Set("Location", requestPath(req.ID))
		httpx.WriteJSON(w, http.StatusAccepted, requestOut(req))
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, f)
	return nil
}

type returnBody struct {
	Inspection string `json:"inspection"` // e.g. 完好 (complete), 缺页 (pages missing)
}

func (api *API) returnPaperFile(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "fid")
	if err != nil {
		return err
	}
	var b returnBody
	if err := decode(r, &b); err != nil {
		return err
	}
	f, err := api.app.ReturnPaperFile(r.Context(), a, id, b.Inspection)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, f)
	return nil
}

type transferBody struct {
	ToLocationID int64 `json:"to_location_id"`
}

func (api *API) transferPaperFile(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "fid")
	if err != nil {
		return err
	}
	var b transferBody
	if err := decode(r, &b); err != nil {
		return err
	}
	f, err := api.app.TransferPaperFile(r.Context(), a, id, b.ToLocationID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, f)
	return nil
}
