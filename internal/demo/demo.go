// Package demo loads the demonstration data set of `custos serve --demo`
// into an empty store: an organisation tree of a small bank, one member of
// staff per role, custom fields, and about two hundred invented customers
// with valid synthetic identity numbers, classifications, households and
// archive timelines. The data set is deterministic (a fixed random seed);
// only ids, archive numbers and timestamps depend on when it is loaded.
//
// Every customer, identity number, phone number and address is invented;
// none is a real person's or company's, although a generated number may by
// chance coincide with a real one (see idcard's generators).
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Password is the password of every demo user. It satisfies the password
// policy and is printed, with the usernames, when the data set is loaded.
// Demo installations are for trying Custos out, never for real data.
const Password = "Custos-Demo-2026!"

// ErrNotEmpty is returned when the store already holds an organisation:
// demo data is only ever loaded into a fresh store.
var ErrNotEmpty = custos.Errorf(custos.EConflict, "数据库不为空：演示数据只能装入空库", "the store is not empty: demo data loads only into an empty store")

// DemoUser is one member of staff of the data set.
type DemoUser struct {
	Username string      `json:"username"`
	Name     string      `json:"name"` // display name
	Role     custos.Role `json:"role"`
	Org      string      `json:"org"` // unit code
	Password string      `json:"password"`
}

// Result is what Seed created.
type Result struct {
	Users     []DemoUser `json:"users"`
	Customers int        `json:"customers"`
	Drafts    int        `json:"drafts"` // customers left awaiting onboarding approval
	// Transactions recorded for the onboarded customers (R-E1).
	Transactions int `json:"transactions"`
	// Portal lists the customers who can sign in to the self-service portal (R-B5).
	Portal []PortalCustomer `json:"portal"`
}

// The organisation tree (R-L2), parents first.
var orgs = []struct {
	code, name, nameEN, parent string
	kind                       custos.OrgKind
}{
	{"HQ", "总行", "Head Office", "", custos.HeadOffice},
	{"BJ", "北京分行", "Beijing Branch", "HQ", custos.Branch},
	{"BJ01", "北京朝阳支行", "Beijing Chaoyang Sub-branch", "BJ", custos.SubBranch},
	{"BJ02", "北京海淀支行", "Beijing Haidian Sub-branch", "BJ", custos.SubBranch},
	{"SH", "上海分行", "Shanghai Branch", "HQ", custos.Branch},
	{"SH01", "上海浦东支行", "Shanghai Pudong Sub-branch", "SH", custos.SubBranch},
	{"HQCO", "合规部", "Compliance Department", "HQ", custos.Department},
}

// The staff: one account per person (R-C4), at least one per role.
var users = []struct {
	username, name string
	role           custos.Role
	org            string
}{
	{"admin", "孙立新", custos.RoleAdmin, "HQ"},
	{"gm", "陈国华", custos.RoleGeneralManager, "HQ"},
	{"mgr_bj", "王建军", custos.RoleManager, "BJ"},
	{"mgr_sh", "李慧敏", custos.RoleManager, "SH"},
	{"am_zhang", "张伟", custos.RoleAccountManager, "BJ01"},
	{"am_wang", "王芳", custos.RoleAccountManager, "BJ01"},
	{"am_li", "李娜", custos.RoleAccountManager, "BJ02"},
	{"am_chen", "陈杰", custos.RoleAccountManager, "SH01"},
	{"am_zhou", "周婷", custos.RoleAccountManager, "SH01"},
	{"butler_liu", "刘洋", custos.RoleButler, "BJ01"},
	{"inspector", "吴静", custos.RoleInspector, "BJ"},
	{"inspector_sh", "孔洁", custos.RoleInspector, "SH"},
	{"compliance", "郑晓明", custos.RoleCompliance, "HQCO"},
	{"auditor", "黄磊", custos.RoleAuditor, "HQ"},
	{"custodian", "赵丽", custos.RoleCustodian, "HQ"},
	{"secadmin", "钱安", custos.RoleSecurityAdmin, "HQ"},
}

// Custom fields per category (R-A7).
var fieldDefs = []custos.CustomFieldDef{
	{Category: "retail", Key: "family_situation", LabelZH: "家庭情况", LabelEN: "Family situation", Type: custos.FieldText, Sensitive: true, Sort: 1},
	{Category: "retail", Key: "annual_income", LabelZH: "年收入（元）", LabelEN: "Annual income (CNY)", Type: custos.FieldNumber, Sort: 2},
	{Category: "retail", Key: "interests", LabelZH: "兴趣爱好", LabelEN: "Interests", Type: custos.FieldText, Sort: 3},
	{Category: "private_banking", Key: "family_situation", LabelZH: "家庭情况", LabelEN: "Family situation", Type: custos.FieldText, Sensitive: true, Sort: 1},
	{Category: "private_banking", Key: "annual_income", LabelZH: "年收入（元）", LabelEN: "Annual income (CNY)", Type: custos.FieldNumber, Sensitive: true, Sort: 2},
	{Category: "private_banking", Key: "risk_preference", LabelZH: "风险偏好", LabelEN: "Risk preference", Type: custos.FieldChoice, Choices: riskPreferences, Sort: 3},
	{Category: "private_banking", Key: "aum", LabelZH: "管理资产（万元）", LabelEN: "Assets under management (10k CNY)", Type: custos.FieldNumber, Sensitive: true, Sort: 4},
	{Category: "corporate", Key: "competitors", LabelZH: "主要竞争对手", LabelEN: "Main competitors", Type: custos.FieldText, Sort: 1},
	{Category: "corporate", Key: "market_position", LabelZH: "市场地位", LabelEN: "Market position", Type: custos.FieldChoice, Choices: marketPositions, Sort: 2},
	{Category: "corporate", Key: "annual_revenue", LabelZH: "年营业收入（万元）", LabelEN: "Annual revenue (10k CNY)", Type: custos.FieldNumber, Sort: 3},
	{Category: "corporate", Key: "employees", LabelZH: "员工人数", LabelEN: "Employees", Type: custos.FieldNumber, Sort: 4},
	{Category: "property_owner", Key: "parking_space", LabelZH: "车位号", LabelEN: "Parking space", Type: custos.FieldText, Sort: 1},
	{Category: "property_owner", Key: "has_pet", LabelZH: "饲养宠物", LabelEN: "Keeps pets", Type: custos.FieldBool, Sort: 2},
}

// Seed loads the data set into an empty store and prints the demo users and
// their password to out. It acts as the system actor "demo" for everything
// the system may do; the timeline entries are recorded by each customer's
// owner, because only staff may change an archive (R-A11).
//
// If any organisation exists it returns ErrNotEmpty and changes nothing. A
// failure part-way leaves what was created so far; start again from a fresh
// store.
func Seed(ctx context.Context, a *app.App, out io.Writer) (*Result, error) {
	existing, err := a.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, ErrNotEmpty
	}
	sys := custos.SystemActor("demo")

	ids := map[string]int64{}
	for _, o := range orgs {
		org := &custos.Org{Code: o.code, Name: o.name, NameEN: o.nameEN, Kind: o.kind, ParentID: ids[o.parent]}
		if err := a.CreateOrg(ctx, sys, org); err != nil {
			return nil, fmt.Errorf("demo: create unit %s: %w", o.code, err)
		}
		ids[o.code] = org.ID
	}

	res := &Result{}
	for _, u := range users {
		if _, _, err := a.CreateUser(ctx, sys, app.NewUser{Username: u.username, DisplayName: u.name, Org: u.org, Role: u.role, Password: Password}); err != nil {
			return nil, fmt.Errorf("demo: create user %s: %w", u.username, err)
		}
		res.Users = append(res.Users, DemoUser{Username: u.username, Name: u.name, Role: u.role, Org: u.org, Password: Password})
	}

	for i := range fieldDefs {
		d := fieldDefs[i]
		if err := a.PutCustomFieldDef(ctx, sys, &d); err != nil {
			return nil, fmt.Errorf("demo: define custom field %s.%s: %w", d.Category, d.Key, err)
		}
	}

	staff := map[string]custos.Actor{}
	actorOf := func(username string) (custos.Actor, error) {
		if act, ok := staff[username]; ok {
			return act, nil
		}
		u, org, err := a.UserByName(ctx, username)
		if err != nil {
			return custos.Actor{}, err
		}
		act := app.ActorFor(u, org, "job", "", "demo-seed", "service")
		staff[username] = act
		return act, nil
	}

	// The butler looks after the estate's buildings (R-C1).
	b, err := actorOf(butler)
	if err != nil {
		return nil, fmt.Errorf("demo: load %s: %w", butler, err)
	}
	for _, bldg := range estateBuildings {
		if _, err := a.AddPortfolio(ctx, sys, custos.PortfolioEntry{UserID: b.UserID, Building: custos.BuildingKey(estateName, bldg)}); err != nil {
			return nil, fmt.Errorf("demo: assign building %s: %w", bldg, err)
		}
	}

	var onboarded []*custos.Customer
	for i, p := range plan() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := a.CreateCustomer(ctx, sys, p.in)
		if err != nil {
			return nil, fmt.Errorf("demo: create customer #%d (%s, %s): %w", i, p.in.Type, p.in.Category, detailed(err))
		}
		res.Customers++
		act, err := actorOf(p.in.Owner)
		if err != nil {
			return nil, fmt.Errorf("demo: load %s: %w", p.in.Owner, err)
		}
		for _, e := range p.timeline {
			if _, err := a.AddTimeline(ctx, act, c.ID, e); err != nil {
				return nil, fmt.Errorf("demo: timeline of customer #%d: %w", i, detailed(err))
			}
		}
		// Most archives go through onboarding as in real life: the owner
		// attaches the ID scan, an inspector verifies it, a manager approves
		// (R-A10). Every eleventh stays a draft, so the inboxes have work.
		if i%11 == 10 {
			res.Drafts++
			continue
		}
		if err := onboard(ctx, a, actorOf, c, act); err != nil {
			return nil, fmt.Errorf("demo: onboard customer #%d: %w", i, detailed(err))
		}
		onboarded = append(onboarded, c)
	}
	if res.Transactions, err = seedTransactions(ctx, a, onboarded); err != nil {
		return nil, fmt.Errorf("demo: transactions: %w", detailed(err))
	}

	if res.Portal, err = seedPortal(ctx, a, actorOf, onboarded); err != nil {
		return nil, fmt.Errorf("demo: portal: %w", detailed(err))
	}

	if out != nil {
		printUsers(out, res.Users)
		printPortal(out, res.Portal)
	}
	return res, nil
}

// detailed adds the field errors of a validation failure, which the plain
// error text leaves out; they only name fields, never values.
func detailed(err error) error {
	var ce *custos.Error
	if errors.As(err, &ce) && len(ce.Fields) > 0 {
		return fmt.Errorf("%w %v", err, ce.Fields)
	}
	return err
}

func printUsers(out io.Writer, us []DemoUser) {
	fmt.Fprintln(out, "demo users (演示用户):")
	// Chinese text goes last: tabwriter counts runes, not display width.
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "USERNAME\tROLE\tUNIT\tPASSWORD\tNAME")
	for _, u := range us {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s（%s）\n", u.Username, u.Role, u.Org, u.Password, u.Name, u.Role.Label().ZH)
	}
	w.Flush()
}

// onboard takes a new archive through verification and approval.
func onboard(ctx context.Context, a *app.App, actorOf func(string) (custos.Actor, error), c *custos.Customer, owner custos.Actor) error {
	kind, name := custos.AttachIDScan, "身份证件扫描件.png"
	if c.Type == custos.TypeInstitution {
		kind, name = custos.AttachLicence, "营业执照扫描件.png"
	}
	item := ""
	for _, it := range checklistScan[c.Category] {
		item = it
	}
	at, err := a.AddAttachment(ctx, owner, c.ID, kind, name, item, scanImage())
	if err != nil {
		return err
	}
	south := isShanghai(ctx, a, c.OrgID)
	inspector, approver := "inspector", "mgr_bj"
	if south {
		inspector, approver = "inspector_sh", "mgr_sh"
	}
	if approver == owner.Username {
		approver = "gm"
	}
	insp, err := actorOf(inspector)
	if err != nil {
		return err
	}
	if _, err := a.RecordVerification(ctx, insp.WithPurpose("kyc"), c.ID, app.VerificationInput{
		Method: custos.VerifyPublicSecurity, Passed: true, NameMatches: true, EvidenceIDs: []string{at.ID}, Note: "联网核查一致"}); err != nil {
		return err
	}
	appr, err := actorOf(approver)
	if err != nil {
		return err
	}
	reqs, err := a.Inbox(ctx, appr)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if r.CustomerID == c.ID && r.Kind == custos.KindOnboarding {
			_, err := a.DecideRequest(ctx, appr, r.ID, true, "身份已核实，同意建档")
			return err
		}
	}
	return fmt.Errorf("no onboarding request for %s in %s's inbox", c.ArchiveNo, approver)
}

// checklistScan names the checklist item an identity scan fills, per category.
var checklistScan = map[string][]string{
	"retail": {"id_scan"}, "private_banking": {"id_scan"}, "corporate": {"licence"}, "trade": {"licence"}, "property_owner": {"id_copy"},
}

func isShanghai(ctx context.Context, a *app.App, orgID int64) bool {
	orgs, err := a.Orgs(ctx)
	if err != nil {
		return false
	}
	for _, o := range orgs {
		if o.ID == orgID {
			return strings.HasPrefix(o.Code, "SH")
		}
	}
	return false
}

var (
	scanOnce sync.Once
	scanPNG  []byte
)

// scanImage is a small grey card standing in for a scanned document.
func scanImage() []byte {
	scanOnce.Do(func() {
		img := image.NewGray(image.Rect(0, 0, 171, 108))
		for y := 0; y < 108; y++ {
			for x := 0; x < 171; x++ {
				v := uint8(235)
				if x < 4 || y < 4 || x > 166 || y > 103 || (y > 20 && y < 24 && x > 60) || (x > 12 && x < 52 && y > 20 && y < 70) {
					v = 150
				}
				img.SetGray(x, y, color.Gray{Y: v})
			}
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		scanPNG = b.Bytes()
	})
	return scanPNG
}
