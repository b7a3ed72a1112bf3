package app_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

func apptestQuery(customerID, action string) app.AuditQuery {
	return app.AuditQuery{CustomerID: customerID, AuditFilter: custos.AuditFilter{Action: action}}
}

// pgExec runs one statement on its own connection to the PostgreSQL server
// at url (a benchmark's CHECKPOINT or VACUUM, which the store never runs).
func pgExec(t testing.TB, url, stmt string) {
	t.Helper()
	pg, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
