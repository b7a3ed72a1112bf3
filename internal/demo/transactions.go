package demo

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

// Transaction records of the demo (R-E1, R-E2, R-E4): a year of invented
// account activity for every effective, verified customer, recorded through
// the services exactly as a core-banking feed would be, with a few
// large-value records (shown only to holders of the protected permission)
// and one reversal.

// TxnSource is the source system of the demo's transactions.
const TxnSource = "demo-core"

type demoCounterparty struct{ name, account, bank string }

// Invented counterparties: merchants, employers, landlords, utilities.
var counterparties = []demoCounterparty{
	{"北京某某超市有限公司", "110902134510601", "招商银行"},
	{"上海某某餐饮管理有限公司", "31001520313050012345", "中国建设银行"},
	{"某某物业服务有限公司", "0200004509200012345", "中国工商银行"},
	{"国网某某供电公司", "11050162360000000123", "中国建设银行"},
	{"某某科技有限公司", "110906580310902", "招商银行"},
	{"王某某", "6217000010001234567", "中国建设银行"},
	{"李某某", "6228480010012345678", "中国农业银行"},
	{"某某证券股份有限公司", "1001200519000012345", "中国工商银行"},
	{"某某航空股份有限公司", "31050161360000001234", "中国建设银行"},
	{"", "", ""}, // cash at the counter or an ATM
}

// demoTxnPerCustomer bounds the generated history of one customer.
const (
	demoTxnMin = 12
	demoTxnMax = 48
)

// seedTransactions records a year of transactions of the given customers
// (effective and verified) as the system, in one batch per 5,000 rows, and
// reverses one of them. The random source is fixed: the same customers get
// the same history.
func seedTransactions(ctx context.Context, a *app.App, cs []*custos.Customer) (int, error) {
	sys := custos.SystemActor("demo")
	now := a.Clock().Now().UTC()
	rng := mrand.New(mrand.NewPCG(2026, 11))
	var rows []app.TxnRow
	recorded, firstID := 0, ""
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		res, err := a.RecordTransactions(ctx, sys, TxnSource, rows)
		if err != nil {
			return err
		}
		if res.Failed > 0 {
			for _, r := range res.Results {
				if r.Status == app.TxnFailed {
					return fmt.Errorf("demo transaction %d: %+v", r.Item, r.Errors)
				}
			}
		}
		if firstID == "" && len(res.Results) > 0 {
			firstID = res.Results[0].ID
		}
		recorded += res.Imported
		rows = rows[:0]
		return nil
	}
	for ci, c := range cs {
		corporate := c.Type == custos.TypeInstitution
		account := fmt.Sprintf("62220202%011d", 1_000_000+ci)
		if corporate {
			account = fmt.Sprintf("1109%014d", 5_000_000+ci)
		}
		n := demoTxnMin + rng.IntN(demoTxnMax-demoTxnMin+1)
		for k := 0; k < n; k++ {
			// Spread over the past year, oldest first, none in the last hour.
			at := now.Add(-time.Hour - time.Duration(float64(365*24*time.Hour)*float64(n-k)/float64(n+1)))
			cp := counterparties[rng.IntN(len(counterparties))]
			in := custos.TransactionInput{
				Reference: fmt.Sprintf("D%04d%05d", ci, k), CustomerID: c.ID, Account: account, Time: at.Format(time.RFC3339),
				Currency: "CNY", Direction: "debit", Type: "payment", Channel: []string{"mobile", "pos", "online"}[rng.IntN(3)],
				CounterpartyName: cp.name, CounterpartyAccount: cp.account, CounterpartyBank: cp.bank,
			}
			amount := 5 + rng.IntN(3000)
			switch {
			case cp.name == "":
				in.Type, in.Channel, in.Remarks = "withdrawal", []string{"atm", "counter"}[rng.IntN(2)], "取现"
				amount = 100 * (1 + rng.IntN(30))
			case k%6 == 0:
				employer := counterparties[4]
				in.CounterpartyName, in.CounterpartyAccount, in.CounterpartyBank = employer.name, employer.account, employer.bank
				in.Direction, in.Type, in.Channel, in.Remarks = "credit", "salary", "batch", "代发工资"
				amount = 8000 + rng.IntN(20000)
				if corporate {
					in.Type, in.Channel, in.Remarks = "transfer", "online", "货款"
					amount = 20000 + rng.IntN(29000)
				}
			case k%5 == 0:
				in.Type, in.Channel, in.Remarks = "transfer", "online", "转账"
				amount = 500 + rng.IntN(9000)
			default:
				in.Remarks = "消费"
			}
			in.Amount = custos.AmountText(fmt.Sprintf("%d.%02d", amount, rng.IntN(100)))
			rows = append(rows, app.TxnRow{Line: len(rows) + 1, Input: in})
		}
		// Every seventh customer has one large-value transfer (R-E4), made
		// now: after the verification, as the real-name rule wants (R-E6).
		if ci%7 == 3 {
			cp := counterparties[7]
			rows = append(rows, app.TxnRow{Line: len(rows) + 1, Input: custos.TransactionInput{
				Reference: fmt.Sprintf("D%04dL", ci), CustomerID: c.ID, Account: account, Time: now.Format(time.RFC3339Nano),
				Amount: custos.AmountText(fmt.Sprintf("%d.00", 60000+1000*rng.IntN(200))), Currency: "CNY", Direction: "debit", Type: "transfer",
				Channel: "counter", CounterpartyName: cp.name, CounterpartyAccount: cp.account, CounterpartyBank: cp.bank, Remarks: "购买理财"}})
		}
		if len(rows) >= 5000 {
			if err := flush(); err != nil {
				return recorded, err
			}
		}
	}
	if err := flush(); err != nil {
		return recorded, err
	}
	if firstID != "" {
		if _, err := a.ReverseTransaction(ctx, sys, firstID, "交易重复记账，冲正"); err != nil {
			return recorded, fmt.Errorf("demo reversal: %w", err)
		}
		recorded++
	}
	return recorded, nil
}
