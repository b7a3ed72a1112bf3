package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/sqlstore"
)

// Paper archives (R-H1, R-H2): paper lives only at registered secure
// locations with a named custodian; lending and return are registered;
// lending a protected customer's file needs approval.

// PaperLoanPayload is the payload of a paper-loan request.
type PaperLoanPayload struct {
	FileID     int64     `json:"file_id"`
	BorrowerID int64     `json:"borrower_id"`
	DueAt      time.Time `json:"due_at"`
}

// requirePaper checks the paper-management permission and that a location
// lies within the actor's unit (custodians manage their own locations).
func (a *App) requirePaper(ctx context.Context, actor custos.Actor, loc *custos.SecureLocation) error {
	if err := a.requireSystem(ctx, actor, custos.ActPaperManage); err != nil {
		return err
	}
	if loc == nil {
		return nil
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return err
	}
	org := ref.orgs[loc.OrgID]
	if org == nil || (!custos.PathContains(actor.OrgPath, org.Path) && loc.CustodianID != actor.UserID) {
		return custos.ErrNotFound
	}
	return nil
}

// CreateLocation registers a secure location: a locked cabinet or safe with
// a custodian (R-H1).
func (a *App) CreateLocation(ctx context.Context, actor custos.Actor, l *custos.SecureLocation) error {
	var v custos.Validation
	c := &checker{now: a.now()}
	l.Room = c.text("room", l.Room, 100, true)
	l.Cabinet = c.text("cabinet", l.Cabinet, 100, true)
	l.Shelf = c.text("shelf", l.Shelf, 50, false)
	l.Box = c.text("box", l.Box, 50, false)
	v.Merge("", c.v)
	if !custos.ValidLockType(l.LockType) {
		v.Addf("lock_type", custos.CodeNotAllowed)
	}
	if l.OrgID == 0 {
		l.OrgID = actor.OrgID
	}
	cust, err := a.db.Reader().User(ctx, l.CustodianID)
	switch {
	case l.CustodianID == 0:
		v.Addf("custodian_id", custos.CodeRequired)
	case err != nil || cust.Disabled:
		v.Addf("custodian_id", custos.CodeUnknown)
	}
	if err := v.Err(); err != nil {
		return err
	}
	ref, err := a.refData(ctx)
	if err != nil {
		return err
	}
	org := ref.orgs[l.OrgID]
	if org == nil {
		return (&custos.Validation{Fields: []custos.FieldError{{Field: "org_id", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}).Err()
	}
	if err := a.requireSystem(ctx, actor, custos.ActPaperManage); err != nil {
		return err
	}
	if !custos.PathContains(actor.OrgPath, org.Path) {
		return a.denied(ctx, actor, custos.ActPaperManage, "", custos.DenyScope, custos.Errorf(custos.EForbidden, "只能在本机构登记保管位置", "locations can only be registered in your own unit"))
	}
	l.Active = true
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateLocation(ctx, l); err != nil {
			return err
		}
		ev := custos.NewEvent(actor, "paper.location.create", custos.OutcomeOK)
		ev.TargetType, ev.TargetRef = "location", itoa(l.ID)
		return a.appendTx(ctx, tx, ev)
	})
	return internal("create location", err)
}

// Locations lists the secure locations in the actor's unit.
func (a *App) Locations(ctx context.Context, actor custos.Actor) ([]*custos.SecureLocation, error) {
	if err := a.requirePaper(ctx, actor, nil); err != nil {
		return nil, err
	}
	out, err := a.db.Reader().Locations(ctx, actor.OrgPath)
	return out, internal("locations", err)
}

// PaperInput registers a paper file.
type PaperInput struct {
	CustomerID string `json:"customer_id,omitempty"`
	ArchiveNo  string `json:"archive_no,omitempty"`
	Title      string `json:"title"`
	Contents   string `json:"contents"`
	LocationID int64  `json:"location_id"`
}

// PaperView is a paper file with its title and contents decrypted and its location.
type PaperView struct {
	custos.PaperFile
	ArchiveNo string                 `json:"archive_no"`
	Location  *custos.SecureLocation `json:"location,omitempty"`
	Overdue   bool                   `json:"overdue"`
}

func (a *App) paperField(id int64, what string) string { return fmt.Sprintf("paper:%d:%s", id, what) }

// RegisterPaperFile records a paper file at a secure location that has a
// custodian; nowhere else may paper be registered (R-H2).
func (a *App) RegisterPaperFile(ctx context.Context, actor custos.Actor, in PaperInput) (*PaperView, error) {
	var v custos.Validation
	c := &checker{now: a.now()}
	in.Title = c.text("title", in.Title, 200, true)
	in.Contents = c.text("contents", in.Contents, 2000, false)
	v.Merge("", c.v)
	if in.LocationID == 0 {
		v.Addf("location_id", custos.CodeRequired)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rd := a.db.Reader()
	loc, err := rd.Location(ctx, in.LocationID)
	if errors.Is(err, custos.ErrNotFound) || (err == nil && (!loc.Active || loc.CustodianID == 0)) {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "location_id", Code: custos.CodeNotAllowed,
			Message: custos.Message{ZH: "纸质档案只能登记在有保管员的安全位置（上锁的档案柜或保险柜）", EN: "paper may only be registered at a secure location with a custodian"}}}}).Err()
	}
	if err != nil {
		return nil, internal("location", err)
	}
	if err := a.requirePaper(ctx, actor, loc); err != nil {
		return nil, err
	}
	var cur *sqlstore.CustomerRecord
	if in.CustomerID != "" {
		cur, err = rd.Customer(ctx, in.CustomerID)
	} else {
		cur, err = rd.CustomerByArchiveNo(ctx, strings.TrimSpace(in.ArchiveNo))
	}
	unknown := (&custos.Validation{Fields: []custos.FieldError{{Field: "archive_no", Code: custos.CodeUnknown, Message: custos.StandardMessage(custos.CodeUnknown)}}}).Err()
	if err != nil || len(cur.WrappedKey) == 0 {
		return nil, unknown
	}
	// Paper is registered only for a customer of the actor's unit and of the
	// location's unit, or below; anyone else's answers like a missing
	// archive, and the attempt is audited.
	ref, err := a.refData(ctx)
	if err != nil {
		return nil, err
	}
	if o, lo := ref.orgs[cur.OrgID], ref.orgs[loc.OrgID]; o == nil || lo == nil || !custos.PathContains(actor.OrgPath, o.Path) || !custos.PathContains(lo.Path, o.Path) {
		return nil, a.denied(ctx, actor, custos.ActPaperManage, cur.ID, custos.DenyScope, unknown)
	}
	now := a.now()
	f := &sqlstore.PaperRecord{}
	f.CustomerID, f.LocationID, f.Status, f.RegisteredBy, f.RegisteredAt = cur.ID, loc.ID, custos.PaperInPlace, actor.UserID, now
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		f.TitleCT = []byte{}
		if err := tx.InsertPaperFile(ctx, f); err != nil {
			return err
		}
		title, err := a.keys.Sealer.Encrypt(cur.ID, cur.WrappedKey, a.paperField(f.ID, "title"), []byte(in.Title))
		if err != nil {
			return err
		}
		var contents []byte
		if in.Contents != "" {
			if contents, err = a.keys.Sealer.Encrypt(cur.ID, cur.WrappedKey, a.paperField(f.ID, "contents"), []byte(in.Contents)); err != nil {
				return err
			}
		}
		if err := tx.SetPaperTitle(ctx, f.ID, title, contents); err != nil {
			return err
		}
		if err := tx.InsertMovement(ctx, &custos.PaperMovement{FileID: f.ID, Kind: custos.MoveRegister, ToID: loc.ID, By: actor.UserID, At: now}); err != nil {
			return err
		}
		ev := a.event(actor, "paper.register", cur.ID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"file": f.ID, "location": loc.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("register paper file", err)
	}
	out := &PaperView{PaperFile: f.PaperFile, ArchiveNo: cur.ArchiveNo, Location: loc}
	out.Title, out.Contents = in.Title, in.Contents
	return out, nil
}

func (a *App) paperView(ctx context.Context, f *sqlstore.PaperRecord, now time.Time) (*PaperView, error) {
	rd := a.db.Reader()
	cur, err := rd.Customer(ctx, f.CustomerID)
	if err != nil {
		return nil, err
	}
	v := &PaperView{PaperFile: f.PaperFile, ArchiveNo: cur.ArchiveNo, Overdue: f.Overdue(now)}
	if len(cur.WrappedKey) > 0 {
		if v.Title, err = a.keys.Sealer.DecryptString(cur.ID, cur.WrappedKey, a.paperField(f.ID, "title"), f.TitleCT); err != nil {
			return nil, err
		}
		if v.Contents, err = a.keys.Sealer.DecryptString(cur.ID, cur.WrappedKey, a.paperField(f.ID, "contents"), f.ContentsCT); err != nil {
			return nil, err
		}
	}
	if v.Location, err = rd.Location(ctx, f.LocationID); err != nil {
		return nil, err
	}
	return v, nil
}

// PaperFiles lists the paper files at the locations of the actor's unit
// (overdue only, if asked), audited.
func (a *App) PaperFiles(ctx context.Context, actor custos.Actor, overdueOnly bool) ([]*PaperView, error) {
	if err := a.requirePaper(ctx, actor, nil); err != nil {
		return nil, err
	}
	now := a.now()
	q := sqlstore.PaperQuery{OrgPath: actor.OrgPath}
	if overdueOnly {
		q.DueBefore = now
	}
	recs, err := a.db.Reader().PaperFiles(ctx, q)
	if err != nil {
		return nil, internal("paper files", err)
	}
	out := make([]*PaperView, 0, len(recs))
	for _, f := range recs {
		v, err := a.paperView(ctx, f, now)
		if err != nil {
			return nil, internal("paper file", err)
		}
		out = append(out, v)
	}
	ev := custos.NewEvent(actor, "paper.list", custos.OutcomeOK)
	ev.Detail = detail(map[string]any{"files": len(out), "overdue_only": overdueOnly})
	if err := a.record(ctx, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// PaperFile shows one file with its movements.
func (a *App) PaperFile(ctx context.Context, actor custos.Actor, id int64) (*PaperView, []custos.PaperMovement, error) {
	f, loc, err := a.loadPaper(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	_ = loc
	v, err := a.paperView(ctx, f, a.now())
	if err != nil {
		return nil, nil, internal("paper file", err)
	}
	moves, err := a.db.Reader().Movements(ctx, id)
	if err != nil {
		return nil, nil, internal("movements", err)
	}
	ev := a.event(actor, "paper.read", f.CustomerID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"file": id})
	if err := a.record(ctx, ev); err != nil {
		return nil, nil, err
	}
	return v, moves, nil
}

func (a *App) loadPaper(ctx context.Context, actor custos.Actor, id int64) (*sqlstore.PaperRecord, *custos.SecureLocation, error) {
	f, err := a.db.Reader().PaperFile(ctx, id)
	if errors.Is(err, custos.ErrNotFound) {
		return nil, nil, custos.ErrNotFound
	}
	if err != nil {
		return nil, nil, internal("paper file", err)
	}
	loc, err := a.db.Reader().Location(ctx, f.LocationID)
	if err != nil {
		return nil, nil, internal("location", err)
	}
	if err := a.requirePaper(ctx, actor, loc); err != nil {
		return nil, nil, err
	}
	return f, loc, nil
}

// LendInput lends a paper file.
type LendInput struct {
	BorrowerID int64  `json:"borrower_id"`
	Borrower   string `json:"borrower,omitempty"` // username instead of id
	Due        string `json:"due"`                // YYYY-MM-DD
	Reason     string `json:"reason"`
}

// LendPaperFile lends a file in the custodian's keeping. A protected
// customer's file needs approval first (R-H1): then a paper_loan request is
// filed and returned instead, and the file leaves when it is approved.
func (a *App) LendPaperFile(ctx context.Context, actor custos.Actor, id int64, in LendInput) (*PaperView, *custos.Request, error) {
	var v custos.Validation
	due, err := time.ParseInLocation(time.DateOnly, in.Due, time.UTC)
	now := a.now()
	if err != nil {
		v.Addf("due", custos.CodeInvalidDate)
	} else if due = due.Add(24*time.Hour - time.Second); !due.After(now) || due.Sub(now) > 90*24*time.Hour {
		v.Addf("due", custos.CodeOutOfRange)
	}
	if strings.TrimSpace(in.Reason) == "" {
		v.Addf("reason", custos.CodeRequired)
	}
	if in.Borrower != "" {
		if u, err := a.db.Reader().UserByName(ctx, custos.NormalizeUsername(in.Borrower)); err == nil {
			in.BorrowerID = u.ID
		}
	}
	if b, err := a.db.Reader().User(ctx, in.BorrowerID); in.BorrowerID == 0 || err != nil || b.Disabled {
		v.Addf("borrower_id", custos.CodeUnknown)
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	f, _, err := a.loadPaper(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	if f.Status != custos.PaperInPlace {
		return nil, nil, custos.Errorf(custos.EConflict, "档案不在库，不能借出", "the file is not in place and cannot be lent")
	}
	cur, err := a.db.Reader().Customer(ctx, f.CustomerID)
	if err != nil {
		return nil, nil, internal("customer", err)
	}
	if cur.Sensitivity == custos.Protected {
		// Approval of a protected customer's file is for the customer's
		// own unit, wherever the cabinet stands; the approval is the
		// borrower's right to it.
		var out *custos.Request
		err := a.db.Write(ctx, func(tx *sqlstore.Tx) error {
			r, err := a.newRequest(ctx, tx, actor, custos.KindPaperLoan, cur.OrgID, cur.ID, strings.TrimSpace(in.Reason),
				fmt.Sprintf("%s · 纸质档案 #%d · 至 %s", cur.ArchiveNo, f.ID, in.Due))
			if err != nil {
				return err
			}
			r.SubjectID = itoa(f.ID)
			if err := a.insertRequest(ctx, tx, actor, r, cur.WrappedKey, PaperLoanPayload{FileID: f.ID, BorrowerID: in.BorrowerID, DueAt: due}); err != nil {
				return err
			}
			out = &r.Request
			return nil
		})
		if err != nil {
			return nil, nil, internal("request paper loan", err)
		}
		a.notifyFiled(ctx, out)
		return nil, out, nil
	}
	// A normal customer's file goes only to someone who may read the
	// customer: paper is no way round the portfolio (R-C1, R-H1).
	if ok, err := a.borrowerMayRead(ctx, in.BorrowerID, cur); err != nil {
		return nil, nil, err
	} else if !ok {
		return nil, nil, a.denied(ctx, actor, custos.ActPaperManage, cur.ID, "borrower_out_of_scope",
			(&custos.Validation{Fields: []custos.FieldError{{Field: "borrower_id", Code: custos.CodeNotAllowed,
				Message: custos.Message{ZH: "借阅人无权查阅该客户档案，须先申请访问权限", EN: "the borrower may not read this customer's archive; they must ask for access first"}}}}).Err())
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		return a.lend(ctx, tx, actor, f, in.BorrowerID, due, 0)
	})
	if err != nil {
		return nil, nil, internal("lend paper file", err)
	}
	view, err := a.paperView(ctx, f, now)
	return view, nil, internal("paper file", err)
}

// borrowerMayRead decides whether a borrower could read the customer
// themselves (portfolio, unit or grant), as custos.Decide would for them.
func (a *App) borrowerMayRead(ctx context.Context, borrowerID int64, cur *sqlstore.CustomerRecord) (bool, error) {
	rd := a.db.Reader()
	u, err := rd.User(ctx, borrowerID)
	if err != nil {
		return false, internal("load borrower", err)
	}
	o, err := rd.Org(ctx, u.OrgID)
	if err != nil {
		return false, internal("load borrower's unit", err)
	}
	if err := a.placeRecords(ctx, cur); err != nil {
		return false, err
	}
	d, err := a.decideOn(ctx, ActorFor(u, o, "", "", "", "service"), cur, custos.ActCustomerRead)
	return d.Allowed, err
}

func (a *App) lend(ctx context.Context, tx *sqlstore.Tx, actor custos.Actor, f *sqlstore.PaperRecord, borrower int64, due time.Time, requestID int64) error {
	if f.Status != custos.PaperInPlace {
		return custos.Errorf(custos.EConflict, "档案不在库，不能借出", "the file is not in place and cannot be lent")
	}
	f.Status, f.BorrowerID, f.DueAt = custos.PaperLent, borrower, &due
	if err := tx.UpdatePaperFile(ctx, &f.PaperFile); err != nil {
		return err
	}
	if err := tx.InsertMovement(ctx, &custos.PaperMovement{FileID: f.ID, Kind: custos.MoveLend, FromID: f.LocationID, BorrowerID: borrower,
		DueAt: &due, RequestID: requestID, By: actor.UserID, At: a.now()}); err != nil {
		return err
	}
	ev := a.event(actor, "paper.lend", f.CustomerID, custos.OutcomeOK, "")
	ev.Detail = detail(map[string]any{"file": f.ID, "borrower": borrower, "due_at": due, "request": requestID})
	return a.appendTx(ctx, tx, ev)
}

func (a *App) applyPaperLoan(ctx context.Context, tx *sqlstore.Tx, approver custos.Actor, r *sqlstore.RequestRecord) error {
	cur, err := tx.Customer(ctx, r.CustomerID)
	if err != nil {
		return err
	}
	var p PaperLoanPayload
	if err := a.openPayload(r, cur.WrappedKey, &p); err != nil {
		return err
	}
	f, err := tx.PaperFile(ctx, p.FileID)
	if err != nil {
		return err
	}
	return a.lend(ctx, tx, approver, f, p.BorrowerID, p.DueAt, r.ID)
}

// ReturnPaperFile takes a lent file back, with the custodian's inspection.
func (a *App) ReturnPaperFile(ctx context.Context, actor custos.Actor, id int64, inspection string) (*PaperView, error) {
	inspection = strings.TrimSpace(inspection)
	if inspection == "" {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "inspection", Code: custos.CodeRequired,
			Message: custos.Message{ZH: "归还须记录检查结果（如：完好、缺页）", EN: "a return needs the inspection result (e.g. complete, pages missing)"}}}}).Err()
	}
	f, _, err := a.loadPaper(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if f.Status != custos.PaperLent {
		return nil, custos.Errorf(custos.EConflict, "档案未借出", "the file is not lent")
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		borrower := f.BorrowerID
		g := *f
		g.Status, g.BorrowerID, g.DueAt = custos.PaperInPlace, 0, nil
		if err := tx.UpdatePaperFile(ctx, &g.PaperFile); err != nil {
			return err
		}
		if err := tx.InsertMovement(ctx, &custos.PaperMovement{FileID: f.ID, Kind: custos.MoveReturn, ToID: f.LocationID, BorrowerID: borrower,
			Inspection: inspection, By: actor.UserID, At: a.now()}); err != nil {
			return err
		}
		ev := a.event(actor, "paper.return", f.CustomerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"file": f.ID, "borrower": borrower})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("return paper file", err)
	}
	f.Status, f.BorrowerID, f.DueAt = custos.PaperInPlace, 0, nil
	v, err := a.paperView(ctx, f, a.now())
	return v, internal("paper file", err)
}

// TransferPaperFile moves a file in place to another secure location.
func (a *App) TransferPaperFile(ctx context.Context, actor custos.Actor, id, to int64) (*PaperView, error) {
	f, from, err := a.loadPaper(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if f.Status != custos.PaperInPlace {
		return nil, custos.Errorf(custos.EConflict, "借出中的档案不能转移", "a lent file cannot be transferred")
	}
	dest, err := a.db.Reader().Location(ctx, to)
	if err != nil || !dest.Active || dest.CustodianID == 0 {
		return nil, (&custos.Validation{Fields: []custos.FieldError{{Field: "to_location_id", Code: custos.CodeNotAllowed,
			Message: custos.Message{ZH: "目标位置须为有保管员的安全位置", EN: "the destination must be a secure location with a custodian"}}}}).Err()
	}
	if err := a.requirePaper(ctx, actor, dest); err != nil {
		return nil, err
	}
	err = a.db.Write(ctx, func(tx *sqlstore.Tx) error {
		g := *f
		g.LocationID = dest.ID
		if err := tx.UpdatePaperFile(ctx, &g.PaperFile); err != nil {
			return err
		}
		if err := tx.InsertMovement(ctx, &custos.PaperMovement{FileID: f.ID, Kind: custos.MoveTransfer, FromID: from.ID, ToID: dest.ID, By: actor.UserID, At: a.now()}); err != nil {
			return err
		}
		ev := a.event(actor, "paper.transfer", f.CustomerID, custos.OutcomeOK, "")
		ev.Detail = detail(map[string]any{"file": f.ID, "from": from.ID, "to": dest.ID})
		return a.appendTx(ctx, tx, ev)
	})
	if err != nil {
		return nil, internal("transfer paper file", err)
	}
	f.LocationID = dest.ID
	v, err := a.paperView(ctx, f, a.now())
	return v, internal("paper file", err)
}

// RemindOverdue sends reminders for overdue files to their borrowers and
// custodians (a scheduled job) and returns how many files are overdue.
func (a *App) RemindOverdue(ctx context.Context) (int, error) {
	now := a.now()
	recs, err := a.db.Reader().PaperFiles(ctx, sqlstore.PaperQuery{DueBefore: now})
	if err != nil {
		return 0, err
	}
	if a.notifier == nil {
		return len(recs), nil
	}
	rd := a.db.Reader()
	for _, f := range recs {
		var to []string
		if u, err := rd.User(ctx, f.BorrowerID); err == nil && u.Email != "" {
			to = append(to, u.Email)
		}
		if loc, err := rd.Location(ctx, f.LocationID); err == nil {
			if u, err := rd.User(ctx, loc.CustodianID); err == nil && u.Email != "" {
				to = append(to, u.Email)
			}
		}
		a.send(ctx, to, fmt.Sprintf("[Custos] 纸质档案 #%d 已逾期", f.ID),
			fmt.Sprintf("纸质档案 #%d 应于 %s 归还，请尽快归还。\nPaper file #%d was due back on %s; please return it.", f.ID, f.DueAt.Format(time.DateOnly), f.ID, f.DueAt.Format(time.DateOnly)))
	}
	return len(recs), nil
}
