package httpapi

import (
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/httpx"
)

func (api *API) listTimeline(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Timeline(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*custos.TimelineEntry{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}

type timelineRequest struct {
	Kind          custos.TimelineKind `json:"kind"`
	OccurredOn    string              `json:"occurred_on"`
	Period        string              `json:"period"`
	Title         string              `json:"title"`
	Body          string              `json:"body"`
	AttachmentIDs []string            `json:"attachment_ids"`
}

func (api *API) addTimeline(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	var req timelineRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	e, err := api.app.AddTimeline(r.Context(), a, r.PathValue("id"), custos.TimelineEntry{Kind: req.Kind, OccurredOn: req.OccurredOn,
		Period: req.Period, Title: req.Title, Body: req.Body, AttachmentIDs: req.AttachmentIDs})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, e)
	return nil
}

func (api *API) listAttachments(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	out, err := api.app.Attachments(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []*custos.Attachment{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"attachments": out})
	return nil
}

// addAttachment takes multipart/form-data with a "file" part and "kind"
// (and optionally "checklist_item") fields.
func (api *API) addAttachment(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	if err := r.ParseMultipartForm(custos.MaxAttachmentSize + 1<<20); err != nil {
		return invalid("file", "invalid_multipart", custos.Message{ZH: "请以 multipart/form-data 上传 file 字段", EN: "upload the file as multipart/form-data field \"file\""})
	}
	defer r.MultipartForm.RemoveAll()
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return invalid("file", custos.CodeRequired, custos.StandardMessage(custos.CodeRequired))
	}
	defer f.Close()
	content, err := io.ReadAll(io.LimitReader(f, custos.MaxAttachmentSize+1))
	if err != nil {
		return err
	}
	at, err := api.app.AddAttachment(r.Context(), a, r.PathValue("id"), custos.AttachmentKind(r.FormValue("kind")), hdr.Filename, r.FormValue("checklist_item"), content)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, at)
	return nil
}

func (api *API) getAttachment(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	at, content, err := api.app.Attachment(r.Context(), a, r.PathValue("id"), r.PathValue("aid"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", at.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.Filename}))
	w.Header().Set("Content-Length", fmt.Sprint(len(content)))
	w.Write(content)
	return nil
}

func (api *API) checklist(w http.ResponseWriter, r *http.Request, a custos.Actor) error {
	items, pct, err := api.app.ChecklistStatus(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	if items == nil {
		items = []custos.ChecklistStatus{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "completeness": pct})
	return nil
}
