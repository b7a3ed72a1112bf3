package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/idcard"
)

// seed fixes the data set: the same seed gives the same customers on every
// run, so screenshots, the README and bug reports stay comparable.
const seed = 20261127

// planned is one customer to create and the timeline entries its owner
// records afterwards.
type planned struct {
	in       custos.CustomerInput
	timeline []custos.TimelineEntry
}

// owner is a member of staff customers are assigned to.
type owner struct {
	username, org, city string
}

func ownerOf(username string) owner {
	for _, u := range users {
		if u.username == username {
			return owner{username: u.username, org: u.org, city: u.org[:2]}
		}
	}
	panic("demo: unknown owner " + username)
}

// How many customers of each kind the data set holds, and who owns them.
var (
	retailOwners = []struct {
		username string
		n        int
	}{{"am_zhang", 22}, {"am_wang", 22}, {"am_li", 22}, {"am_chen", 22}, {"am_zhou", 22}, {"mgr_bj", 4}, {"mgr_sh", 4}}
	privateOwners     = []string{"am_zhang", "am_zhang", "am_li", "am_chen", "am_chen", "am_zhou"}
	foreignerOwners   = []string{"am_wang", "am_chen", "am_zhou", "am_zhang", "am_chen", "am_li"}
	institutionOwners = []struct {
		username string
		n        int
	}{{"am_zhang", 8}, {"am_wang", 8}, {"am_li", 8}, {"am_chen", 8}, {"am_zhou", 8}, {"mgr_bj", 3}, {"mgr_sh", 3}}
	propertyOwners = 26
	butler         = "butler_liu"
)

// Indexes (within their kind) of the customers rated high-risk; the rule
// then protects them (R-C2). Fixed rather than drawn, so the data set always
// has a few.
var (
	highRiskRetail      = map[int]bool{7: true, 41: true, 88: true}
	highRiskInstitution = map[int]bool{5: true, 30: true}
	highRiskForeigner   = map[int]bool{4: true}
)

type gen struct {
	r         *rand.Rand
	idSeq     int
	usccSeq   int
	companies map[string]bool
}

func newGen() *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), companies: map[string]bool{}}
}

// plan draws the whole customer data set.
func plan() []planned {
	g := newGen()
	var out []planned
	n := 0
	for _, o := range retailOwners {
		for range o.n {
			out = append(out, g.retail(ownerOf(o.username), highRiskRetail[n]))
			n++
		}
	}
	for _, u := range privateOwners {
		out = append(out, g.privateBanking(ownerOf(u)))
	}
	for i, u := range foreignerOwners {
		out = append(out, g.foreigner(ownerOf(u), foreigners[i], highRiskForeigner[i]))
	}
	n = 0
	for _, o := range institutionOwners {
		for range o.n {
			out = append(out, g.institution(ownerOf(o.username), highRiskInstitution[n]))
			n++
		}
	}
	for i := range propertyOwners {
		out = append(out, g.propertyOwner(ownerOf(butler), i))
	}
	return out
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// weighted returns terms[i] with probability weights[i]/sum(weights).
func (g *gen) weighted(terms []string, weights []int) string {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	x := g.r.IntN(sum)
	for i, w := range weights {
		if x < w {
			return terms[i]
		}
		x -= w
	}
	return terms[len(terms)-1]
}

func (g *gen) chance(percent int) bool { return g.r.IntN(100) < percent }

func (g *gen) name(male bool) (hz, py string) {
	s := pick(g.r, surnames)
	given := femaleGiven
	if male {
		given = maleGiven
	}
	a := pick(g.r, given)
	if g.chance(25) {
		return s.hz + a.hz, s.py + "." + a.py
	}
	b := pick(g.r, given)
	return s.hz + a.hz + b.hz, s.py + "." + a.py + b.py
}

func (g *gen) date(fromYear, toYear int) time.Time {
	y := fromYear + g.r.IntN(toYear-fromYear+1)
	return time.Date(y, time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
}

func (g *gen) mobile() string {
	return fmt.Sprintf("%s%08d", pick(g.r, mobilePrefixes), g.r.IntN(100_000_000))
}

func (g *gen) landline(city string) string {
	if city == "SH" {
		return fmt.Sprintf("021-%d%07d", 5+g.r.IntN(4), g.r.IntN(10_000_000))
	}
	return fmt.Sprintf("010-%d%07d", 5+g.r.IntN(4), g.r.IntN(10_000_000))
}

func regionByCode(code string) region {
	for _, r := range regions {
		if r.code == code {
			return r
		}
	}
	panic("demo: unknown region " + code)
}

// cityRegion picks a district of the owner's city, most often the one its
// unit is in.
func (g *gen) cityRegion(o owner) region {
	home := map[string]string{"BJ01": "110105", "BJ02": "110108", "SH01": "310115"}[o.org]
	if home != "" && g.chance(60) {
		return regionByCode(home)
	}
	var rs []region
	for _, r := range regions {
		if r.city == o.city {
			rs = append(rs, r)
		}
	}
	return pick(g.r, rs)
}

// birthRegion is where a customer's resident ID was issued: the city the
// owner works in for most, elsewhere in China for the rest.
func (g *gen) birthRegion(o owner) region {
	if g.chance(60) {
		return g.cityRegion(o)
	}
	var rs []region
	for _, r := range regions {
		if r.city == "" {
			rs = append(rs, r)
		}
	}
	return pick(g.r, rs)
}

// homeAddress writes a residential address in a region, in the local style.
func (g *gen) homeAddress(r region) string {
	st := pick(g.r, r.streets)
	n := 1 + g.r.IntN(300)
	room := (2+g.r.IntN(25))*100 + 1 + g.r.IntN(4)
	switch r.city {
	case "BJ":
		return fmt.Sprintf("%s%s%d号院%d号楼%d单元%d室", r.prefix, st, n, 1+g.r.IntN(12), 1+g.r.IntN(4), room)
	case "SH":
		return fmt.Sprintf("%s%s%d弄%d号%d室", r.prefix, st, n, 1+g.r.IntN(30), room)
	}
	return fmt.Sprintf("%s%s%d号%d栋%d室", r.prefix, st, n, 1+g.r.IntN(20), room)
}

func (g *gen) officeAddress(r region) string {
	return fmt.Sprintf("%s%s%d号%d层%d室", r.prefix, pick(g.r, r.streets), 1+g.r.IntN(300), 2+g.r.IntN(30), 1+g.r.IntN(20))
}

// residentID makes a valid synthetic resident ID. The running sequence keeps
// every number in the data set distinct (see idcard.GenerateResidentID).
func (g *gen) residentID(r region, birth time.Time, male bool) string {
	g.idSeq++
	return idcard.GenerateResidentID(r.code, birth, g.idSeq, male)
}

// idValidity follows the Resident Identity Card Law: cards issued before
// 16 are valid 5 years, from 16 to 25 ten, from 26 to 45 twenty, later for
// good. Some issued long ago have lapsed, as in any real book (R-B3).
func (g *gen) idValidity(birth time.Time) (issue, expiry string) {
	y := 2014 + g.r.IntN(11)
	if y-birth.Year() < 16 {
		y = birth.Year() + 16
	}
	d := time.Date(y, time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
	issue = d.Format(time.DateOnly)
	switch age := y - birth.Year(); {
	case age < 26:
		return issue, d.AddDate(10, 0, 0).Format(time.DateOnly)
	case age < 46:
		return issue, d.AddDate(20, 0, 0).Format(time.DateOnly)
	}
	return issue, custos.LongTerm
}

func sexOf(male bool) string {
	if male {
		return "M"
	}
	return "F"
}

func (g *gen) email(py string, birth time.Time) string {
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("%d@qq.com", 100_000_000+g.r.IntN(900_000_000))
	case 1:
		return fmt.Sprintf("%s%02d@%s", py, birth.Year()%100, pick(g.r, emailDomains))
	}
	return fmt.Sprintf("%s@%s", strings.ReplaceAll(py, ".", "_"), pick(g.r, emailDomains))
}

// person draws the identity basics every natural-person customer has (R-A2).
func (g *gen) person(o owner, fromYear, toYear int) (custos.CustomerInput, string) {
	male := g.chance(50)
	name, py := g.name(male)
	birth := g.date(fromYear, toYear)
	home := g.birthRegion(o)
	issue, expiry := g.idValidity(birth)
	in := custos.CustomerInput{
		Type: custos.TypePerson, Org: o.org, Owner: o.username,
		Name: name, Sex: sexOf(male), Nationality: "CN", BirthDate: birth.Format(time.DateOnly),
		IDType: string(idcard.CNResidentID), IDNumber: g.residentID(home, birth, male), IDAuthority: home.authority,
		IDIssueDate: issue, IDExpiry: expiry, Address: g.homeAddress(home), Phone: g.mobile(),
	}
	// The habitual residence is recorded where it differs from the registered one (R-A2).
	if home.city != o.city || g.chance(20) {
		in.HabitualAddress = g.homeAddress(g.cityRegion(o))
	}
	if 2026-birth.Year() >= 62 {
		in.Occupation = "退休"
	} else {
		js := jobs[o.city]
		if g.chance(20) {
			js = jobs[""]
		}
		j := pick(g.r, js)
		in.Occupation, in.Employer = j.occupation, j.employer
	}
	if g.chance(35) {
		in.Email = g.email(py, birth)
	}
	return in, py
}

func (g *gen) classes(lifecycle, volume, tier []int, risk string) map[string]string {
	c := map[string]string{
		custos.TaxLifecycle: g.weighted([]string{"old", "new", "prospective"}, lifecycle),
		custos.TaxVolume:    g.weighted([]string{"key", "general", "scattered"}, volume),
		custos.TaxTier:      g.weighted([]string{"important", "special", "general"}, tier),
		custos.TaxAMLRisk:   risk,
	}
	switch c[custos.TaxLifecycle] {
	case "prospective":
		c[custos.TaxStage] = "future"
	default:
		c[custos.TaxStage] = g.weighted([]string{"current", "past"}, []int{9, 1})
	}
	return c
}

func (g *gen) risk(high bool, mediumPercent int) string {
	switch {
	case high:
		return "high"
	case g.chance(mediumPercent):
		return "medium"
	}
	return "low"
}

// timelineDate is a day from fromYear to mid-2026, before the data set's
// earliest possible load date.
func (g *gen) timelineDate(fromYear int) string {
	y := fromYear + g.r.IntN(2027-fromYear)
	m := 1 + g.r.IntN(12)
	if y == 2026 {
		m = 1 + g.r.IntN(6)
	}
	return fmt.Sprintf("%d-%02d-%02d", y, m, 1+g.r.IntN(28))
}

func (g *gen) retail(o owner, high bool) planned {
	in, _ := g.person(o, 1950, 2004)
	in.Category = "retail"
	in.Classifications = g.classes([]int{50, 35, 15}, []int{10, 50, 40}, []int{8, 4, 88}, g.risk(high, 17))
	in.Classifications[custos.TaxNature] = "consumer"
	if high {
		in.RiskReason = pick(g.r, highRiskReasons)
	}
	in.Custom = map[string]any{}
	if g.chance(50) {
		in.Custom["family_situation"] = pick(g.r, familySituations)
	}
	if g.chance(70) {
		in.Custom["annual_income"] = float64(6+g.r.IntN(115)) * 10_000
	}
	if g.chance(30) {
		in.Custom["interests"] = pick(g.r, interests)
	}
	p := planned{in: in}
	if g.chance(25) {
		p.timeline = append(p.timeline, custos.TimelineEntry{Kind: custos.TimelineContact, OccurredOn: g.timelineDate(2025),
			Title: pick(g.r, []string{"电话回访：理财产品到期提醒", "网点面谈：更新联系方式", "客户满意度调查", "产品推介：大额存单", "上门拜访：了解家庭理财需求"}),
			Body:  pick(g.r, []string{"客户对服务表示满意。", "客户表示近期有购房计划，需关注贷款需求。", "已更新客户联系电话。", "客户对产品收益率有疑问，已解释。"})})
	}
	if high {
		p.timeline = append(p.timeline, custos.TimelineEntry{Kind: custos.TimelineChange, OccurredOn: g.timelineDate(2026),
			Title: "洗钱风险等级调整为高风险", Body: in.RiskReason + "。已按规定加强尽职调查，并提高审核频率。"})
	}
	return p
}

func (g *gen) privateBanking(o owner) planned {
	in, _ := g.person(o, 1955, 1985)
	if in.Email == "" {
		in.Email = fmt.Sprintf("%d@qq.com", 100_000_000+g.r.IntN(900_000_000))
	}
	in.Category = "private_banking"
	j := pick(g.r, privateJobs)
	in.Occupation, in.Employer = j.occupation, j.employer
	in.Classifications = g.classes([]int{80, 20, 0}, []int{1, 0, 0}, []int{1, 0, 0}, g.risk(false, 20))
	in.Classifications[custos.TaxNature] = "consumer"
	in.Custom = map[string]any{
		"family_situation": pick(g.r, familySituations),
		"annual_income":    float64(300+g.r.IntN(2700)) * 10_000,
		"risk_preference":  pick(g.r, riskPreferences),
		"aum":              float64(600 + g.r.IntN(7400)),
	}
	return planned{in: in, timeline: []custos.TimelineEntry{
		{Kind: custos.TimelineContact, OccurredOn: g.timelineDate(2025), Title: "季度上门拜访", Body: "回顾资产配置情况，客户希望增加固定收益类产品比例。"},
		{Kind: custos.TimelineNote, OccurredOn: g.timelineDate(2026), Title: "资产配置建议书已送达", Body: "建议书纸质版已交档案保管员入柜保管。"},
	}}
}

func (g *gen) foreigner(o owner, f foreigner, high bool) planned {
	issue := g.date(2019, 2023)
	in := custos.CustomerInput{
		Type: custos.TypePerson, Org: o.org, Owner: o.username, Category: "retail",
		Name: f.name, Sex: f.sex, Nationality: f.nationality, BirthDate: f.birth,
		IDType: f.idType, IDNumber: fmt.Sprintf("%s%0*d", f.idPrefix, f.digits, g.r.IntN(pow10(f.digits))), IDAuthority: f.authority,
		IDIssueDate: issue.Format(time.DateOnly), IDExpiry: issue.AddDate(10, 0, -1).Format(time.DateOnly),
		Address: f.address, HabitualAddress: g.homeAddress(g.cityRegion(o)), Occupation: f.occupation, Employer: f.employer,
	}
	if f.nationality == "CN" {
		in.Phone = fmt.Sprintf("+%s %d%07d", map[byte]string{'H': "852", 'M': "853"}[f.idPrefix[0]], 6+g.r.IntN(4), g.r.IntN(10_000_000))
		in.Phones = []string{g.mobile()}
	} else {
		in.Phone = g.mobile()
	}
	in.Classifications = g.classes([]int{40, 50, 10}, []int{20, 50, 30}, []int{10, 5, 85}, g.risk(high, 30))
	in.Classifications[custos.TaxNature] = "consumer"
	if high {
		in.RiskReason = highRiskReasons[3]
	}
	return planned{in: in}
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// party draws a natural person acting for an institution (R-A3).
func (g *gen) party(o owner) custos.Party {
	male := g.chance(65)
	name, _ := g.name(male)
	birth := g.date(1960, 1992)
	_, expiry := g.idValidity(birth)
	return custos.Party{Name: name, IDType: string(idcard.CNResidentID), IDNumber: g.residentID(g.birthRegion(o), birth, male),
		IDExpiry: expiry, Phone: g.mobile()}
}

func (g *gen) companyName(city string) (string, industry) {
	cityName := map[string]string{"BJ": "北京", "SH": "上海"}[city]
	for {
		ind := pick(g.r, industries)
		form := "有限公司"
		if g.chance(15) {
			form = "股份有限公司"
		}
		n := cityName + pick(g.r, tradeNames) + ind.name + form
		if !g.companies[n] {
			g.companies[n] = true
			return n, ind
		}
	}
}

func (g *gen) institution(o owner, high bool) planned {
	name, ind := g.companyName(o.city)
	reg := g.cityRegion(o)
	g.usccSeq++
	uscc := idcard.GenerateUSCC(reg.code, 1000+g.usccSeq*37)
	capital := pick(g.r, []int{100, 200, 500, 1000, 2000, 5000, 10000})
	if strings.HasSuffix(name, "股份有限公司") {
		capital *= 10
	}
	lr := g.party(o)
	in := custos.CustomerInput{
		Type: custos.TypeInstitution, Org: o.org, Owner: o.username, Category: ind.category,
		Name: name, USCC: uscc, TaxNumber: uscc,
		Licence: &custos.Licence{Name: "营业执照", Number: uscc, Expiry: custos.LongTerm},
		Address: g.officeAddress(reg), BusinessScope: ind.scope, RegisteredCapital: fmt.Sprintf("%d", capital*10_000),
		Phone: g.landline(o.city), Postcode: reg.postcode, LegalRepresentative: &lr,
	}
	if g.chance(30) {
		in.Licence.Expiry = g.date(2035, 2055).Format(time.DateOnly)
	}
	if g.chance(40) {
		in.BusinessAddress = g.officeAddress(g.cityRegion(o))
	}
	if g.chance(50) {
		in.Fax = g.landline(o.city)
	}
	contact, _ := g.name(g.chance(50))
	in.ContactName, in.ContactPhone = contact, g.mobile()
	if g.chance(35) {
		in.Agents = []custos.Party{g.party(o)}
	}
	if g.chance(45) {
		share := 40 + g.r.IntN(41)
		bo := lr
		bo.Share = fmt.Sprint(share)
		in.BeneficialOwners = []custos.Party{bo}
		if g.chance(50) {
			p := g.party(o)
			p.Share = fmt.Sprint(g.r.IntN(100-share-4) + 5)
			in.BeneficialOwners = append(in.BeneficialOwners, p)
		}
	}
	medium := 15
	if ind.name == "珠宝" || ind.name == "投资管理" {
		medium = 70
	}
	in.Classifications = g.classes([]int{55, 35, 10}, []int{20, 55, 25}, []int{15, 5, 80}, g.risk(high, medium))
	in.Classifications[custos.TaxNature] = ind.nature
	if high {
		in.RiskReason = pick(g.r, []string{highRiskReasons[0], highRiskReasons[2], highRiskReasons[4]})
	}
	if in.Category == "corporate" {
		in.Custom = map[string]any{}
		if g.chance(50) {
			in.Custom["competitors"] = fmt.Sprintf("同城同业：%s%s、%s%s", pick(g.r, tradeNames), ind.name, pick(g.r, tradeNames), ind.name)
		}
		if g.chance(60) {
			in.Custom["market_position"] = pick(g.r, marketPositions)
		}
		if g.chance(70) {
			in.Custom["annual_revenue"] = float64(500 + g.r.IntN(200_000))
		}
		if g.chance(60) {
			in.Custom["employees"] = float64(10 + g.r.IntN(3000))
		}
	}
	p := planned{in: in}
	if g.chance(60) {
		rev := 500 + g.r.IntN(100_000)
		p.timeline = append(p.timeline, custos.TimelineEntry{Kind: custos.TimelineResult, OccurredOn: "2025-04-" + fmt.Sprintf("%02d", 1+g.r.IntN(28)), Period: "2024",
			Title: "2024年度经营业绩",
			Body:  fmt.Sprintf("营业收入%d万元，同比增长%d%%；净利润%d万元。", rev, g.r.IntN(40)-10, rev*(2+g.r.IntN(12))/100)})
	}
	if g.chance(40) {
		p.timeline = append(p.timeline, custos.TimelineEntry{Kind: custos.TimelineReport, OccurredOn: "2025-10-" + fmt.Sprintf("%02d", 15+g.r.IntN(14)), Period: "2025Q3",
			Title: "2025年三季度财务报表", Body: "资产负债表、利润表、现金流量表已收妥，财务状况正常。"})
	}
	if g.chance(40) {
		p.timeline = append(p.timeline, custos.TimelineEntry{Kind: custos.TimelineContact, OccurredOn: g.timelineDate(2025),
			Title: pick(g.r, []string{"走访企业财务部，了解授信需求", "年度回访：更新受益所有人信息", "电话沟通：营业执照变更事宜"})})
	}
	return p
}

// propertyOwner draws an owner of a flat in the butler's estate (R-A9).
func (g *gen) propertyOwner(o owner, i int) planned {
	in, _ := g.person(o, 1955, 1998)
	b := estateBuildings[i%len(estateBuildings)]
	floor := 2 + (i*7)%26
	unit := fmt.Sprintf("%d%02d", floor, 1+i%4)
	in.Address = fmt.Sprintf("%s%s8号院%s%s%s室", regionByCode(estateRegion).prefix, estateStreet, estateName, b, unit)
	in.HabitualAddress = ""
	in.Category = "property_owner"
	in.Household = &custos.Household{Estate: estateName, Building: b, Floor: fmt.Sprint(floor), Unit: unit}
	in.Classifications = map[string]string{
		custos.TaxPropertyStatus: g.weighted([]string{"keys_received", "keys_not_received", "special"}, []int{80, 15, 5}),
		custos.TaxLifecycle:      g.weighted([]string{"old", "new"}, []int{70, 30}),
		custos.TaxAMLRisk:        "low",
	}
	in.Custom = map[string]any{}
	if g.chance(40) {
		in.Custom["parking_space"] = fmt.Sprintf("B%d-%03d", 1+g.r.IntN(2), 1+g.r.IntN(300))
	}
	if g.chance(30) {
		in.Custom["has_pet"] = true
	}
	p := planned{in: in}
	if g.chance(30) {
		p.timeline = append(p.timeline, custos.TimelineEntry{Kind: custos.TimelineContact, OccurredOn: g.timelineDate(2025),
			Title: pick(g.r, []string{"收楼验房", "物业费缴纳提醒", "装修申请备案", "消防安全检查入户"})})
	}
	return p
}
