package accounts

import (
	"context"
	"time"

	"github.com/parley-chat/parley/quota"
)

// AppStore keeps apps.
type AppStore interface {
	// CreateApp stores app under a new id, or under app.ID when it is set;
	// ErrConflict when that id is taken.
	CreateApp(ctx context.Context, app *App) error
	App(ctx context.Context, id int64) (*App, error)
	Apps(ctx context.Context) ([]App, error)
	// SetAppAuthKeyHash replaces an app's auth key (ErrNotFound if none).
	SetAppAuthKeyHash(ctx context.Context, id int64, hash []byte) error
}

// UserStore keeps users and their credentials. Login and email are unique
// inside an app; a clash returns ErrConflict.
type UserStore interface {
	CreateUser(ctx context.Context, u *User, c *Credentials) error
	User(ctx context.Context, appID, id int64) (*User, error)
	UserByLogin(ctx context.Context, appID int64, login string) (*User, error)
	UserByEmail(ctx context.Context, appID int64, email string) (*User, error)
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, appID, id int64) error
	Users(ctx context.Context, appID int64, q UserQuery) ([]User, int, error)
	Credentials(ctx context.Context, appID, userID int64) (*Credentials, error)
	// SetLastSeen records when the user's last session ended; LastSeen reads
	// it (zero when never).
	SetLastSeen(ctx context.Context, appID, userID int64, at time.Time) error
	LastSeen(ctx context.Context, appID, userID int64) (time.Time, error)
	SetCredentials(ctx context.Context, appID, userID int64, c *Credentials) error
}

// SessionStore keeps API sessions, found by the hash of their token.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	SessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)
	// LiveSessions returns the user's sessions that have not expired at now.
	LiveSessions(ctx context.Context, appID, userID int64, now time.Time) ([]Session, error)
	DeleteSession(ctx context.Context, id int64) error
	// DeleteUserSessions deletes the user's sessions but except (0: all).
	DeleteUserSessions(ctx context.Context, appID, userID, except int64) (int64, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
	// TrimSessions deletes the user's sessions but the newest keep and
	// returns the ids of those it deleted.
	TrimSessions(ctx context.Context, appID, userID int64, keep int) ([]int64, error)
}

// SettingStore keeps installation-wide values every node shares.
type SettingStore interface {
	// Setting returns the value stored under key, first storing init when
	// the key has none. Racing callers, on any node, all get the one value
	// that was stored first.
	Setting(ctx context.Context, key string, init []byte) ([]byte, error)
}

// Store is everything the accounts service needs from storage.
type Store interface {
	AppStore
	UserStore
	SessionStore
	SettingStore
	// Events counts session creations for Limits.
	quota.Events
}

// UserQuery filters and pages a user listing. Empty fields do not filter.
type UserQuery struct {
	IDs         []int64
	Logins      []string
	Emails      []string
	ExternalIDs []string
	Phones      []string
	Tags        []string // users with any of them
	// GuestsIdleBefore, when set, lists only guests whose last request
	// (or creation) is before it.
	GuestsIdleBefore time.Time
	FullName         string // substring match
	SortField        string // "id", "created_at", "updated_at", "login", "full_name"
	SortDesc         bool
	Limit            int
	Offset           int
}
