package accounts

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Guest sessions: an app that allows them lets anyone in as a new user
// marked a guest, with the name they give; guests idle longer than a while
// are removed, with everything they owned.

// CreateGuestSession makes a guest user of app and a session for it.
func (s *Service) CreateGuestSession(ctx context.Context, appID int64, authKey, fullName string) (*Session, string, *User, error) {
	app, err := s.store.App(ctx, appID)
	if err != nil || !app.CheckAuthKey(authKey) {
		return nil, "", nil, ErrUnauthorized
	}
	if !app.Guests {
		return nil, "", nil, ValidationError{"guest": {"guest sessions are not enabled for this app (parley app create --guests)"}}
	}
	name := strings.TrimSpace(fullName)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return nil, "", nil, ValidationError{"full_name": {"a guest gives a name of 1 to 200 characters"}}
	}
	login, pw := "guest-"+randomHex(8), randomHex(24)
	u, err := s.createUser(ctx, appID, UserInput{Login: &login, FullName: &name, Password: &pw}, true)
	if err != nil {
		return nil, "", nil, err
	}
	sess, token, err := s.newSession(ctx, appID, u)
	return sess, token, u, err
}

// SweepGuests deletes the guests of every app whose last request is older
// than idle (at most limit of them), and returns them.
func (s *Service) SweepGuests(ctx context.Context, idle time.Duration, limit int) ([]User, error) {
	apps, err := s.store.Apps(ctx)
	if err != nil {
		return nil, err
	}
	var out []User
	for _, app := range apps {
		if !app.Guests {
			continue
		}
		guests, _, err := s.store.Users(ctx, app.ID, UserQuery{GuestsIdleBefore: s.now().Add(-idle), Limit: limit - len(out)})
		if err != nil {
			return out, err
		}
		for i := range guests {
			if err := s.DeleteUser(ctx, app.ID, guests[i].ID); err != nil {
				return out, err
			}
			out = append(out, guests[i])
		}
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}
