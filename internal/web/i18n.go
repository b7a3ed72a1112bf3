package web

import "github.com/custos-cim/custos"

// The message catalogue: every string of the UI in Chinese (the default)
// and English. Messages of the services come as custos.Message and are
// shown as they are; names of categories, taxonomies, purposes and units
// come from the reference data in both languages.
var messages = map[string]struct{ zh, en string }{
	"app.name":            {"客户信息管理系统", "Customer Information Management"},
	"lang.switch":         {"English", "中文"},
	"footer.confidential": {"客户信息属于保密资料，仅限授权用途使用；本系统页面不在浏览器中缓存。", "Customer information is confidential and for authorised purposes only; pages of this system are not cached by the browser."},

	"nav.label":           {"主导航", "Main navigation"},
	"nav.customers":       {"客户目录", "Customers"},
	"nav.catalogue":       {"目录统计", "Catalogue summary"},
	"nav.new_person":      {"新建个人客户", "New person"},
	"nav.new_institution": {"新建机构客户", "New institution"},
	"nav.audit":           {"审计日志", "Audit trail"},

	"header.user":       {"当前用户", "Signed in as"},
	"header.purpose":    {"查询目的", "Purpose"},
	"header.no_purpose": {"未选择", "none chosen"},
	"header.change":     {"更改", "change"},
	"header.logout":     {"退出登录", "Log out"},

	"login.title":     {"登录", "Log in"},
	"login.intro":     {"请使用本人账户登录，账户不得借给他人使用。", "Log in with your own account; accounts must never be shared."},
	"login.username":  {"用户名", "Username"},
	"login.password":  {"密码", "Password"},
	"login.totp":      {"动态验证码", "One-time code"},
	"login.totp_hint": {"请输入身份验证器应用显示的 6 位数字。", "Enter the 6 digits shown by your authenticator app."},
	"login.submit":    {"登录", "Log in"},
	"login.notice":    {"多次输入错误将锁定账户；会话闲置 15 分钟后自动退出。", "Repeated failures lock the account; sessions end after 15 minutes of inactivity."},

	"mfa.title":   {"设置双因素认证", "Set up two-factor authentication"},
	"mfa.intro":   {"您的角色须使用动态验证码登录。请在身份验证器应用中添加以下密钥，然后输入应用显示的验证码完成设置。完成前无法使用其他功能。", "Your role must log in with a one-time code. Add the key below to your authenticator app, then enter the code it shows. Nothing else is available until this is done."},
	"mfa.secret":  {"密钥", "Key"},
	"mfa.url":     {"otpauth 链接", "otpauth URL"},
	"mfa.code":    {"验证码", "Code"},
	"mfa.confirm": {"确认并启用", "Confirm and enable"},
	"mfa.restart": {"重新生成密钥", "Generate a new key"},

	"purpose.title":    {"说明查询目的", "State your purpose"},
	"purpose.intro":    {"客户信息只能用于获准的目的。请选择本次会话查询客户信息的目的，所有访问都将连同目的记入审计日志。", "Customer data may only be used for the purpose it was granted for. Choose the purpose of this session; every access is audited with it."},
	"purpose.label":    {"查询目的", "Purpose of use"},
	"purpose.submit":   {"确定", "Continue"},
	"purpose.required": {"请选择查询目的", "Choose a purpose"},

	"error.title":    {"出错了", "Something went wrong"},
	"error.internal": {"内部错误，请稍后再试。", "Internal error; please try again later."},
	"error.home":     {"返回客户目录", "Back to the customers"},
	"notfound.title": {"页面或记录不存在", "Not found"},
	"notfound.text":  {"您要找的页面或记录不存在，或您无权查看。", "The page or record you asked for does not exist, or you may not see it."},

	"list.title":       {"客户目录", "Customers"},
	"list.search":      {"查询", "Search"},
	"list.reset":       {"重置", "Reset"},
	"list.sort":        {"排序", "Sort by"},
	"list.search_hint": {"证件号码、电话和统一社会信用代码须完整输入；个人客户须输入完整姓名，机构名称可部分匹配。", "ID numbers, phones and credit codes must be complete; persons are found by their full name, institutions by part of it."},
	"list.total":       {"共 %d 位客户", "%d customers"},
	"list.page_of":     {"第 %d / %d 页", "page %d of %d"},
	"list.pages":       {"分页", "Pages"},
	"list.prev":        {"上一页", "Previous"},
	"list.next":        {"下一页", "Next"},
	"list.id":          {"证件", "ID document"},
	"list.empty":       {"暂无客户。", "No customers yet."},
	"list.no_match":    {"没有符合条件的客户。", "No customer matches."},
	"filter.all":       {"全部", "All"},

	"sort.archive_no":  {"档案编号（升序）", "Archive number (ascending)"},
	"sort.-archive_no": {"档案编号（降序）", "Archive number (descending)"},
	"sort.created_at":  {"建档时间（最早）", "Created (oldest first)"},
	"sort.-created_at": {"建档时间（最新）", "Created (newest first)"},
	"sort.updated_at":  {"更新时间（最早）", "Updated (oldest first)"},
	"sort.-updated_at": {"更新时间（最新）", "Updated (newest first)"},

	"catalogue.title":       {"客户档案目录统计", "Catalogue summary"},
	"catalogue.total":       {"您可查看的客户共 %d 位", "%d customers in your scope"},
	"catalogue.by_unit":     {"按机构", "By unit"},
	"catalogue.by_category": {"按类别", "By category"},
	"catalogue.by_tier":     {"按等级", "By tier"},
	"catalogue.detail":      {"明细", "Breakdown"},
	"catalogue.count":       {"客户数", "Customers"},
	"catalogue.no_tier":     {"未分级", "No tier"},

	"type.person":      {"个人", "Person"},
	"type.institution": {"机构", "Institution"},
	"status.draft":     {"草稿", "Draft"},
	"status.effective": {"有效", "Effective"},
	"status.closed":    {"已关闭", "Closed"},

	"verification.unverified": {"身份未核实", "Identity not verified"},
	"verification.verified":   {"身份已核实", "Identity verified"},
	"verification.failed":     {"核实未通过", "Verification failed"},

	"badge.protected":           {"特别保护", "Protected"},
	"badge.protected_title":     {"高风险、大额或私人银行客户：访问范围受限，须经审批", "High-risk, large-value or private-banking customer: narrower access, approval needed"},
	"protected.high_risk":       {"高风险", "high risk"},
	"protected.private_banking": {"私人银行", "private banking"},
	"protected.manual":          {"人工设定", "set by hand"},

	"new.person":             {"新建个人客户档案", "New person archive"},
	"new.institution":        {"新建机构客户档案", "New institution archive"},
	"edit.title":             {"修改客户档案", "Edit customer archive"},
	"edit.masked_hint":       {"带 * 的内容为脱敏显示；不修改则保留原值。如需更改，请清空后重新输入完整内容。", "Values with * are masked; left as they are, the stored value is kept. To change one, clear it and type the full value."},
	"edit.conflict":          {"该档案已被他人修改。请返回客户页面查看最新内容后重新修改。", "Someone else changed this archive. Go back to the customer page, look at the current state and edit again."},
	"form.type":              {"客户类型", "Customer type"},
	"form.create":            {"建立档案", "Create archive"},
	"form.save":              {"保存", "Save"},
	"form.cancel":            {"取消", "Cancel"},
	"form.required_hint":     {"为必填项", "required"},
	"form.choose":            {"请选择", "Choose…"},
	"form.none":              {"（无）", "(none)"},
	"form.yes":               {"是", "Yes"},
	"form.no":                {"否", "No"},
	"form.long_term":         {"长期", "Long term"},
	"form.own_unit":          {"本人所在机构", "My own unit"},
	"form.general":           {"整体", "General"},
	"hint.risk_reason":       {"洗钱风险等级为高风险时必须说明理由。", "Required when the money-laundering risk is high."},
	"hint.protected":         {"设为特别保护客户（限制查看范围）", "Protect this customer (narrower access)"},
	"hint.owner":             {"填写客户经理的用户名；留空则为本人。", "The account manager's username; empty for yourself."},
	"section.identity":       {"基本信息", "Identity"},
	"section.id_document":    {"身份证件", "Identity document"},
	"section.contact":        {"联系方式与地址", "Contact and address"},
	"section.licence":        {"营业执照或证照", "Licence or certificate"},
	"section.legal_rep":      {"法定代表人", "Legal representative"},
	"section.classification": {"分类", "Classification"},
	"section.household":      {"物业户籍（楼栋、楼层、单元）", "Household (building, floor, unit)"},
	"section.custom":         {"扩展信息", "Further details"},
	"section.placement":      {"档案归属", "Ownership"},

	"sex.M": {"男", "Male"},
	"sex.F": {"女", "Female"},

	"field.name":               {"姓名/名称", "Name"},
	"field.institution_name":   {"机构名称", "Institution name"},
	"field.sex":                {"性别", "Sex"},
	"field.nationality":        {"国籍（代码）", "Nationality (code)"},
	"field.birth_date":         {"出生日期", "Date of birth"},
	"field.occupation":         {"职业", "Occupation"},
	"field.employer":           {"工作单位", "Employer"},
	"field.address":            {"住所地址", "Residential address"},
	"field.habitual_address":   {"经常居住地（与住所不一致时填写）", "Habitual residence (if different)"},
	"field.phone":              {"联系电话", "Phone"},
	"field.email":              {"电子邮箱", "Email"},
	"field.id_type":            {"证件类型", "ID document type"},
	"field.id_number":          {"证件号码", "ID number"},
	"field.id_authority":       {"发证机关", "Issuing authority"},
	"field.id_issue_date":      {"签发日期", "Issue date"},
	"field.id_expiry":          {"证件有效期至", "ID valid until"},
	"field.uscc":               {"统一社会信用代码", "Unified social credit code"},
	"field.tax_number":         {"税务登记号", "Tax registration number"},
	"field.registered_capital": {"注册资本", "Registered capital"},
	"field.business_scope":     {"经营范围", "Business scope"},
	"field.licence_name":       {"证照名称", "Licence name"},
	"field.licence_number":     {"证照号码", "Licence number"},
	"field.licence_expiry":     {"证照有效期至", "Licence valid until"},
	"field.registered_address": {"注册地址", "Registered address"},
	"field.business_address":   {"经营地址", "Business address"},
	"field.fax":                {"传真", "Fax"},
	"field.postcode":           {"邮政编码", "Postcode"},
	"field.contact_name":       {"联系人", "Contact person"},
	"field.contact_phone":      {"联系人电话", "Contact phone"},
	"field.rep_name":           {"法定代表人姓名", "Legal representative's name"},
	"field.category":           {"客户类别", "Category"},
	"field.risk_reason":        {"风险等级理由", "Reason for the risk level"},
	"field.protected":          {"特别保护", "Special protection"},
	"field.estate":             {"小区/项目", "Estate"},
	"field.building":           {"楼栋", "Building"},
	"field.floor":              {"楼层", "Floor"},
	"field.room":               {"单元/房号", "Unit"},
	"field.org":                {"所属机构", "Unit"},
	"field.owner":              {"客户经理", "Account manager"},
	"field.type":               {"客户类型", "Type"},
	"field.tier":               {"客户等级", "Tier"},
	"field.aml_risk":           {"洗钱风险", "AML risk"},
	"field.status":             {"档案状态", "Status"},
	"field.archive_no":         {"档案编号", "Archive no."},
	"field.unit":               {"所属机构", "Unit"},

	"detail.back":            {"返回目录", "Back to the list"},
	"detail.edit":            {"修改", "Edit"},
	"detail.created":         {"建档时间", "Created"},
	"detail.updated":         {"更新时间", "Updated"},
	"detail.version":         {"版本", "Version"},
	"detail.more_identity":   {"其他证件与电话", "Further documents and phones"},
	"detail.more_phones":     {"其他电话", "Further phones"},
	"detail.parties":         {"负责人、授权代理人与受益所有人", "Responsible person, agents and beneficial owners"},
	"detail.party_role":      {"身份", "Role"},
	"detail.share":           {"持股比例（%）", "Share (%)"},
	"detail.attachments":     {"附件（证件影印件、执照、报告）", "Attachments (ID scans, licences, reports)"},
	"detail.no_attachments":  {"暂无附件。", "No attachments."},
	"detail.timeline":        {"档案记录（重大变更、业务往来、经营成果）", "Archive record (changes, contacts, results)"},
	"detail.no_timeline":     {"暂无记录。", "Nothing recorded yet."},
	"detail.recorded":        {"登记于", "Recorded"},
	"party.responsible":      {"负责人", "Responsible person"},
	"party.agent":            {"授权代理人", "Authorised agent"},
	"party.beneficial_owner": {"受益所有人", "Beneficial owner"},

	"reveal.title":      {"查看完整信息", "Show full values"},
	"reveal.intro":      {"敏感信息默认脱敏显示。查看完整信息需要相应权限，并将记入审计日志；完整信息仅在本次页面中显示。", "Sensitive values are masked. Showing them needs its own permission and is audited; they are shown on this page only."},
	"reveal.submit":     {"显示完整信息", "Show"},
	"reveal.shown":      {"已完整显示", "Shown in full"},
	"reveal.audited":    {"本次查看已记入审计日志。", "This access has been audited."},
	"reveal.choose":     {"请至少选择一项要显示的信息。", "Choose at least one field to show."},
	"reveal.id_number":  {"证件号码", "ID numbers"},
	"reveal.phone":      {"电话号码", "Phones"},
	"reveal.email":      {"电子邮箱", "Email"},
	"reveal.address":    {"地址与房号", "Addresses and units"},
	"reveal.birth_date": {"出生日期", "Date of birth"},
	"reveal.custom":     {"敏感扩展信息", "Sensitive further details"},

	"checklist.title":         {"资料清单完整度", "Document checklist"},
	"checklist.required_only": {"（按必备资料计）", "(required documents)"},
	"checklist.required":      {"必备", "required"},
	"checklist.received":      {"（已收）", "(on file)"},
	"checklist.missing":       {"（缺）", "(missing)"},

	"attachment.name":      {"文件名", "File"},
	"attachment.kind":      {"类型", "Kind"},
	"attachment.checklist": {"对应清单项", "Checklist item"},
	"attachment.size":      {"大小", "Size"},
	"attachment.added":     {"上传时间", "Added"},
	"attachment.upload":    {"上传附件", "Upload an attachment"},
	"attachment.file":      {"文件", "File"},
	"attachment.submit":    {"上传", "Upload"},
	"attachment.id_scan":   {"证件影印件", "ID scan"},
	"attachment.licence":   {"营业执照", "Licence"},
	"attachment.report":    {"报告", "Report"},
	"attachment.contract":  {"合同", "Contract"},
	"attachment.voucher":   {"凭证", "Voucher"},
	"attachment.other":     {"其他", "Other"},

	"timeline.add":         {"新增记录", "Add an entry"},
	"timeline.kind":        {"类型", "Kind"},
	"timeline.date":        {"日期", "Date"},
	"timeline.period":      {"期间", "Period"},
	"timeline.title_field": {"标题", "Title"},
	"timeline.body":        {"内容", "Details"},
	"timeline.submit":      {"保存记录", "Save entry"},
	"timeline.contact":     {"业务往来", "Contact"},
	"timeline.change":      {"重大变更", "Major change"},
	"timeline.result":      {"经营成果", "Results"},
	"timeline.report":      {"财务报告", "Financial report"},
	"timeline.note":        {"备注", "Note"},

	"audit.title":       {"审计日志", "Audit trail"},
	"audit.export":      {"导出 CSV", "Export CSV"},
	"audit.actor":       {"操作人", "User"},
	"audit.customer_id": {"客户 ID", "Customer id"},
	"audit.action":      {"操作", "Action"},
	"audit.outcome":     {"结果", "Outcome"},
	"audit.from":        {"起始日期", "From"},
	"audit.to":          {"截止日期", "To"},
	"audit.hint":        {"日期按北京时间计算，截止日期含当日。客户以不可逆引用记录，按客户 ID 查询。", "Dates are in China Standard Time; the end date is included. Customers are recorded by an irreversible reference; search by customer id."},
	"audit.at":          {"时间", "Time"},
	"audit.role":        {"角色", "Role"},
	"audit.target":      {"对象", "Target"},
	"audit.reason":      {"原因", "Reason"},
	"audit.via":         {"渠道", "Via"},
	"audit.client":      {"客户端", "Client"},
	"audit.detail":      {"详情", "Detail"},
	"audit.none":        {"没有符合条件的审计记录。", "No events match."},
	"audit.older":       {"更早的记录", "Older events"},
	"outcome.ok":        {"成功", "OK"},
	"outcome.denied":    {"拒绝", "Denied"},
	"outcome.failed":    {"失败", "Failed"},
}

// translate looks a key up; a missing key shows as itself (a test keeps
// the catalogue complete).
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == "en" {
		return m.en
	}
	return m.zh
}

func hasKey(key string) bool { _, ok := messages[key]; return ok }

func otherLang(lang string) string {
	if lang == "en" {
		return "zh"
	}
	return "en"
}

// PageTitle is the title in the page's language: a catalogue key, or a
// literal such as a customer's name.
func (p *page) PageTitle() string {
	if hasKey(p.Title) {
		return p.T(p.Title)
	}
	return p.Title
}

// TOther translates into the other language, for bilingual error pages.
func (p *page) TOther(key string) string { return translate(otherLang(p.Lang), key) }

// MOther is a message in the other language.
func (p *page) MOther(m custos.Message) string { return m.In(otherLang(p.Lang)) }

// OtherHTMLLang is the lang attribute of text in the other language.
func (p *page) OtherHTMLLang() string {
	if p.Lang == "en" {
		return "zh-CN"
	}
	return "en"
}
