package httpapi

import (
	"net/http"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/httpx"
)

// credentialRoutes are the caller's own tokens and password, and an
// administrator's resets (R-C4): a reset is a one-time credential that
// ends the person's sessions and tokens.
func credentialRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/tokens", handler: (*API).listTokens},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{tid}", handler: (*API).revokeToken},
		{Method: "POST", Pattern: "/api/v1/me/password", handler: (*API).changePassword},
		{Method: "POST", Pattern: "/api/v1/users/{uid}/password", handler: (*API).resetPassword},
		{Method: "POST", Pattern: "/api/v1/users/{uid}/mfa-reset", handler: (*API).resetMFA},
	}
}

func (api *API) listTokens(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	uid, err := queryInt(r, "user_id")
	if err != nil {
		return err
	}
	if uid == 0 {
		uid = a.UserID
	}
	out, err := api.app.Tokens(r.Context(), a, uid)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (api *API) revokeToken(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "tid")
	if err != nil {
		return err
	}
	if err := api.app.RevokeToken(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	OldPassword string `json:"old_password"`
	Password    string `json:"password"`
}

func (api *API) changePassword(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var req passwordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := api.app.SetPassword(r.Context(), a, a.UserID, req.OldPassword, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) resetPassword(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "uid")
	if err != nil {
		return err
	}
	var req passwordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if id == a.UserID {
		return invalid("uid", custos.CodeNotAllowed, custos.Message{ZH: "修改自己的密码请使用 /api/v1/me/password", EN: "change your own password at /api/v1/me/password"})
	}
	filed, err := api.app.ResetPassword(r.Context(), a, id, req.Password)
	return answerReset(w, filed, err)
}

// answerReset answers a credential reset: 204 when made, 202 with the
// request when a privileged account's reset waits for a second person.
func answerReset(w http.ResponseWriter, filed *custos.Request, err error) error {
	if err != nil {
		return err
	}
	if filed != nil {
		httpx.WriteJSON(w, http.StatusAccepted, filed)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) resetMFA(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "uid")
	if err != nil {
		return err
	}
	filed, err := api.app.ResetSecondFactor(r.Context(), a, id)
	return answerReset(w, filed, err)
}
