package httpapi

import (
	"net/http"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/httpx"
)

// portalRoutes let staff switch a customer's self-service portal access on
// and off (R-B5); the portal itself is internal/portal, not this API.
func portalRoutes() []Route {
	return []Route{
		{Method: "PUT", Pattern: "/api/v1/customers/{id}/portal", handler: (*API).enablePortal},
		{Method: "DELETE", Pattern: "/api/v1/customers/{id}/portal", handler: (*API).disablePortal},
	}
}

// portalBody is the optional initial password of the customer; without
// one, an existing password stays, or the customer signs in with codes.
type portalBody struct {
	Password string `json:"password,omitempty"`
}

// portalAccess is the answer: the customer's portal access now.
type portalAccess struct {
	CustomerID  string `json:"customer_id"`
	Enabled     bool   `json:"enabled"`
	PasswordSet bool   `json:"password_set"`
}

func (api *API) enablePortal(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in portalBody
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := api.app.EnablePortal(r.Context(), a, id, in.Password); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, portalAccess{CustomerID: id, Enabled: true, PasswordSet: in.Password != ""})
	return nil
}

func (api *API) disablePortal(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id := r.PathValue("id")
	if err := api.app.DisablePortal(r.Context(), a, id); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, portalAccess{CustomerID: id, Enabled: false})
	return nil
}
