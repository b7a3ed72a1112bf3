package web

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Encrypted exports and the confidentiality-agreement registry (R-C7,
// R-C8, R-E5). An export is generated on one page and its password shown
// once on a screen of its own, which nothing links back to: reloading
// cannot show it again, and the file is downloaded separately. Exports to
// an outside party name an agreement and wait for approval.

// exportRoutes adds the pages of exports and agreements.
func (s *server) exportRoutes(mux *http.ServeMux) {
	mux.Handle("GET /exports", s.authed(s.exportsPage))
	mux.Handle("POST /exports", s.authed(s.createExport))
	mux.Handle("POST /exports/{eid}/generate", s.authed(s.generateExport))
	mux.Handle("GET /exports/{eid}/file", s.authed(s.exportFile))
	mux.Handle("GET /agreements", s.authed(s.agreementsPage))
	mux.Handle("POST /agreements", s.authed(s.createAgreement))
	mux.Handle("POST /agreements/{agid}/revoke", s.authed(s.revokeAgreement))
}

type exportRow struct {
	ID                                            int64
	Kind, Recipient, Party, ArchiveNo, State      string
	StateClass, Requested, SHA256, Rows, Expires  string
	RequestLink, FileLink, GenerateLink, Reason   string
	Mine, CanDownload, CanGenerate, AwaitApproval bool
}

type exportForm struct {
	Kind, Recipient, Agreement, ArchiveNo, From, To, Reason string
	Reveal                                                  bool
	KindOptions, RecipientOptions, AgreementOptions         []option
	Errors                                                  map[string]string
}

type exportsData struct {
	Rows        []exportRow
	Form        exportForm
	CanExport   bool
	CanExternal bool
}

type passwordData struct {
	ID                       int64
	Password, SHA256, Size   string
	FileLink, FileName, Rows string
	External                 bool
	Party, Expires           string
}

func exportLink(id int64) string { return "/exports/" + strconv.FormatInt(id, 10) }

func rowsText(rows map[string]int) string {
	var parts []string
	for _, name := range []string{"customers.csv", "transactions.csv", "profile.json", "attachments.csv", "audit.csv"} {
		if n, ok := rows[name]; ok {
			parts = append(parts, name+" "+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, " · ")
}

func (s *server) exportsPage(w http.ResponseWriter, r *http.Request, p *page) {
	s.renderExports(w, r, p, exportForm{Kind: string(custos.ExportCustomers), Recipient: string(custos.RecipientInternal)}, http.StatusOK)
}

func (s *server) renderExports(w http.ResponseWriter, r *http.Request, p *page, f exportForm, status int) {
	ctx := r.Context()
	list, err := s.app.Exports(ctx, p.Actor)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	d := exportsData{CanExport: p.Can(string(custos.ActCustomerExport)), CanExternal: p.Can(string(custos.ActExportExternal))}
	now := s.app.Clock().Now()
	for _, e := range list {
		row := exportRow{ID: e.ID, Kind: p.T("export.kind." + string(e.Kind)), Recipient: p.T("export.recipient." + string(e.Recipient)), Party: e.Party,
			ArchiveNo: e.ArchiveNo, State: p.T("export.state." + string(e.State)), StateClass: string(e.State), Reason: e.Reason,
			Requested: e.RequestedAt.In(custos.TxnZone).Format("2006-01-02 15:04"), SHA256: e.SHA256, Rows: rowsText(e.Rows),
			Mine: e.RequestedBy == p.Actor.UserID}
		if e.RequestID != 0 {
			row.RequestLink = requestLink(e.RequestID)
		}
		if e.FileExpiresAt != nil && e.State == custos.ExportReady {
			row.Expires = e.FileExpiresAt.In(custos.TxnZone).Format("2006-01-02 15:04")
		}
		row.CanDownload = e.MayDownload(p.Actor, now) == nil
		row.CanGenerate = e.MayGenerate(p.Actor) == nil
		row.FileLink, row.GenerateLink = exportLink(e.ID)+"/file", exportLink(e.ID)+"/generate"
		d.Rows = append(d.Rows, row)
	}
	for _, k := range custos.ExportKinds {
		f.KindOptions = append(f.KindOptions, option{Value: string(k), Label: p.T("export.kind." + string(k))})
	}
	f.KindOptions = selectOptions(f.Kind, f.KindOptions)
	f.RecipientOptions = selectOptions(f.Recipient, []option{{Value: string(custos.RecipientInternal), Label: p.T("export.recipient.internal")},
		{Value: string(custos.RecipientExternal), Label: p.T("export.recipient.external")}})
	if d.CanExternal {
		ags, err := s.app.Agreements(ctx, p.Actor, true)
		if err != nil {
			s.fail(w, r, p, err)
			return
		}
		f.AgreementOptions = []option{{Value: "", Label: p.T("form.choose")}}
		for _, a := range ags {
			f.AgreementOptions = append(f.AgreementOptions, option{Value: strconv.FormatInt(a.ID, 10), Label: a.Reference + " · " + a.Party})
		}
		f.AgreementOptions = selectOptions(f.Agreement, f.AgreementOptions)
	}
	d.Form = f
	p.Title, p.Here, p.Data = "export.title", "/exports", d
	s.render(w, p, status, "exports")
}

func (s *server) createExport(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	f := exportForm{Kind: r.PostFormValue("kind"), Recipient: r.PostFormValue("recipient"), Agreement: r.PostFormValue("agreement_id"),
		ArchiveNo: strings.TrimSpace(r.PostFormValue("archive_no")), From: r.PostFormValue("from"), To: r.PostFormValue("to"),
		Reason: strings.TrimSpace(r.PostFormValue("reason")), Reveal: r.PostFormValue("reveal") != ""}
	spec := custos.ExportSpec{Kind: custos.ExportKind(f.Kind), Recipient: custos.ExportRecipient(f.Recipient), ArchiveNo: f.ArchiveNo,
		From: f.From, To: f.To, Reveal: f.Reveal, Reason: f.Reason}
	if f.Recipient == string(custos.RecipientExternal) {
		spec.AgreementID, _ = strconv.ParseInt(f.Agreement, 10, 64)
	}
	res, err := s.app.CreateExport(r.Context(), p.Actor, spec)
	if err != nil {
		s.exportRefused(w, r, p, f, err)
		return
	}
	if res.Password == "" {
		http.Redirect(w, r, requestLink(res.Request.ID), http.StatusSeeOther)
		return
	}
	s.showPassword(w, p, res)
}

// exportRefused shows the form again with the reason, or the error page
// for what the form cannot fix (a hidden customer is "not found").
func (s *server) exportRefused(w http.ResponseWriter, r *http.Request, p *page, f exportForm, err error) {
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict && code != custos.EForbidden {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	f.Errors = indexedErrors(p, err)
	s.renderExports(w, r, p, f, statusOf(code))
}

func (s *server) generateExport(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("eid"), 10, 64)
	if err != nil {
		s.notFound(w, p)
		return
	}
	res, err := s.app.GenerateExport(r.Context(), p.Actor, id)
	if err != nil {
		s.exportRefused(w, r, p, exportForm{Kind: string(custos.ExportCustomers), Recipient: string(custos.RecipientInternal)}, err)
		return
	}
	s.showPassword(w, p, res)
}

// showPassword is the one screen that shows an export's password. It is
// the answer to the POST that generated the file, never a page of its own.
func (s *server) showPassword(w http.ResponseWriter, p *page, res *app.ExportResult) {
	e := res.Export
	d := passwordData{ID: e.ID, Password: res.Password, SHA256: e.SHA256, Size: strconv.FormatInt(e.Size, 10), FileLink: exportLink(e.ID) + "/file",
		FileName: exportFileName(e), Rows: rowsText(e.Rows), External: e.Recipient == custos.RecipientExternal, Party: e.Party}
	if e.FileExpiresAt != nil {
		d.Expires = e.FileExpiresAt.In(custos.TxnZone).Format(time.DateTime)
	}
	p.Title, p.Here, p.Data = "export.password_title", "/exports", d
	s.render(w, p, http.StatusCreated, "export_password")
}

func exportFileName(e *custos.Export) string {
	return "custos-export-" + strconv.FormatInt(e.ID, 10) + "-" + string(e.Kind) + ".zip.age"
}

func (s *server) exportFile(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("eid"), 10, 64)
	if err != nil {
		s.notFound(w, p)
		return
	}
	e, content, err := s.app.ExportFile(r.Context(), p.Actor, id)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": exportFileName(e)}))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Write(content)
}

type agreementRow struct {
	ID                                                int64
	Reference, Party, Scope, Valid, SignedBy, Revoked string
	RevokeLink                                        string
	Active                                            bool
}

type agreementForm struct {
	Party, Reference, ValidFrom, ValidTo, SignedBy string
	Scope                                          map[string]bool
	Kinds                                          []option
	Errors                                         map[string]string
}

type agreementsData struct {
	Rows      []agreementRow
	Form      agreementForm
	CanManage bool
}

func (s *server) agreementsPage(w http.ResponseWriter, r *http.Request, p *page) {
	s.renderAgreements(w, r, p, agreementForm{}, http.StatusOK)
}

func (s *server) renderAgreements(w http.ResponseWriter, r *http.Request, p *page, f agreementForm, status int) {
	list, err := s.app.Agreements(r.Context(), p.Actor, false)
	if err != nil {
		s.fail(w, r, p, err)
		return
	}
	day := custos.AgreementDay(s.app.Clock().Now())
	d := agreementsData{CanManage: p.Can(string(custos.ActAgreementManage))}
	for _, a := range list {
		var kinds []string
		for _, k := range a.Scope {
			kinds = append(kinds, p.T("export.kind."+string(k)))
		}
		row := agreementRow{ID: a.ID, Reference: a.Reference, Party: a.Party, Scope: strings.Join(kinds, "、"), Valid: a.ValidFrom + " – " + a.ValidTo,
			SignedBy: a.SignedBy, Active: a.ActiveOn(day), RevokeLink: "/agreements/" + strconv.FormatInt(a.ID, 10) + "/revoke"}
		if a.RevokedAt != nil {
			row.Revoked = a.RevokedAt.In(custos.TxnZone).Format(time.DateOnly) + " " + a.RevokeReason
		}
		d.Rows = append(d.Rows, row)
	}
	for _, k := range custos.ExportKinds {
		f.Kinds = append(f.Kinds, option{Value: string(k), Label: p.T("export.kind." + string(k)), Selected: f.Scope[string(k)]})
	}
	d.Form = f
	p.Title, p.Here, p.Data = "agreement.title", "/agreements", d
	s.render(w, p, status, "agreements")
}

func (s *server) createAgreement(w http.ResponseWriter, r *http.Request, p *page) {
	r.ParseForm()
	f := agreementForm{Party: r.PostFormValue("party"), Reference: r.PostFormValue("reference"), ValidFrom: r.PostFormValue("valid_from"),
		ValidTo: r.PostFormValue("valid_to"), SignedBy: r.PostFormValue("signed_by"), Scope: map[string]bool{}}
	var scope []custos.ExportKind
	for _, k := range r.PostForm["scope"] {
		scope = append(scope, custos.ExportKind(k))
		f.Scope[k] = true
	}
	_, err := s.app.CreateAgreement(r.Context(), p.Actor, custos.Agreement{Party: f.Party, Reference: f.Reference, Scope: scope,
		ValidFrom: f.ValidFrom, ValidTo: f.ValidTo, SignedBy: f.SignedBy})
	if err == nil {
		http.Redirect(w, r, "/agreements", http.StatusSeeOther)
		return
	}
	code := custos.ErrorCodeOf(err)
	if code != custos.EInvalid && code != custos.EConflict {
		s.fail(w, r, p, err)
		return
	}
	p.Error = p.M(custos.ErrorMessageOf(err))
	f.Errors = indexedErrors(p, err)
	s.renderAgreements(w, r, p, f, statusOf(code))
}

func (s *server) revokeAgreement(w http.ResponseWriter, r *http.Request, p *page) {
	id, err := strconv.ParseInt(r.PathValue("agid"), 10, 64)
	if err != nil {
		s.notFound(w, p)
		return
	}
	r.ParseForm()
	if _, err := s.app.RevokeAgreement(r.Context(), p.Actor, id, r.PostFormValue("reason")); err != nil {
		code := custos.ErrorCodeOf(err)
		if code != custos.EInvalid && code != custos.EConflict {
			s.fail(w, r, p, err)
			return
		}
		p.Error = p.M(custos.ErrorMessageOf(err))
		s.renderAgreements(w, r, p, agreementForm{}, statusOf(code))
		return
	}
	http.Redirect(w, r, "/agreements", http.StatusSeeOther)
}

// exportMessages is the catalogue of the export and agreement pages; it
// joins the main catalogue at start-up.
var exportMessages = map[string]struct{ zh, en string }{
	"nav.exports":    {"数据导出", "Exports"},
	"nav.agreements": {"保密协议", "Agreements"},

	"export.title":        {"加密导出", "Encrypted exports"},
	"export.intro":        {"导出文件为加密压缩包（age 加密的 ZIP），密码只在生成后显示一次，须与文件分开传递。对外提供数据须有有效的保密协议并经审批。每次导出和下载都记入审计日志。", "Exports are encrypted archives (a ZIP encrypted with age). The password is shown once, right after generation, and must travel apart from the file. Data for an outside party needs a confidentiality agreement in force and approval. Every export and download is audited."},
	"export.new":          {"新建导出", "New export"},
	"export.kind":         {"导出内容", "Content"},
	"export.recipient":    {"接收方", "Recipient"},
	"export.agreement":    {"保密协议", "Agreement"},
	"export.archive":      {"客户档案号", "Archive number"},
	"export.archive_hint": {"调查材料包必填；交易记录可选（不填则为您可查看的全部交易）。", "Required for an investigation package; optional for transactions (empty: all you may read)."},
	"export.from":         {"起始日期", "From"},
	"export.to":           {"截止日期（含）", "To (inclusive)"},
	"export.reveal":       {"在有权限时显示完整身份信息（否则脱敏）", "Identity data in full where I may reveal it (masked otherwise)"},
	"export.reason":       {"导出事由", "Reason"},
	"export.submit":       {"生成加密文件", "Generate encrypted file"},
	"export.list":         {"导出记录", "Export register"},
	"export.none":         {"还没有导出记录。", "No exports yet."},
	"export.state":        {"状态", "State"},
	"export.requested":    {"申请时间", "Requested"},
	"export.rows":         {"行数", "Rows"},
	"export.download":     {"下载加密文件", "Download encrypted file"},
	"export.generate":     {"生成文件并显示密码", "Generate file and show password"},
	"export.request":      {"审批申请", "Approval request"},
	"export.kept_until":   {"保留至", "Kept until"},
	"export.cannot":       {"您的角色不能导出客户数据。", "Your role cannot export customer data."},

	"export.kind.customers":     {"客户名单", "Customer list"},
	"export.kind.transactions":  {"交易记录", "Transactions"},
	"export.kind.investigation": {"调查材料包（单一客户）", "Investigation package (one customer)"},
	"export.recipient.internal": {"本行内部使用", "Internal use"},
	"export.recipient.external": {"外部机构（须保密协议及审批）", "Outside party (agreement and approval)"},

	"export.state.awaiting_approval": {"待审批", "Awaiting approval"},
	"export.state.approved":          {"已批准，待生成", "Approved, to generate"},
	"export.state.ready":             {"可下载", "Ready"},
	"export.state.purged":            {"文件已删除", "File deleted"},
	"export.state.refused":           {"未获批准", "Not approved"},

	"export.password_title": {"导出密码（仅显示一次）", "Export password (shown once)"},
	"export.password_intro": {"请立即记下此密码。它不会被保存，也不会再次显示；关闭或刷新本页后将无法找回。请通过与文件不同的渠道（如电话、短信）告知接收方，切勿与文件一起发送。", "Write this password down now. It is not stored and will not be shown again; once you leave or reload this page it is gone. Give it to the recipient through another channel than the file (telephone, text message), never together with the file."},
	"export.password":       {"密码", "Password"},
	"export.sha256":         {"文件 SHA-256", "File SHA-256"},
	"export.size":           {"文件大小（字节）", "File size (bytes)"},
	"export.open_hint":      {"打开方法：age -d -o export.zip 文件名.zip.age，输入密码后用任意解压工具打开 export.zip。", "To open: age -d -o export.zip FILE.zip.age, enter the password, then unzip export.zip with any tool."},
	"export.back":           {"返回导出记录", "Back to the export register"},

	"agreement.title":         {"保密协议登记", "Confidentiality agreements"},
	"agreement.intro":         {"向外部机构提供客户数据前，须登记与该机构签署的保密协议：协议范围须覆盖所提供的数据类型，且在有效期内。", "Before customer data goes to an outside party, the confidentiality agreement signed with it is registered here: its scope must cover the kind of data, and it must be in force."},
	"agreement.new":           {"登记协议", "Register an agreement"},
	"agreement.party":         {"对方机构", "Party"},
	"agreement.reference":     {"协议编号", "Reference"},
	"agreement.scope":         {"适用范围", "Scope"},
	"agreement.valid_from":    {"生效日期", "Valid from"},
	"agreement.valid_to":      {"到期日期（含）", "Valid to (inclusive)"},
	"agreement.valid":         {"有效期", "Validity"},
	"agreement.signed_by":     {"签署人", "Signed by"},
	"agreement.revoked":       {"已撤销", "Revoked"},
	"agreement.active":        {"有效", "In force"},
	"agreement.inactive":      {"不在有效期内", "Not in force"},
	"agreement.revoke":        {"撤销", "Revoke"},
	"agreement.revoke_reason": {"撤销原因", "Reason for revoking"},
	"agreement.submit":        {"登记", "Register"},
	"agreement.none":          {"尚未登记保密协议。", "No agreements registered."},
}

func init() {
	for k, v := range exportMessages {
		if _, dup := messages[k]; dup {
			panic("web: catalogue key defined twice: " + k)
		}
		messages[k] = v
	}
}
