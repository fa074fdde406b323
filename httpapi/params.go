package httpapi

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ops are the filter operators of the ConnectyCube API.
var ops = map[string]bool{"lt": true, "lte": true, "gt": true, "gte": true, "ne": true, "in": true, "nin": true, "all": true, "ctn": true}

// filterParam is one parsed filter: field, operator, values.
type filterParam struct {
	field, op string
	values    []string
}

// parseFilters turns query keys like `type[in]=2,3`, `_id[]=a&_id[]=b`,
// `updated_at[gt]=...` and `extensions[color]=red` into filters. Keys in
// reserved are not filters.
func parseFilters(q url.Values, reserved map[string]bool) ([]filterParam, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []filterParam
	for _, raw := range keys {
		if reserved[raw] {
			continue
		}
		k := strings.TrimSuffix(raw, "[]")
		field, op := k, ""
		// The last bracket may hold an operator: field[op] or extensions[x][op].
		if i := strings.LastIndex(k, "["); i > 0 && strings.HasSuffix(k, "]") {
			inner := k[i+1 : len(k)-1]
			if ops[inner] {
				field, op = k[:i], inner
			}
		}
		if strings.HasPrefix(field, "extensions[") && strings.HasSuffix(field, "]") {
			field = "extensions." + field[len("extensions["):len(field)-1]
		}
		if reserved[field] || field == "" || strings.ContainsAny(field, "[]") {
			if reserved[field] {
				continue
			}
			return nil, badRequest("unknown parameter " + raw)
		}
		var vals []string
		for _, v := range q[raw] {
			if op == "in" || op == "nin" || op == "all" || strings.HasSuffix(raw, "[]") || (op == "" && strings.Contains(v, ",")) {
				vals = append(vals, splitList(v)...)
			} else {
				vals = append(vals, strings.TrimSpace(v))
			}
		}
		if err := checkListLen(raw, len(vals)); err != nil {
			return nil, err
		}
		if op == "" && len(vals) > 1 {
			op = "in"
		}
		out = append(out, filterParam{field, op, vals})
	}
	return out, nil
}

// intList accepts a JSON array of numbers or numeric strings, or the SDK's
// "6, 7" string.
type intList []int64

func (l *intList) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return badRequest("expected a list of user ids")
	}
	var items []any
	switch t := raw.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		for _, p := range splitList(t) {
			items = append(items, p)
		}
	case []any:
		items = t
	case float64:
		items = []any{t}
	default:
		return badRequest("expected a list of user ids")
	}
	if len(items) > MaxBodyListItems {
		return badRequest("at most " + strconv.Itoa(MaxBodyListItems) + " user ids per list")
	}
	out := intList{}
	for _, it := range items {
		switch v := it.(type) {
		case float64:
			out = append(out, int64(v))
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return badRequest("not a user id: " + v)
			}
			out = append(out, n)
		default:
			return badRequest("expected a list of user ids")
		}
	}
	*l = out
	return nil
}

// strList accepts a JSON array of strings or a comma-joined string.
type strList []string

func (l *strList) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return badRequest("expected a list")
	}
	switch t := raw.(type) {
	case nil:
		*l = nil
	case string:
		*l = splitList(t)
		if len(*l) > MaxBodyListItems {
			return badRequest("at most " + strconv.Itoa(MaxBodyListItems) + " items per list")
		}
	case []any:
		if len(t) > MaxBodyListItems {
			return badRequest("at most " + strconv.Itoa(MaxBodyListItems) + " items per list")
		}
		out := strList{}
		for _, it := range t {
			s, ok := it.(string)
			if !ok {
				return badRequest("expected a list of strings")
			}
			out = append(out, s)
		}
		*l = out
	default:
		return badRequest("expected a list")
	}
	return nil
}

// flexBool accepts true/false, 1/0 and their strings.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(b), `"`) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return badRequest("expected a boolean, got " + string(b))
	}
	return nil
}

// truthy reads a query flag: 1, true.
func truthy(v string) bool { return v == "1" || v == "true" }

// pathList splits "{a,b}.json" path values; at most MaxListItems.
func pathList(v string) ([]string, error) {
	l := splitList(strings.TrimSuffix(v, ".json"))
	return l, checkListLen("ids in the path", len(l))
}

// queryList splits a comma-joined query parameter; at most MaxListItems.
func queryList(q url.Values, name string) ([]string, error) {
	l := splitList(q.Get(name))
	return l, checkListLen(name, len(l))
}

func intParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest(name + " must be a non-negative integer")
	}
	return n, nil
}

// Limits on what a request may ask for, so no input reaches a store query
// it cannot run (a 5xx) or makes one unduly costly. Each refusal is a 400
// naming the limit.
const (
	// MaxListItems caps the ids or values one list parameter (a filter, a
	// path list "{a,b}", chat_dialog_ids) may hold.
	MaxListItems = 100
	// MaxBodyListItems caps a list in a JSON body (occupants_ids, ...).
	MaxBodyListItems = 1000
	// MaxQueryParams caps the distinct query parameters of a request.
	MaxQueryParams = 32
	// MaxParamKey caps a query parameter's name, bytes.
	MaxParamKey = 128
	// MaxParamValue caps a query parameter's value, bytes.
	MaxParamValue = 4096
	// MaxSearchText caps search_text and full_name searches, bytes.
	MaxSearchText = 256
)

func checkListLen(name string, n int) error {
	if n > MaxListItems {
		return badRequest(name + ": at most " + strconv.Itoa(MaxListItems) + " items per request")
	}
	return nil
}

// checkQuery holds a request's query string to the limits above and
// refuses control characters and invalid UTF-8 in names and values.
func checkQuery(q url.Values) error {
	if len(q) > MaxQueryParams {
		return badRequest("at most " + strconv.Itoa(MaxQueryParams) + " query parameters")
	}
	for k, vs := range q {
		if len(k) > MaxParamKey {
			return badRequest("query parameter name longer than " + strconv.Itoa(MaxParamKey) + " bytes")
		}
		if err := checkText("query parameter name "+strconv.Quote(k), k); err != nil {
			return err
		}
		if len(vs) > MaxListItems {
			return badRequest(k + ": repeated more than " + strconv.Itoa(MaxListItems) + " times")
		}
		for _, v := range vs {
			if len(v) > MaxParamValue {
				return badRequest(k + ": value longer than " + strconv.Itoa(MaxParamValue) + " bytes")
			}
			if err := checkText(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText refuses control characters and invalid UTF-8.
func checkText(name, s string) error {
	if !utf8.ValidString(s) {
		return badRequest(name + ": not valid UTF-8")
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return badRequest(name + ": control characters are not allowed")
		}
	}
	return nil
}
