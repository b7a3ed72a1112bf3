package custos

import (
	"context"
	"fmt"
	"testing"
)

// TestCanceledIsNotInternal_RC8: a caller that went away is not a failure
// of the server, however deep the cancellation is wrapped.
func TestCanceledIsNotInternal_RC8(t *testing.T) {
	wrapped := (&Error{Code: EInternal, Message: Message{ZH: "内部错误", EN: "internal error"}}).Wrap(fmt.Errorf("find customers: %w", context.Canceled))
	for _, err := range []error{context.Canceled, fmt.Errorf("page 3: %w", context.Canceled), wrapped} {
		if got := ErrorCodeOf(err); got != ECanceled {
			t.Errorf("ErrorCodeOf(%v) = %q, want %q", err, got, ECanceled)
		}
		if m := ErrorMessageOf(err); m.EN == "internal error" || m.ZH == "" {
			t.Errorf("ErrorMessageOf(%v) = %+v", err, m)
		}
	}
	if got := ErrorCodeOf(fmt.Errorf("disk: %w", context.DeadlineExceeded)); got != EInternal {
		t.Errorf("a deadline of the server's own is still internal: %q", got)
	}
}
