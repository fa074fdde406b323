// Package quota holds what the domain services need to refuse floods: per
// user rates counted in the store (so every node of a cluster sees the same
// counts, and memory stays flat however many users there are), and the
// error every refused rate or cap returns.
//
// The rules themselves (which rate, which cap, what default) live in the
// domain packages' Limits; this package only counts and words the refusal.
package quota

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Events is the store's side: timestamped events per app, user and kind.
// The events of a user and kind never outnumber the largest rate checked
// on them, because AddEvents forgets what no window can see any more.
type Events interface {
	// CountEvents returns, per user, how many events of kind were recorded
	// at or after since. Users without any are absent from the map.
	CountEvents(ctx context.Context, appID int64, kind string, userIDs []int64, since time.Time) (map[int64]int, error)
	// AddEvents records one event of kind for each user, at at, and drops
	// those users' events of kind older than forget.
	AddEvents(ctx context.Context, appID int64, kind string, userIDs []int64, at, forget time.Time) error
}

// Rate is at most N events per window Per; N 0 is no limit. Setting is the
// name an operator sets it by (a parley serve flag).
type Rate struct {
	Setting string
	N       int
	Per     time.Duration
}

// Error is a refusal: a rate (REST 429) or a cap (REST 422). Msg names the
// limit and its setting; Err, when set, is what errors.Is also matches (a
// domain's older error for the same refusal).
type Error struct {
	Setting string
	Limit   int
	Rate    bool
	Msg     string
	Err     error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Cap returns the refusal of a count that reached its cap.
func Cap(setting string, limit int, what string) *Error {
	return &Error{Setting: setting, Limit: limit, Msg: fmt.Sprintf("%s: the limit is %d (setting %s)", what, limit, setting)}
}

// Window words a rate's window: "minute", "hour", or a duration.
func Window(per time.Duration) string {
	switch per {
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return per.String()
}

// Check refuses (with *Error) when one more event of kind for any of users
// would go over a rate. what words the refused action for a user, e.g.
// "too many dialogs created".
func Check(ctx context.Context, ev Events, appID int64, kind string, users []int64, now time.Time, what func(user int64) string, rates ...Rate) error {
	if len(users) == 0 {
		return nil
	}
	for _, r := range rates {
		if r.N <= 0 {
			continue
		}
		counts, err := ev.CountEvents(ctx, appID, kind, users, now.Add(-r.Per))
		if err != nil {
			return fmt.Errorf("quota: count %s: %w", kind, err)
		}
		for _, u := range users {
			if counts[u]+1 > r.N {
				return &Error{Setting: r.Setting, Limit: r.N, Rate: true,
					Msg: fmt.Sprintf("%s: at most %d per %s (setting %s); try again later", what(u), r.N, Window(r.Per), r.Setting)}
			}
		}
	}
	return nil
}

// Record counts one event of kind for each of users at now, forgetting
// what the longest of rates no longer sees. Nothing is recorded when every
// rate is unlimited.
func Record(ctx context.Context, ev Events, appID int64, kind string, users []int64, now time.Time, rates ...Rate) error {
	var longest time.Duration
	for _, r := range rates {
		if r.N > 0 {
			longest = max(longest, r.Per)
		}
	}
	if longest == 0 || len(users) == 0 {
		return nil
	}
	if err := ev.AddEvents(ctx, appID, kind, users, now, now.Add(-longest)); err != nil {
		return fmt.Errorf("quota: record %s: %w", kind, err)
	}
	return nil
}

// User words a user id for a message.
func User(id int64) string { return "user " + strconv.FormatInt(id, 10) }
