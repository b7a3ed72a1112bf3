package web

import (
	"strconv"
	"strings"

	"github.com/custos-cim/custos"
)

// Search and list pages answer a bogus filter value (a status that does
// not exist, a page number that is not one or runs past the last possible
// page) with 422 and the fields named in the page's language, instead of
// quietly ignoring it. The rules are the domain's (custos.*Filter.Validate,
// called by the services); the pages only parse numbers and show the
// answer.

// filterMessages joins the main catalogue at start-up.
var filterMessages = map[string]struct{ zh, en string }{
	"filter.invalid": {"查询条件有误，请检查下列项目。", "Some search conditions are not valid; check the items below."},
	"filter.field":   {"查询条件", "Search condition"},
	"list.page":      {"页码", "Page"},
	"list.page_size": {"每页条数", "Page size"},
	"audit.before":   {"翻页位置", "Paging position"},
	"audit.limit":    {"条数", "Number of events"},
	"request.limit":  {"条数", "Number of requests"},
}

func init() {
	for k, v := range filterMessages {
		if _, dup := messages[k]; dup {
			panic("web: catalogue key defined twice: " + k)
		}
		messages[k] = v
	}
}

// filterErrors names the fields of a validation failure with the labels
// of the page's form (labels: field → catalogue key).
func filterErrors(p *page, err error, labels map[string]string) []fieldMessage {
	e, ok := asError(err)
	if !ok {
		return nil
	}
	var out []fieldMessage
	for _, f := range e.Fields {
		key, ok := labels[f.Field]
		if !ok && strings.HasPrefix(f.Field, "class.") {
			key, ok = labels["class"]
		}
		if !ok {
			key = "filter.field"
		}
		out = append(out, fieldMessage{Field: p.T(key), Message: p.M(f.Message)})
	}
	return out
}

// formInt reads an optional whole number of a form; a value that is not
// one is a field error.
func formInt(v *custos.Validation, field, s string) int64 {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		v.Addf(field, custos.CodeInvalidFormat)
	}
	return n
}
