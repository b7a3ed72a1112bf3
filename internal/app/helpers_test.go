package app_test

import (
	"github.com/custos-cim/custos"
	"github.com/custos-cim/custos/internal/app"
)

func apptestQuery(customerID, action string) app.AuditQuery {
	return app.AuditQuery{CustomerID: customerID, AuditFilter: custos.AuditFilter{Action: action}}
}
