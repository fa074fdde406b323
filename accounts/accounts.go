// Package accounts holds Parley's tenants (apps), their users and the
// sessions users authenticate with, plus the rules that govern them.
//
// Every record carries the id of the app it belongs to: apps are tenants and
// nothing crosses from one to another.
package accounts

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"time"
)

// App is a tenant. Users, dialogs and messages all belong to exactly one app.
type App struct {
	ID   int64
	Name string
	// AuthKey is the plain key, set only on the App that CreateApp or
	// RotateAuthKey return (it is shown once); stores keep AuthKeyHash.
	AuthKey     string
	AuthKeyHash []byte
	// DialogTypes is how the app numbers dialog types on the wire:
	// "docs" (ConnectyCube's documentation: 1 broadcast, 4 public) or ""
	// (the SDK's enum: 1 public, 4 broadcast; the default).
	DialogTypes string
	// Guests lets anyone start a guest session (a user marked as a guest,
	// removed after an idle time). Off by default.
	Guests bool
	// AutoCreateUsers lets POST /session.json create a user that does not exist
	// yet (ConnectyCube's "create user on the fly"). Off by default.
	AutoCreateUsers bool
	// ShowContacts lets a user session see other users' email and phone.
	// Off by default: others then see only the public profile; an app
	// session (no user) never sees them.
	ShowContacts bool
	// ArchiveAll stores every chat and groupchat message in the archive,
	// what XEP-0313 (MAM) clients expect. Off by default: ConnectyCube's
	// rule, only messages sent with save_to_history=1 are stored.
	ArchiveAll bool
	// DialogExtensions lists the dialog custom fields the app accepts;
	// empty accepts any name.
	DialogExtensions []string
	CreatedAt        time.Time
}

// User is an account inside one app.
type User struct {
	ID         int64
	AppID      int64
	Login      string
	Email      string
	FullName   string
	Phone      string
	Website    string
	CustomData string
	ExternalID string
	// Avatar is the user's picture: the uid of a public file, or a URL.
	Avatar string
	// Guest marks a user a guest session made; guests are removed after
	// an idle time.
	Guest         bool
	Tags          []string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastRequestAt time.Time
}

// Session is an authenticated API session. An app session has UserID 0.
// The token itself is never stored: only its SHA-256 (for CB-Token lookups)
// and, for user sessions, SCRAM keys derived with the user's salt so the token
// also works as an XMPP password under every SASL mechanism.
type Session struct {
	ID        int64
	AppID     int64
	UserID    int64
	TokenHash []byte
	Keys      ScramKeys
	CreatedAt time.Time
	ExpiresAt time.Time
}

// HashAuthKey is what stores keep of an app's auth key.
func HashAuthKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CheckAuthKey reports, in constant time, whether key is the app's auth key.
func (a *App) CheckAuthKey(key string) bool {
	return len(a.AuthKeyHash) == sha256.Size && subtle.ConstantTimeCompare(HashAuthKey(key), a.AuthKeyHash) == 1
}

// Live reports whether the session is still usable at now.
func (s *Session) Live(now time.Time) bool { return now.Before(s.ExpiresAt) }

// Errors returned by the service and by stores. HTTP and XMPP map them to
// their own wire errors.
var (
	ErrNotFound       = errors.New("accounts: not found")
	ErrUnauthorized   = errors.New("accounts: unauthorized")
	ErrForbidden      = errors.New("accounts: forbidden")
	ErrSessionExpired = errors.New("accounts: session expired")
	ErrConflict       = errors.New("accounts: already exists")
)

// ValidationError names the fields that were rejected and why.
type ValidationError map[string][]string

func (v ValidationError) Error() string {
	for k, msgs := range v {
		if len(msgs) > 0 {
			return "accounts: " + k + " " + msgs[0]
		}
	}
	return "accounts: invalid input"
}
