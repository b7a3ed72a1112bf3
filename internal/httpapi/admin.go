package httpapi

import (
	"bytes"
	"net/http"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/httpx"
)

func (api *API) listOrgs(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Orgs(r.Context())
	if err != nil {
		return err
	}
	if out == nil {
		out = []*custos.Org{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"orgs": out})
	return nil
}

type orgRequest struct {
	Code     string         `json:"code"`
	Name     string         `json:"name"`
	NameEN   string         `json:"name_en"`
	Kind     custos.OrgKind `json:"kind"`
	ParentID int64          `json:"parent_id"`
}

func (api *API) createOrg(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var req orgRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	o := &custos.Org{Code: req.Code, Name: req.Name, NameEN: req.NameEN, Kind: req.Kind, ParentID: req.ParentID}
	if err := api.app.CreateOrg(r.Context(), a, o); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, o)
	return nil
}

func (api *API) listUsers(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	org, err := queryInt(r, "org_id")
	if err != nil {
		return err
	}
	out, err := api.app.Users(r.Context(), a, custos.UserFilter{OrgID: org, Role: custos.Role(r.URL.Query().Get("role"))})
	if err != nil {
		return err
	}
	if out == nil {
		out = []*custos.User{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (api *API) createUser(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var req app.NewUser
	if err := decode(r, &req); err != nil {
		return err
	}
	u, pending, err := api.app.CreateUser(r.Context(), a, req)
	if err != nil {
		return err
	}
	if pending != nil { // a privileged account waits for a second person's approval
		httpx.WriteJSON(w, http.StatusAccepted, requestOut(pending))
		return nil
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

// roleBody asks to change a user's role.
type roleBody struct {
	Role   custos.Role `json:"role"`
	Reason string      `json:"reason"`
}

// setUserRole changes a role at once (200 with the user), or files the
// request that raises an account to a privileged role (202).
func (api *API) setUserRole(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "uid")
	if err != nil {
		return err
	}
	var b roleBody
	if err := decode(r, &b); err != nil {
		return err
	}
	u, pending, err := api.app.SetUserRole(r.Context(), a, id, b.Role, b.Reason)
	if err != nil {
		return err
	}
	if pending != nil {
		httpx.WriteJSON(w, http.StatusAccepted, requestOut(pending))
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (api *API) setDisabled(w http.ResponseWriter, r *http.Request, a custos.Actor, disabled bool) error {
	id, err := pathInt(r, "uid")
	if err != nil {
		return err
	}
	filed, err := api.app.SetUserDisabled(r.Context(), a, id, disabled)
	return answerReset(w, filed, err)
}

func (api *API) disableUser(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	return api.setDisabled(w, r, a, true)
}

func (api *API) enableUser(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	return api.setDisabled(w, r, a, false)
}

func (api *API) listPortfolio(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	uid, err := queryInt(r, "user_id")
	if err != nil {
		return err
	}
	if uid == 0 {
		uid = a.UserID
	}
	out, err := api.app.Portfolio(r.Context(), a, uid)
	if err != nil {
		return err
	}
	if out == nil {
		out = []custos.PortfolioEntry{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}

func (api *API) addPortfolio(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var e custos.PortfolioEntry
	if err := decode(r, &e); err != nil {
		return err
	}
	req, err := api.app.AddPortfolio(r.Context(), a, e)
	if err != nil {
		return err
	}
	if req != nil { // an approval rule applies: the assignment waits for it
		httpx.WriteJSON(w, http.StatusAccepted, req)
		return nil
	}
	httpx.WriteJSON(w, http.StatusCreated, e)
	return nil
}

func (api *API) removePortfolio(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var e custos.PortfolioEntry
	if err := decode(r, &e); err != nil {
		return err
	}
	if err := api.app.RemovePortfolio(r.Context(), a, e); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) listTaxonomies(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Taxonomies(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"taxonomies": out})
	return nil
}

func (api *API) putTaxonomy(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var t custos.Taxonomy
	if err := decode(r, &t); err != nil {
		return err
	}
	t.Code = r.PathValue("code")
	if err := api.app.PutTaxonomy(r.Context(), a, t); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (api *API) listCategories(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Categories(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"categories": out})
	return nil
}

func (api *API) putCategory(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var c custos.Category
	if err := decode(r, &c); err != nil {
		return err
	}
	c.Code = r.PathValue("code")
	if err := api.app.PutCategory(r.Context(), a, c); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (api *API) listCustomFields(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.CustomFieldDefs(r.Context(), r.URL.Query().Get("category"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []custos.CustomFieldDef{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"fields": out})
	return nil
}

func (api *API) putCustomField(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var d custos.CustomFieldDef
	if err := decode(r, &d); err != nil {
		return err
	}
	d.ID = 0
	if err := api.app.PutCustomFieldDef(r.Context(), a, &d); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, d)
	return nil
}

func (api *API) deleteCustomField(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "fid")
	if err != nil {
		return err
	}
	if err := api.app.DeleteCustomFieldDef(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) listChecklist(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Checklist(r.Context(), r.PathValue("category"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []custos.ChecklistItem{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func (api *API) putChecklistItem(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var c custos.ChecklistItem
	if err := decode(r, &c); err != nil {
		return err
	}
	c.Category, c.Code = r.PathValue("category"), r.PathValue("code")
	if err := api.app.PutChecklistItem(r.Context(), a, c); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (api *API) listPurposes(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Purposes(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"purposes": out})
	return nil
}

func (api *API) putPurpose(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var p custos.Purpose
	if err := decode(r, &p); err != nil {
		return err
	}
	p.Code = r.PathValue("code")
	if err := api.app.PutPurpose(r.Context(), a, p); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

type patternBody struct {
	Pattern string `json:"archive_pattern"`
}

func (api *API) getArchivePattern(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	p, err := api.app.ArchivePattern(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, patternBody{Pattern: p})
	return nil
}

func (api *API) putArchivePattern(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var b patternBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := api.app.SetArchivePattern(r.Context(), a, b.Pattern); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (api *API) listGrants(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	uid, err := queryInt(r, "user_id")
	if err != nil {
		return err
	}
	out, err := api.app.Grants(r.Context(), a, uid, r.URL.Query().Get("customer_id"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*custos.Grant{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"grants": out})
	return nil
}

func (api *API) createGrant(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var in app.GrantInput
	if err := decode(r, &in); err != nil {
		return err
	}
	g, err := api.app.CreateGrant(r.Context(), a, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, g)
	return nil
}

func (api *API) revokeGrant(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	id, err := pathInt(r, "gid")
	if err != nil {
		return err
	}
	if err := api.app.RevokeGrant(r.Context(), a, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (api *API) auditQuery(r *http.Request) (app.AuditQuery, error) {
	var q app.AuditQuery
	var err error
	qs := r.URL.Query()
	if q.ActorID, err = queryInt(r, "actor_id"); err != nil {
		return q, err
	}
	if after, err := queryInt(r, "before_seq"); err != nil {
		return q, err
	} else {
		q.AfterSeq = after
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return q, err
	}
	q.Limit = int(limit)
	q.Actor, q.Action, q.CustomerID = qs.Get("actor"), qs.Get("action"), qs.Get("customer_id")
	q.Outcome = custos.Outcome(qs.Get("outcome"))
	if q.From, err = queryTime(r, "from"); err != nil {
		return q, err
	}
	if q.To, err = queryTime(r, "to"); err != nil {
		return q, err
	}
	return q, nil
}

func (api *API) auditEvents(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	q, err := api.auditQuery(r)
	if err != nil {
		return err
	}
	out, err := api.app.SearchAudit(r.Context(), a, q)
	if err != nil {
		return err
	}
	if out == nil {
		out = []custos.AuditEvent{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

func (api *API) auditExport(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	q, err := api.auditQuery(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := api.app.ExportAudit(r.Context(), a, q, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+time.Now().UTC().Format("20060102T150405Z")+`.csv"`)
	w.Write(buf.Bytes())
	return nil
}

func (api *API) auditCheckpoints(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	cps, keyID, pub, err := api.app.AuditCheckpoints(r.Context(), a)
	if err != nil {
		return err
	}
	if cps == nil {
		cps = []custos.AuditCheckpoint{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"key_id": keyID, "public_key": pub, "algorithm": "Ed25519", "checkpoints": cps})
	return nil
}
