package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// The governance requests of the separation of duties (三员分立) and the
// closure of a relationship, as the request pages show them: who would get
// which role, which approval rule or retention policy would take effect,
// which end date a closure records. The page only shows them; the service
// decides who may approve.

type closureView struct{ End, Reason string }

type accountView struct {
	Username, DisplayName, Org, FromRole, Role string
	New                                        bool
}

type ruleView struct {
	Kind, Roles, Scope, Was string
	Required                int
}

type policyView struct {
	Preset string
	Rules  []string
}

func roleName(p *page, r custos.Role) string {
	if !r.Valid() {
		return string(r)
	}
	return p.M(r.Label())
}

func rolesText(p *page, rs []custos.Role) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = roleName(p, r)
	}
	return strings.Join(out, "、")
}

func ruleText(p *page, r custos.ApprovalRule) string {
	return fmt.Sprintf(p.T("gov.rule_text"), rolesText(p, r.Roles), translateOr(p, "gov.scope_"+string(r.Scope), string(r.Scope)), r.Required)
}

// governanceViews fills the request page's sections of the new kinds.
func (s *server) governanceViews(p *page, v *app.RequestView, d *requestData, orgName func(int64) string) {
	if c := v.Closure; c != nil {
		d.Closure = &closureView{End: c.RelationshipEnd, Reason: c.Reason}
	}
	if a := v.Account; a != nil {
		d.Account = &accountView{Username: a.Username, DisplayName: a.DisplayName, Org: orgName(a.OrgID), FromRole: roleName(p, a.FromRole),
			Role: roleName(p, a.Role), New: a.UserID == 0}
	}
	if r := v.Rule; r != nil {
		d.Rule = &ruleView{Kind: kindLabel(p, r.Rule.Kind), Roles: rolesText(p, r.Rule.Roles), Scope: translateOr(p, "gov.scope_"+string(r.Rule.Scope), string(r.Rule.Scope)),
			Required: r.Rule.Required}
		if r.Was != nil {
			d.Rule.Was = ruleText(p, *r.Was)
		}
	}
	if pol := v.Policy; pol != nil {
		d.Policy = &policyView{Preset: translateOr(p, "gov.preset_"+pol.Preset, pol.Preset)}
		for _, r := range pol.Rules {
			d.Policy.Rules = append(d.Policy.Rules, fmt.Sprintf(p.T("gov.policy_rule"), translateOr(p, "gov.record_"+string(r.Type), string(r.Type)), r.Years))
		}
	}
}

// governanceSummary renders the summaries the services write for the new
// kinds ("create · user · role", "role · user · from → to", a kind, a preset).
func governanceSummary(p *page, r *custos.Request) (string, bool) {
	switch r.Kind {
	case custos.KindPrivilege:
		parts := strings.Split(r.Summary, " · ")
		if len(parts) != 3 {
			return r.Summary, true
		}
		if parts[0] == "create" {
			return fmt.Sprintf(p.T("gov.summary_create"), parts[1], roleName(p, custos.Role(parts[2]))), true
		}
		from, to, _ := strings.Cut(parts[2], " → ")
		return fmt.Sprintf(p.T("gov.summary_role"), parts[1], roleName(p, custos.Role(from)), roleName(p, custos.Role(to))), true
	case custos.KindRuleChange:
		return kindLabel(p, custos.RequestKind(r.Summary)), true
	case custos.KindRetentionPolicy:
		return translateOr(p, "gov.preset_"+r.Summary, r.Summary), true
	}
	return "", false
}

// governanceReasons are the reasons the services write themselves.
var governanceReasons = map[string]string{
	"new account":          "gov.reason_new_account",
	"approval rule":        "gov.reason_approval_rule",
	"retention policy":     "gov.reason_retention_policy",
	"relationship closure": "gov.reason_closure",
}

type closeForm struct {
	ArchiveNo, End, Reason string
	Errors                 map[string]string
}

// closeRelationship files the closure of a relationship (R-F1): the
// service checks the end date and a second person approves it on the
// request page this redirects to.
func (s *server) closeRelationship(w http.ResponseWriter, r *http.Request, p *page) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, p, custos.Errorf(custos.EInvalid, "表单无效", "invalid form"))
		return
	}
	f := closeForm{ArchiveNo: strings.TrimSpace(r.PostFormValue("archive_no")), End: r.PostFormValue("relationship_end"), Reason: r.PostFormValue("reason")}
	req, err := s.app.CloseRelationship(r.Context(), p.Actor, "", app.CloseInput{ArchiveNo: f.ArchiveNo, RelationshipEnd: f.End, Reason: f.Reason})
	if err == nil {
		http.Redirect(w, r, requestLink(req.ID)+"?done=filed", http.StatusSeeOther)
		return
	}
	if custos.ErrorCodeOf(err) == custos.ENotFound {
		err = (&custos.Validation{Fields: []custos.FieldError{{Field: "archive_no", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}).Err()
	}
	f.Errors = indexedErrors(p, err)
	s.retentionFailure(w, r, p, err, retentionData{CloseForm: f})
}

var dutiesMessages = map[string]struct{ zh, en string }{
	"gov.close_title":  {"终止客户关系", "End a customer relationship"},
	"gov.close_hint":   {"提交后须由他人审批；终止日期不得晚于今天、不得早于客户最后一次业务活动，最多追溯数天（默认 7 天）。", "Filed for another person's approval; the end date cannot be in the future, before the customer's last business activity, or more than a few days back (7 by default)."},
	"gov.close_submit": {"提交终止申请", "File the closure"},

	"kind.closure":            {"客户关系终止", "Relationship closure"},
	"kind.privileged_account": {"特权账户", "Privileged account"},
	"kind.approval_rule":      {"审批规则变更", "Approval rule change"},
	"kind.retention_policy":   {"保存期限政策变更", "Retention policy change"},

	"gov.reason_new_account":      {"新建特权账户", "a new privileged account"},
	"gov.reason_approval_rule":    {"变更审批规则", "a change of an approval rule"},
	"gov.reason_retention_policy": {"变更保存期限政策", "a change of the retention policy"},
	"gov.reason_closure":          {"终止客户关系", "the end of a customer relationship"},

	"gov.summary_create": {"新建账户 %s（%s）", "new account %s (%s)"},
	"gov.summary_role":   {"%s：%s → %s", "%s: %s → %s"},

	"gov.closure_title": {"终止客户关系", "Closing the relationship"},
	"gov.closure_end":   {"关系终止日期", "Relationship ended"},
	"gov.closure_hint":  {"批准后档案即受限，只能用于保管、法律和审计；保存期限自终止日期起算。", "Once approved the archive is restricted to storage, legal and audit use; the retention period counts from the end date."},
	"gov.reason":        {"原因", "Reason"},

	"gov.account_title":      {"特权账户", "Privileged account"},
	"gov.account_hint":       {"特权账户须经第二位有权限的人员批准后才生效（三员分立）。", "A privileged account takes effect only once a second authorised person approves it (separation of duties)."},
	"gov.username":           {"用户名", "Username"},
	"gov.display_name":       {"姓名", "Name"},
	"gov.org":                {"机构", "Unit"},
	"gov.from_role":          {"原角色", "Current role"},
	"gov.role":               {"角色", "Role"},
	"gov.account_new":        {"新建账户", "New account"},
	"gov.rule_title":         {"审批规则", "Approval rule"},
	"gov.rule_kind":          {"申请类型", "Kind"},
	"gov.rule_roles":         {"审批角色", "Approver roles"},
	"gov.rule_scope":         {"审批范围", "Scope"},
	"gov.rule_required":      {"需批准人数", "Approvals needed"},
	"gov.rule_was":           {"现行规则", "Rule in force"},
	"gov.rule_text":          {"%s · %s · %d 人", "%s · %s · %d"},
	"gov.scope_unit":         {"本机构及上级机构", "the request's unit and above"},
	"gov.scope_any":          {"全行", "anywhere"},
	"gov.policy_title":       {"保存期限政策", "Retention policy"},
	"gov.policy_preset":      {"依据", "Preset"},
	"gov.policy_rule":        {"%s：%d 年", "%s: %d years"},
	"gov.preset_pboc_2007":   {"人民银行 2007 年第 2 号令（5 年）", "PBOC 2007 Order No. 2 (5 years)"},
	"gov.preset_aml_2024":    {"反洗钱法 2024（10 年）", "AML Law 2024 (10 years)"},
	"gov.record_identity":    {"客户身份资料", "Identity data"},
	"gov.record_archive":     {"客户档案", "Archive"},
	"gov.record_transaction": {"交易记录", "Transaction records"},
	"gov.record_attachment":  {"附件", "Attachments"},
	"gov.record_audit_event": {"审计记录", "Audit events"},
}

func init() {
	for k, v := range dutiesMessages {
		if _, dup := messages[k]; dup {
			panic("web: catalogue key defined twice: " + k)
		}
		messages[k] = v
	}
}
