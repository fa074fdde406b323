package dialogs

import (
	"fmt"
	"strconv"
	"time"
)

// FilterError is a list filter that cannot be applied (unknown field,
// operator or value); the API answers it with 400.
type FilterError struct{ Msg string }

func (e *FilterError) Error() string { return e.Msg }

// ParseTime accepts unix seconds or an ISO-8601 date, as the SDK sends both.
func ParseTime(v string) (int64, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return int64(n), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("%q is neither unix seconds nor an ISO-8601 date", v)
}
