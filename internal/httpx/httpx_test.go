package httpx

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/custos-cim/custos"
)

// TestCanceledAnswers499_RC8: an export whose client gave up answered 500
// and logged a server failure; a canceled request now answers 499.
func TestCanceledAnswers499_RC8(t *testing.T) {
	if got := Status(custos.ECanceled); got != StatusClientClosedRequest {
		t.Fatalf("Status(ECanceled) = %d", got)
	}
	w := httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("POST", "/api/v1/exports", nil), nil, context.Canceled)
	if w.Code != 499 {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
}
