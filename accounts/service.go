package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/quota"
)

// Service applies the account rules on top of a Store.
type Service struct {
	store Store
	// TokenTTL is how long a new session token stays valid.
	TokenTTL time.Duration
	// Iterations is the PBKDF2 count for new passwords.
	Iterations int
	now        func() time.Time

	secretMu sync.Mutex
	secret   []byte // the installation secret, once read

	limits atomic.Pointer[Limits]

	// Revoked, when set, is told of each session the token cap revoked, so
	// the streams signed in with it end too.
	Revoked func(appID, userID, sessionID int64)
	// Owned is data other packages keep per user (a roster...), forgotten
	// when the user is deleted.
	Owned []UserData
	// Pictures checks an avatar that names an uploaded file; nil takes
	// any value.
	Pictures PictureCheck
	// AvatarSet, when set, is told of each avatar a user sets (the PEP
	// avatar follows the profile's).
	AvatarSet func(ctx context.Context, appID, userID int64, avatar string)
}

// Limits bound the session tokens of one user. Zero disables a limit.
// Every field is a parley serve setting, named in its comment.
type Limits struct {
	// SessionsPerMinute and SessionsPerHour bound the user sessions (tokens)
	// created for one user: session-tokens-per-minute, session-tokens-per-hour.
	SessionsPerMinute, SessionsPerHour int
	// MaxSessions bounds one user's stored sessions: creating one more
	// revokes the oldest, as a client that logs in anew expects its new
	// token to work (session-tokens-per-user).
	MaxSessions int
}

// DefaultLimits are the limits of a new Service.
func DefaultLimits() Limits {
	return Limits{SessionsPerMinute: 30, SessionsPerHour: 300, MaxSessions: 50}
}

// SetLimits replaces the limits (safe while serving: a reload).
func (s *Service) SetLimits(l Limits) { s.limits.Store(&l) }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return *s.limits.Load() }

func (l Limits) sessionRates() []quota.Rate {
	return []quota.Rate{{Setting: "session-tokens-per-minute", N: l.SessionsPerMinute, Per: time.Minute},
		{Setting: "session-tokens-per-hour", N: l.SessionsPerHour, Per: time.Hour}}
}

// eventSession is the event kind of a user session created.
const eventSession = "session.created"

// NewService returns a Service with a 2 h token lifetime and DefaultLimits.
func NewService(store Store) *Service {
	s := &Service{store: store, TokenTTL: 2 * time.Hour, Iterations: DefaultIterations, now: time.Now}
	s.SetLimits(DefaultLimits())
	return s
}

// SetClock replaces the service's clock (tests of expiry).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// AppOptions are an app's settings.
type AppOptions struct {
	// AutoCreateUsers lets POST /session.json create unknown users.
	AutoCreateUsers bool
	// Guests allows guest sessions.
	Guests bool
	// ShowContacts lets users see each other's email and phone.
	ShowContacts bool
	// ArchiveAll stores every chat message, not only save_to_history=1.
	ArchiveAll bool
	// DialogExtensions limits dialog custom fields to these names.
	DialogExtensions []string
	// DialogTypes is "docs" for the documentation's type numbers, "" or
	// "sdk" for the SDK's.
	DialogTypes string
}

// CreateApp makes a new tenant with a random auth key. The returned App
// carries the plain key; only its hash is stored.
func (s *Service) CreateApp(ctx context.Context, name string, opt AppOptions) (*App, error) {
	switch opt.DialogTypes {
	case "", "sdk":
		opt.DialogTypes = ""
	case "docs":
	default:
		return nil, ValidationError{"dialog_types": {"is docs (1 broadcast, 4 public) or sdk (1 public, 4 broadcast)"}}
	}
	app := &App{Name: name, Guests: opt.Guests, AutoCreateUsers: opt.AutoCreateUsers, ShowContacts: opt.ShowContacts, ArchiveAll: opt.ArchiveAll, DialogExtensions: opt.DialogExtensions, DialogTypes: opt.DialogTypes, CreatedAt: s.now().UTC()}
	app.AuthKey = randomHex(16)
	app.AuthKeyHash = HashAuthKey(app.AuthKey)
	if err := s.store.CreateApp(ctx, app); err != nil {
		return nil, err
	}
	return app, nil
}

// DefaultAppID is the app the first start creates.
const DefaultAppID = 1

// EnsureDefaultApp creates app 1 ("default") when the store has no app.
// Nodes of a cluster starting together all call it: the one whose insert
// of id 1 lands gets created true and the App with its plain key; the
// others get created false and the stored app.
func (s *Service) EnsureDefaultApp(ctx context.Context) (app *App, created bool, err error) {
	apps, err := s.store.Apps(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(apps) > 0 {
		return &apps[0], false, nil
	}
	app = &App{ID: DefaultAppID, Name: "default", CreatedAt: s.now().UTC()}
	app.AuthKey = randomHex(16)
	app.AuthKeyHash = HashAuthKey(app.AuthKey)
	err = s.store.CreateApp(ctx, app)
	if errors.Is(err, ErrConflict) {
		// Another node created it first.
		app, err = s.store.App(ctx, DefaultAppID)
		return app, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return app, true, nil
}

// RotateAuthKey gives an app a new random auth key and returns it (shown
// once). Clients holding the old key can no longer create sessions.
func (s *Service) RotateAuthKey(ctx context.Context, appID int64) (string, error) {
	key := randomHex(16)
	if err := s.store.SetAppAuthKeyHash(ctx, appID, HashAuthKey(key)); err != nil {
		return "", err
	}
	return key, nil
}

// App returns an app by id.
func (s *Service) App(ctx context.Context, id int64) (*App, error) { return s.store.App(ctx, id) }

// AppByAuthKey finds the app an auth key belongs to (the SDK's sign-up
// with only the CB-AuthKey header names no app). Apps are few: each
// one's key hash is compared in constant time.
func (s *Service) AppByAuthKey(ctx context.Context, key string) (*App, error) {
	apps, err := s.store.Apps(ctx)
	if err != nil {
		return nil, err
	}
	for i := range apps {
		if apps[i].CheckAuthKey(key) {
			return &apps[i], nil
		}
	}
	return nil, ErrUnauthorized
}

// Apps lists every app.
func (s *Service) Apps(ctx context.Context) ([]App, error) { return s.store.Apps(ctx) }

// UserInput carries the writable fields of a user. Nil pointers are left
// unchanged on update.
type UserInput struct {
	Login, Email, FullName, Phone, Website, CustomData, ExternalID, Avatar *string
	Tags                                                                   []string
	Password                                                               *string
	OldPassword                                                            *string
	// KeepSession is the session making a password change: the one token
	// that stays valid.
	KeepSession int64
}

// Login identifies a user for a user session: by login or by email.
type Login struct {
	Login    string
	Email    string
	Password string
}

// CreateSession checks the app's auth key and, when login is non-nil, the
// user's password. It returns the session and its token, which is shown once.
func (s *Service) CreateSession(ctx context.Context, appID int64, authKey string, login *Login) (*Session, string, *User, error) {
	app, err := s.store.App(ctx, appID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, "", nil, ErrUnauthorized
		}
		return nil, "", nil, err
	}
	if !app.CheckAuthKey(authKey) {
		return nil, "", nil, ErrUnauthorized
	}
	var user *User
	if login != nil {
		user, err = s.loginUser(ctx, app, login)
		if err != nil {
			return nil, "", nil, err
		}
	}
	sess, token, err := s.newSession(ctx, app.ID, user)
	return sess, token, user, err
}

func (s *Service) loginUser(ctx context.Context, app *App, l *Login) (*User, error) {
	var u *User
	var err error
	switch {
	case l.Login != "":
		u, err = s.store.UserByLogin(ctx, app.ID, l.Login)
	case l.Email != "":
		u, err = s.store.UserByEmail(ctx, app.ID, l.Email)
	default:
		return nil, ValidationError{"base": {"login or email required"}}
	}
	if errors.Is(err, ErrNotFound) && app.AutoCreateUsers {
		in := UserInput{Password: &l.Password}
		if l.Login != "" {
			in.Login = &l.Login
		} else {
			in.Email = &l.Email
		}
		return s.CreateUser(ctx, app.ID, in)
	}
	if errors.Is(err, ErrNotFound) {
		// The same work as a wrong password, so timing does not tell.
		s.decoyDerivation(ctx, "login|"+strconv.FormatInt(app.ID, 10)+"|"+l.Login+"|"+l.Email, l.Password)
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	c, err := s.store.Credentials(ctx, app.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if !c.VerifyPassword(l.Password) {
		return nil, ErrUnauthorized
	}
	return u, nil
}

func (s *Service) newSession(ctx context.Context, appID int64, user *User) (*Session, string, error) {
	token := randomHex(20)
	now := s.now().UTC()
	sess := &Session{AppID: appID, TokenHash: hashToken(token), CreatedAt: now, ExpiresAt: now.Add(s.TokenTTL)}
	if user == nil {
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return nil, "", err
		}
		return sess, token, nil
	}
	l := s.Limits()
	err := quota.Check(ctx, s.store, appID, eventSession, []int64{user.ID}, now,
		func(u int64) string { return "too many sessions created for " + quota.User(u) }, l.sessionRates()...)
	if err != nil {
		return nil, "", err
	}
	sess.UserID = user.ID
	c, err := s.store.Credentials(ctx, appID, user.ID)
	if err != nil {
		return nil, "", err
	}
	// Same salt and count as the password: SCRAM announces them before it
	// knows which secret the client holds.
	sess.Keys = DeriveKeys(token, c.Salt, c.Iter)
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, "", err
	}
	if err := quota.Record(ctx, s.store, appID, eventSession, []int64{user.ID}, now, l.sessionRates()...); err != nil {
		return nil, "", err
	}
	if l.MaxSessions > 0 {
		revoked, err := s.store.TrimSessions(ctx, appID, user.ID, l.MaxSessions)
		if err != nil {
			return nil, "", err
		}
		if s.Revoked != nil {
			for _, id := range revoked {
				s.Revoked(appID, user.ID, id)
			}
		}
	}
	return sess, token, nil
}

// SessionByToken returns the live session a CB-Token names.
func (s *Service) SessionByToken(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, ErrUnauthorized
	}
	sess, err := s.store.SessionByTokenHash(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if !sess.Live(s.now()) {
		return nil, ErrSessionExpired
	}
	return sess, nil
}

// DeleteSession ends a session.
func (s *Service) DeleteSession(ctx context.Context, sess *Session) error {
	return s.store.DeleteSession(ctx, sess.ID)
}

// UpgradeSession logs a user into an existing app session (POST /login.json):
// a new user session is returned, the app session stays.
// The session keeps its token, which becomes the user's (and works as the
// XMPP password).
func (s *Service) UpgradeSession(ctx context.Context, appSess *Session, token string, login *Login) (*Session, *User, error) {
	app, err := s.store.App(ctx, appSess.AppID)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.loginUser(ctx, app, login)
	if err != nil {
		return nil, nil, err
	}
	if appSess.UserID != 0 {
		if appSess.UserID == u.ID {
			return appSess, u, nil
		}
		return nil, nil, ValidationError{"base": {"this session is already signed in as another user: log out first"}}
	}
	c, err := s.store.Credentials(ctx, app.ID, u.ID)
	if err != nil {
		return nil, nil, err
	}
	sess := &Session{AppID: app.ID, UserID: u.ID, TokenHash: appSess.TokenHash, Keys: DeriveKeys(token, c.Salt, c.Iter),
		CreatedAt: appSess.CreatedAt, ExpiresAt: appSess.ExpiresAt}
	if err := s.store.DeleteSession(ctx, appSess.ID); err != nil {
		return nil, nil, err
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// PruneSessions deletes expired sessions; run it now and then.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	return s.store.DeleteExpiredSessions(ctx, s.now())
}

// CreateUser validates input and stores a new user with its password.
func (s *Service) CreateUser(ctx context.Context, appID int64, in UserInput) (*User, error) {
	return s.createUser(ctx, appID, in, false)
}

func (s *Service) createUser(ctx context.Context, appID int64, in UserInput, guest bool) (*User, error) {
	if _, err := s.store.App(ctx, appID); err != nil {
		return nil, err
	}
	u := &User{AppID: appID, Guest: guest}
	applyInput(u, in)
	if in.Avatar != nil && *in.Avatar != "" && s.Pictures != nil {
		if err := s.Pictures.CheckPicture(ctx, appID, 0, "avatar", *in.Avatar); err != nil { // no owner yet: a public file
			return nil, err
		}
	}
	verr := validateUser(u)
	if in.Password == nil || utf8.RuneCountInString(*in.Password) < 8 {
		verr.add("password", "is too short (minimum is 8 characters)")
	}
	if u.Login == "" && u.Email == "" {
		verr.add("base", "login or email required")
	}
	if len(verr) > 0 {
		return nil, verr
	}
	now := s.now().UTC().Truncate(time.Second)
	u.CreatedAt, u.UpdatedAt = now, now
	c := NewCredentials(*in.Password, s.Iterations)
	if err := s.store.CreateUser(ctx, u, &c); err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser changes a user's fields. A password change needs the old one
// unless byAdmin.
func (s *Service) UpdateUser(ctx context.Context, appID, id int64, in UserInput, byAdmin bool) (*User, error) {
	u, err := s.store.User(ctx, appID, id)
	if err != nil {
		return nil, err
	}
	old := u.Avatar
	applyInput(u, in)
	if in.Avatar != nil && *in.Avatar != "" && s.Pictures != nil {
		if err := s.Pictures.CheckPicture(ctx, appID, id, "avatar", *in.Avatar); err != nil {
			return nil, err
		}
	}
	verr := validateUser(u)
	if in.Password != nil && utf8.RuneCountInString(*in.Password) < 8 {
		verr.add("password", "is too short (minimum is 8 characters)")
	}
	if len(verr) > 0 {
		return nil, verr
	}
	if in.Password != nil {
		if err := s.setPassword(ctx, u, *in.Password, in.OldPassword, byAdmin); err != nil {
			return nil, err
		}
		// A new password revokes every other session token of the user.
		if _, err := s.store.DeleteUserSessions(ctx, appID, id, in.KeepSession); err != nil {
			return nil, err
		}
	}
	u.UpdatedAt = s.now().UTC().Truncate(time.Second)
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if in.Avatar != nil && old != u.Avatar && s.AvatarSet != nil {
		s.AvatarSet(ctx, appID, id, u.Avatar)
	}
	return u, nil
}

func (s *Service) setPassword(ctx context.Context, u *User, password string, old *string, byAdmin bool) error {
	c, err := s.store.Credentials(ctx, u.AppID, u.ID)
	if err != nil {
		return err
	}
	if !byAdmin && (old == nil || !c.VerifyPassword(*old)) {
		return ValidationError{"old_password": {"is invalid"}}
	}
	// Keep the salt so the keys of live session tokens stay valid.
	nc := Credentials{Salt: c.Salt, Iter: s.Iterations, Keys: DeriveKeys(password, c.Salt, s.Iterations)}
	if nc.Iter != c.Iter {
		nc.Iter = c.Iter
		nc.Keys = DeriveKeys(password, c.Salt, c.Iter)
	}
	return s.store.SetCredentials(ctx, u.AppID, u.ID, &nc)
}

// SetLastSeen records the end of a user's last session (XEP-0012).
func (s *Service) SetLastSeen(ctx context.Context, appID, userID int64, at time.Time) error {
	return s.store.SetLastSeen(ctx, appID, userID, at)
}

// LastSeen returns when the user was last online; zero when never.
func (s *Service) LastSeen(ctx context.Context, appID, userID int64) (time.Time, error) {
	return s.store.LastSeen(ctx, appID, userID)
}

// User returns one user.
func (s *Service) User(ctx context.Context, appID, id int64) (*User, error) {
	return s.store.User(ctx, appID, id)
}

// Users lists users. Limit defaults to 10 and is capped at 100.
func (s *Service) Users(ctx context.Context, appID int64, q UserQuery) ([]User, int, error) {
	if q.Limit <= 0 {
		q.Limit = 10
	}
	if q.Limit > 100 {
		q.Limit = 100
	}
	return s.store.Users(ctx, appID, q)
}

// PictureCheck checks a picture reference (the uid of a file, or a URL)
// a user sets: the file must exist, be theirs or public, and be public.
type PictureCheck interface {
	CheckPicture(ctx context.Context, appID, userID int64, field, ref string) error
}

// UserData is data another package keeps for a user.
type UserData interface {
	ForgetUser(ctx context.Context, appID, userID int64) error
}

// DeleteUser removes a user, its sessions and the data it owned elsewhere.
// The user is gone once the store says so: data that could not be
// forgotten is left behind (no one can sign in as its owner), not an error.
func (s *Service) DeleteUser(ctx context.Context, appID, id int64) error {
	if err := s.store.DeleteUser(ctx, appID, id); err != nil {
		return err
	}
	for _, o := range s.Owned {
		o.ForgetUser(ctx, appID, id)
	}
	return nil
}

// CheckPassword verifies an XMPP PLAIN login: secret is the user's password or
// a live session token of that very user.
func (s *Service) CheckPassword(ctx context.Context, appID, userID int64, secret string) error {
	sess, err := s.store.SessionByTokenHash(ctx, hashToken(secret))
	switch {
	case err == nil:
		if sess.AppID == appID && sess.UserID == userID && sess.Live(s.now()) {
			return nil
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	c, err := s.store.Credentials(ctx, appID, userID)
	if errors.Is(err, ErrNotFound) {
		// The same work as a wrong password, so timing does not tell.
		s.decoyDerivation(ctx, jidKey(appID, userID), secret)
		return ErrUnauthorized
	}
	if err != nil {
		return err
	}
	if !c.VerifyPassword(secret) {
		return ErrUnauthorized
	}
	return nil
}

// TokenSession returns the live session whose token is secret, when the
// secret a user signed in with is a session token of that user (so the
// stream ends with the token); ok is false for a password.
func (s *Service) TokenSession(ctx context.Context, appID, userID int64, secret string) (id int64, expires time.Time, ok bool) {
	sess, err := s.store.SessionByTokenHash(ctx, hashToken(secret))
	if err != nil || sess.AppID != appID || sess.UserID != userID || !sess.Live(s.now()) {
		return 0, time.Time{}, false
	}
	return sess.ID, sess.ExpiresAt, true
}

// ScramSecrets returns what SCRAM needs for a user: the salt and count, and
// every key pair that may sign in (the password's, then each live token's).
//
// For a user that does not exist it returns a salt keyed with the
// installation secret (stable per user, the size of a real one, and
// unpredictable without the secret), the current iteration count and no key
// pair, with no error: the exchange goes on and fails at the proof, exactly
// like a wrong password, so probing cannot tell users apart.
func (s *Service) ScramSecrets(ctx context.Context, appID, userID int64, mechanism string) ([]byte, int, []KeyPair, error) {
	c, err := s.store.Credentials(ctx, appID, userID)
	if errors.Is(err, ErrNotFound) {
		salt, err := s.decoySalt(ctx, jidKey(appID, userID))
		if err != nil {
			return nil, 0, nil, err
		}
		// The same store reads as for a real user.
		if _, err := s.store.LiveSessions(ctx, appID, userID, s.now()); err != nil {
			return nil, 0, nil, err
		}
		return salt, s.Iterations, nil, nil
	}
	if err != nil {
		return nil, 0, nil, err
	}
	var pairs []KeyPair
	if p, ok := c.Keys.Pair(mechanism); ok {
		pairs = append(pairs, p)
	}
	sessions, err := s.store.LiveSessions(ctx, appID, userID, s.now())
	if err != nil {
		return nil, 0, nil, err
	}
	for _, sess := range sessions {
		if p, ok := sess.Keys.Pair(mechanism); ok {
			p.Session, p.Expires = sess.ID, sess.ExpiresAt
			pairs = append(pairs, p)
		}
	}
	return c.Salt, c.Iter, pairs, nil
}

// installationSecretKey names the installation secret among the settings.
const installationSecretKey = "installation_secret"

// installationSecret returns the secret every node of this installation
// shares (created on first use, kept in the store).
func (s *Service) installationSecret(ctx context.Context) ([]byte, error) {
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	if s.secret != nil {
		return s.secret, nil
	}
	init := make([]byte, 32)
	rand.Read(init)
	v, err := s.store.Setting(ctx, installationSecretKey, init)
	if err != nil {
		return nil, fmt.Errorf("accounts: installation secret: %w", err)
	}
	if len(v) < 16 {
		return nil, fmt.Errorf("accounts: installation secret: stored value is %d bytes, want 32", len(v))
	}
	s.secret = v
	return v, nil
}

// DerivedSecret is a secret of this installation for one purpose (signing
// upload URLs...): HMAC-SHA256 of the installation secret, the same on every
// node.
func (s *Service) DerivedSecret(ctx context.Context, purpose string) ([]byte, error) {
	secret, err := s.installationSecret(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("derived\x00" + purpose))
	return m.Sum(nil), nil
}

// decoySalt is the salt announced for a user that does not exist:
// HMAC-SHA256(installation secret, key), cut to the size of a real salt.
func (s *Service) decoySalt(ctx context.Context, key string) ([]byte, error) {
	secret, err := s.installationSecret(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("scram-salt|" + key))
	return m.Sum(nil)[:saltLen], nil
}

// decoyDerivation runs the key derivation a password check of a real user
// costs, for a user that does not exist.
func (s *Service) decoyDerivation(ctx context.Context, key, password string) {
	salt, err := s.decoySalt(ctx, key)
	if err != nil {
		salt = make([]byte, saltLen) // still spend the time
	}
	c := Credentials{Salt: salt, Iter: s.Iterations, Keys: ScramKeys{SHA256: KeyPair{Stored: make([]byte, sha256.Size)}}}
	c.VerifyPassword(password)
}

func jidKey(appID, userID int64) string {
	return "jid|" + strconv.FormatInt(appID, 10) + "|" + strconv.FormatInt(userID, 10)
}

func applyInput(u *User, in UserInput) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&u.Login, in.Login)
	set(&u.Email, in.Email)
	set(&u.FullName, in.FullName)
	set(&u.Phone, in.Phone)
	set(&u.Website, in.Website)
	set(&u.ExternalID, in.ExternalID)
	set(&u.Avatar, in.Avatar)
	if in.CustomData != nil {
		u.CustomData = *in.CustomData
	}
	if in.Tags != nil {
		u.Tags = in.Tags
	}
}

func (v ValidationError) add(field, msg string) { v[field] = append(v[field], msg) }

func validateUser(u *User) ValidationError {
	v := ValidationError{}
	for _, f := range []struct {
		name, value string
		lines       bool
	}{
		{"login", u.Login, false}, {"email", u.Email, false}, {"full_name", u.FullName, false},
		{"phone", u.Phone, false}, {"website", u.Website, false}, {"external_user_id", u.ExternalID, false}, {"avatar", u.Avatar, false},
		{"tag_list", strings.Join(u.Tags, ","), false}, {"custom_data", u.CustomData, true},
	} {
		if r, bad := controlChar(f.value, f.lines); bad {
			v.add(f.name, fmt.Sprintf("must not contain control characters (found U+%04X)", r))
		}
	}
	if n := utf8.RuneCountInString(u.Login); u.Login != "" && (n < 3 || n > 50) {
		v.add("login", "length must be between 3 and 50 characters")
	}
	if u.Email != "" {
		if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
			v.add("email", "is invalid")
		}
	}
	if utf8.RuneCountInString(u.FullName) > 200 {
		v.add("full_name", "is too long (maximum is 200 characters)")
	}
	if len(u.CustomData) > 64*1024 {
		v.add("custom_data", "is too long (maximum is 65536 bytes)")
	}
	return v
}

// controlChar finds the first C0 or C1 control character, or the
// noncharacters U+FFFE and U+FFFF, in s: they cannot be shown, break logs and
// are not allowed in XML. lines lets tab, LF and CR through (custom_data
// holds JSON, often pretty-printed).
func controlChar(s string, lines bool) (rune, bool) {
	for _, r := range s {
		switch {
		case lines && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0xfffe, r == 0xffff:
			return r, true
		}
	}
	return 0, false
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ParseJIDLocal splits an XMPP local part "<userId>-<appId>" into its ids.
func ParseJIDLocal(local string) (userID, appID int64, err error) {
	i := strings.IndexByte(local, '-')
	if i <= 0 || i == len(local)-1 {
		return 0, 0, fmt.Errorf("accounts: %q is not <userId>-<appId>", local)
	}
	userID, err1 := strconv.ParseInt(local[:i], 10, 64)
	appID, err2 := strconv.ParseInt(local[i+1:], 10, 64)
	if err1 != nil || err2 != nil || userID <= 0 || appID <= 0 {
		return 0, 0, fmt.Errorf("accounts: %q is not <userId>-<appId>", local)
	}
	return userID, appID, nil
}
