package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Retention, legal holds and destruction (R-F1–R-F4) for compliance: the
// due-list (a dry run), holds and their release by approval, destruction
// batches with their witness, execution and certificate.

// retentionRoutes adds the retention pages.
func (s *server) retentionRoutes(mux *http.ServeMux) {
	mux.Handle("GET /retention", s.authed(s.retentionPage))
	mux.Handle("POST /retention/holds", s.authed(s.placeHold))
	mux.Handle("POST /retention/closures", s.authed(s.closeRelationship))
	mux.Handle("POST /retention/holds/{hid}/release", s.authed(s.releaseHold))
	mux.Handle("POST /retention/batches", s.authed(s.createBatch))
	mux.Handle("POST /retention/batches/{bid}/execute", s.authed(s.executeBatch))
	mux.Handle("GET /retention/batches/{bid}/certificate.pdf", s.authed(s.batchCertificate("pdf")))
	mux.Handle("GET /retention/batches/{bid}/certificate.json", s.authed(s.batchCertificate("json")))
}

type holdRow struct {
	ID                                int64
	ArchiveNo, Scope, CaseRef, Reason string
	Placed, Released, ReleaseLink     string
}

type batchRow struct {
	ID                                      int64
	State, StateLabel, Created, Customers   string
	RequestLink, ExecuteLink, CertPDF, JSON string
	Approved, Executed                      bool
}

type holdForm struct {
	ArchiveNo, CaseRef, Reason, Scope string
	Errors                            map[string]string
}

type retentionData struct {
	Due, Held      []app.DueEntry
	NotYet         int
	Preset         string
	Holds          []holdRow
	Batches        []batchRow
	HoldForm       holdForm
	CanDestroy     bool
	CanHold        bool
	CanClose       bool
	CloseForm      closeForm
	BatchReason    string
	BatchErrors    map[string]string
	ExecuteBatchID int64
}

func (s *server) retentionPage(w http.ResponseWriter, r *http.Request, p *page) {
	s.renderRetention(w, r, p, retentionData{HoldForm: holdForm{Scope: string(custos.HoldCustomer)}}, http.StatusOK)
}

func (s *server) renderRetention(w http.ResponseWriter, r *http.Request, p *page, d retentionData, status int) {
	ctx := r.Context()
	d.CanDestroy, d.CanHold = p.Can(string(custos.ActDestructionManage)), p.Can(string(custos.ActHoldManage))
	d.CanClose = p.Can(string(custos.ActRetentionManage))
	if !d.CanDestroy && !d.CanHold && !d.CanClose {
		s.notFound(w, p)
		return
	}
	if d.CanDestroy {
		due, err := s.app.Due(ctx, p.Actor)
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		d.Due, d.Held, d.NotYet, d.Preset = due.Due, due.Held, due.NotYet, due.Preset
		batches, err := s.app.DestructionBatches(ctx, p.Actor)
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		for _, b := range batches {
			id := strconv.FormatInt(b.ID, 10)
			row := batchRow{ID: b.ID, State: string(b.State), StateLabel: p.T("retention.batch." + string(b.State)),
				Created: b.CreatedAt.In(custos.TxnZone).Format("2006-01-02 15:04"), Approved: b.State == custos.BatchApproved, Executed: b.State == custos.BatchExecuted,
				ExecuteLink: "/retention/batches/" + id + "/execute", CertPDF: "/retention/batches/" + id + "/certificate.pdf", JSON: "/retention/batches/" + id + "/certificate.json"}
			if b.RequestID != 0 {
				row.RequestLink = requestLink(b.RequestID)
			}
			if row.Executed {
				row.Customers = strconv.FormatInt(b.Counts["customers"], 10)
			}
			d.Batches = append(d.Batches, row)
		}
	}
	if d.CanHold {
		holds, err := s.app.Holds(ctx, p.Actor, "", false)
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		for _, h := range holds {
			row := holdRow{ID: h.ID, ArchiveNo: h.ArchiveNo, Scope: p.T("retention.scope." + string(h.Scope)), CaseRef: h.CaseRef, Reason: h.Reason,
				Placed: h.PlacedAt.In(custos.TxnZone).Format(time.DateOnly), ReleaseLink: "/retention/holds/" + strconv.FormatInt(h.ID, 10) + "/release"}
			if h.ReleasedAt != nil {
				row.Released = h.ReleasedAt.In(custos.TxnZone).Format(time.DateOnly)
			}
			d.Holds = append(d.Holds, row)
		}
	}
	p.Title, p.Here, p.Data = "retention.title", "/retention", d
	s.render(w, p, status, "retention")
}

// retentionFailure renders the page again for a refusal the user can correct,
// and anything else as an error page.
func (s *server) retentionFailure(w http.ResponseWriter, r *http.Request, p *page, err error, d retentionData) {
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict && code != custos.EForbidden {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	if ce, ok := err.(*custos.Error); ok && d.ExecuteBatchID != 0 && len(ce.Fields) > 0 {
		p.Error = p.M(ce.Fields[0].Message) // the witness's sign-in, say why
	}
	if d.HoldForm.Scope == "" {
		d.HoldForm.Scope = string(custos.HoldCustomer)
	}
	s.renderRetention(w, r, p, d, statusOf(code))
}

func (s *server) placeHold(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	f := holdForm{ArchiveNo: r.PostFormValue("archive_no"), CaseRef: r.PostFormValue("case_ref"), Reason: r.PostFormValue("reason"), Scope: r.PostFormValue("scope")}
	_, err := s.app.PlaceHold(r.Context(), p.Actor, app.HoldInput{ArchiveNo: f.ArchiveNo, CaseRef: f.CaseRef, Reason: f.Reason, Scope: custos.HoldScope(f.Scope)})
	if err == nil {
		http.Redirect(w, r, "/retention", http.StatusSeeOther)
		return
	}
	if custos.ErrorCodeOf(err) == custos.ENotFound {
		err = (&custos.Validation{Fields: []custos.FieldError{{Field: "archive_no", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}).Err()
	}
	f.Errors = indexedErrors(p, err)
	s.retentionFailure(w, r, p, err, retentionData{HoldForm: f})
}

func (s *server) releaseHold(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "hid")
	if !ok {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	req, err := s.app.RequestHoldRelease(r.Context(), p.Actor, id, r.PostFormValue("reason"))
	if err != nil {
		if custos.ErrorCodeOf(err) == custos.ENotFound {
			s.notFound(w, p)
			return
		}
		s.retentionFailure(w, r, p, err, retentionData{})
		return
	}
	http.Redirect(w, r, requestLink(req.ID), http.StatusSeeOther)
}

func (s *server) createBatch(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	reason := r.PostFormValue("reason")
	_, req, err := s.app.CreateDestructionBatch(r.Context(), p.Actor, reason)
	if err != nil {
		s.retentionFailure(w, r, p, err, retentionData{BatchReason: reason, BatchErrors: indexedErrors(p, err)})
		return
	}
	http.Redirect(w, r, requestLink(req.ID), http.StatusSeeOther)
}

// executeBatch executes the batch with its witness signing in on the same
// form: the witness's own username and password (and code) (R-F3).
func (s *server) executeBatch(w http.ResponseWriter, r *http.Request, p *page) {
	id, ok := pathID(r, "bid")
	if !ok {
		s.notFound(w, p)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.retentionFailure(w, r, p, custos.Errorf(custos.EInvalid, "表单无法解析", "the form cannot be read"), retentionData{ExecuteBatchID: id})
		return
	}
	witness := app.Credentials{Username: strings.TrimSpace(r.PostFormValue("witness")), Password: r.PostFormValue("witness_password"), TOTP: strings.TrimSpace(r.PostFormValue("witness_totp"))}
	if _, err := s.app.ExecuteDestruction(r.Context(), p.Actor, id, witness); err != nil {
		if custos.ErrorCodeOf(err) == custos.ENotFound {
			s.notFound(w, p)
			return
		}
		s.retentionFailure(w, r, p, err, retentionData{ExecuteBatchID: id})
		return
	}
	http.Redirect(w, r, "/retention#batch-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *server) batchCertificate(format string) func(http.ResponseWriter, *http.Request, *page) {
	return s.certificate("bid", "destruction", format, s.app.DestructionCertificateFile)
}

// certificate serves a certificate download (format json or pdf) of the
// record whose id is the path parameter param, named <name>-<id>.<format>.
func (s *server) certificate(param, name, format string,
	file func(ctx context.Context, a custos.Actor, id int64, format string) ([]byte, error)) func(http.ResponseWriter, *http.Request, *page) {
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		id, ok := pathID(r, param)
		if !ok {
			s.notFound(w, p)
			return
		}
		b, err := file(r.Context(), p.Actor, id, format)
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		ct := "application/json"
		if format == "pdf" {
			ct = "application/pdf"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-`+strconv.FormatInt(id, 10)+`.`+format+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}
}

// retentionMessages is the catalogue of the retention pages; it joins the
// main catalogue at start-up.
var retentionMessages = map[string]struct{ zh, en string }{
	"nav.retention":                {"保存与销毁", "Retention"},
	"retention.title":              {"保存期限、法律保全与销毁", "Retention, legal holds and destruction"},
	"retention.intro":              {"关系终止后的客户仅限存储、法律和审计用途（个人信息保护法第四十七条）。到期记录须经两名审批人批准、在监销人在场时销毁；处于法律保全中的记录不会被销毁。", "After the relationship ends a customer is restricted to storage, legal and audit use (PIPL Art. 47). Due records are destroyed after two approvals, with a witness present; records under a legal hold are never destroyed."},
	"retention.due":                {"到期待销毁（预览，不做任何更改）", "Due for destruction (a dry run: nothing changes)"},
	"retention.due_summary":        {"保存政策", "Policy"},
	"retention.not_yet":            {"仍在保存期内的已终止客户", "closed customers still within their period"},
	"retention.archive_no":         {"档案编号", "Archive no."},
	"retention.end":                {"关系终止日", "Relationship ended"},
	"retention.txn_before":         {"客户存续，仅清除此日前的到期交易", "Continuing customer: only expired transactions before"},
	"retention.due_at":             {"到期日", "Due since"},
	"retention.in_batch":           {"已列入批次", "In batch"},
	"retention.none_due":           {"目前没有到期记录。", "Nothing is due."},
	"retention.held":               {"因法律保全而保留", "Kept by a legal hold"},
	"retention.batches":            {"销毁批次", "Destruction batches"},
	"retention.no_batches":         {"尚无销毁批次。", "No destruction batches."},
	"retention.batch_reason":       {"销毁事由", "Reason for the destruction"},
	"retention.create_batch":       {"生成销毁批次并提交审批", "Create the batch and file it for approval"},
	"retention.batch":              {"批次", "Batch"},
	"retention.state":              {"状态", "State"},
	"retention.created":            {"创建时间", "Created"},
	"retention.request":            {"审批申请", "Request"},
	"retention.destroyed":          {"已销毁客户", "Customers destroyed"},
	"retention.witness":            {"监销人（用户名）", "Witness (username)"},
	"retention.witness_password":   {"监销人本人输入密码", "Witness's own password"},
	"retention.witness_totp":       {"监销人动态验证码（如需）", "Witness's one-time code (if used)"},
	"retention.execute":            {"监销人在场，执行销毁", "Execute with the witness present"},
	"retention.certificate":        {"销毁证明", "Certificate"},
	"retention.batch.proposed":     {"待提交", "Proposed"},
	"retention.batch.pending":      {"待审批", "Awaiting approval"},
	"retention.batch.approved":     {"已批准", "Approved"},
	"retention.batch.executed":     {"已销毁", "Executed"},
	"retention.batch.cancelled":    {"已取消", "Cancelled"},
	"retention.holds":              {"法律保全", "Legal holds"},
	"retention.no_holds":           {"没有法律保全。", "No legal holds."},
	"retention.case_ref":           {"案件编号", "Case reference"},
	"retention.reason":             {"原因", "Reason"},
	"retention.scope":              {"范围", "Scope"},
	"retention.scope.customer":     {"整个客户", "Whole customer"},
	"retention.scope.transactions": {"交易记录", "Transactions"},
	"retention.placed":             {"设立日期", "Placed"},
	"retention.released":           {"已解除", "Released"},
	"retention.in_force":           {"生效中", "In force"},
	"retention.release_reason":     {"解除原因", "Reason for release"},
	"retention.release":            {"申请解除（需他人审批）", "Ask for release (needs another's approval)"},
	"retention.place":              {"设立法律保全", "Place a legal hold"},
	"retention.place_submit":       {"设立", "Place"},
}

func init() {
	for k, v := range retentionMessages {
		if _, dup := messages[k]; dup {
			panic("web: catalogue key defined twice: " + k)
		}
		messages[k] = v
	}
}
