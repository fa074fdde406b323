package mongo

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/accounts"
)

var _ accounts.Store = (*DB)(nil)

type appDoc struct {
	ID   int64  `bson:"_id"`
	Name string `bson:"name"`
	// LegacyAuthKey is a key stored in the clear by older versions;
	// Migrate replaces it with AuthKeyHash.
	LegacyAuthKey    string   `bson:"auth_key,omitempty"`
	AuthKeyHash      []byte   `bson:"auth_key_hash"`
	AutoCreateUsers  bool     `bson:"auto_create_users"`
	Guests           bool     `bson:"guests,omitempty"`
	ShowContacts     bool     `bson:"show_contacts"`
	ArchiveAll       bool     `bson:"archive_all"`
	DialogTypes      string   `bson:"dialog_types,omitempty"`
	DialogExtensions []string `bson:"dialog_extensions"`
	CreatedAt        int64    `bson:"created_at"`
}

func (d *appDoc) app() *accounts.App {
	return &accounts.App{ID: d.ID, Name: d.Name, AuthKeyHash: d.AuthKeyHash, Guests: d.Guests, AutoCreateUsers: d.AutoCreateUsers, ShowContacts: d.ShowContacts, ArchiveAll: d.ArchiveAll, DialogExtensions: d.DialogExtensions, DialogTypes: d.DialogTypes, CreatedAt: fromNano(d.CreatedAt)}
}

// CreateApp implements accounts.AppStore. The plain auth key is not stored.
// A preset id (the default app, which nodes starting together all try to
// create) is claimed by the insert itself: a duplicate means another node
// was first.
func (s *DB) CreateApp(ctx context.Context, a *accounts.App) error {
	id := a.ID
	if id == 0 {
		var err error
		if id, err = s.nextID(ctx, "apps"); err != nil {
			return err
		}
	}
	_, err := s.c("apps").InsertOne(ctx, appDoc{ID: id, Name: a.Name, AuthKeyHash: a.AuthKeyHash, Guests: a.Guests, AutoCreateUsers: a.AutoCreateUsers, ShowContacts: a.ShowContacts, ArchiveAll: a.ArchiveAll, DialogExtensions: a.DialogExtensions, DialogTypes: a.DialogTypes, CreatedAt: nano(a.CreatedAt)})
	if isDup(err) {
		return accounts.ErrConflict
	}
	if err != nil {
		return err
	}
	if a.ID != 0 {
		// Later apps must not be handed the preset id.
		if err := s.raiseCounter(ctx, "apps", id); err != nil {
			return err
		}
	}
	a.ID = id
	return nil
}

// SetAppAuthKeyHash implements accounts.AppStore.
func (s *DB) SetAppAuthKeyHash(ctx context.Context, id int64, hash []byte) error {
	res, err := s.c("apps").UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"auth_key_hash": hash}, "$unset": bson.M{"auth_key": ""}})
	if err == nil && res.MatchedCount == 0 {
		return accounts.ErrNotFound
	}
	return err
}

// hashLegacyAuthKeys replaces auth keys stored in the clear by older
// versions with their hash (Migrate runs it; idempotent).
func (s *DB) hashLegacyAuthKeys(ctx context.Context) error {
	docs, err := findAll[appDoc](ctx, s.c("apps"), bson.M{"auth_key": bson.M{"$exists": true, "$ne": ""}})
	if err != nil {
		return fmt.Errorf("mongo: hash auth keys: %w", err)
	}
	for _, d := range docs {
		_, err := s.c("apps").UpdateOne(ctx, bson.M{"_id": d.ID, "auth_key": d.LegacyAuthKey},
			bson.M{"$set": bson.M{"auth_key_hash": accounts.HashAuthKey(d.LegacyAuthKey)}, "$unset": bson.M{"auth_key": ""}})
		if err != nil {
			return fmt.Errorf("mongo: hash the auth key of app %d: %w", d.ID, err)
		}
	}
	return nil
}

// App implements accounts.AppStore.
func (s *DB) App(ctx context.Context, id int64) (*accounts.App, error) {
	var d appDoc
	if err := s.c("apps").FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, accounts.ErrNotFound
		}
		return nil, err
	}
	return d.app(), nil
}

// Apps implements accounts.AppStore.
func (s *DB) Apps(ctx context.Context) ([]accounts.App, error) {
	docs, err := findAll[appDoc](ctx, s.c("apps"), bson.M{}, options.Find().SetSort(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	out := make([]accounts.App, 0, len(docs))
	for i := range docs {
		out = append(out, *docs[i].app())
	}
	return out, nil
}

type credDoc struct {
	Salt         []byte `bson:"salt"`
	Iter         int    `bson:"iter"`
	SHA1Stored   []byte `bson:"sha1_stored"`
	SHA1Server   []byte `bson:"sha1_server"`
	SHA256Stored []byte `bson:"sha256_stored"`
	SHA256Server []byte `bson:"sha256_server"`
}

func credOf(c *accounts.Credentials) credDoc {
	return credDoc{Salt: c.Salt, Iter: c.Iter, SHA1Stored: c.Keys.SHA1.Stored, SHA1Server: c.Keys.SHA1.Server, SHA256Stored: c.Keys.SHA256.Stored, SHA256Server: c.Keys.SHA256.Server}
}

type userDoc struct {
	ID            int64    `bson:"_id"`
	AppID         int64    `bson:"app_id"`
	Login         string   `bson:"login"`
	Email         string   `bson:"email"`
	FullName      string   `bson:"full_name"`
	Phone         string   `bson:"phone"`
	Website       string   `bson:"website"`
	CustomData    string   `bson:"custom_data"`
	ExternalID    string   `bson:"external_id"`
	Tags          []string `bson:"tags"`
	Avatar        string   `bson:"avatar,omitempty"`
	Guest         bool     `bson:"guest,omitempty"`
	CreatedAt     int64    `bson:"created_at"`
	UpdatedAt     int64    `bson:"updated_at"`
	LastRequestAt int64    `bson:"last_request_at"`
	LastSeen      int64    `bson:"last_seen"`
	Cred          credDoc  `bson:"cred"`
}

func (d *userDoc) user() *accounts.User {
	return &accounts.User{ID: d.ID, AppID: d.AppID, Login: d.Login, Email: d.Email, FullName: d.FullName, Phone: d.Phone, Website: d.Website,
		Avatar: d.Avatar, Guest: d.Guest, CustomData: d.CustomData, ExternalID: d.ExternalID, Tags: d.Tags, CreatedAt: fromNano(d.CreatedAt), UpdatedAt: fromNano(d.UpdatedAt), LastRequestAt: fromNano(d.LastRequestAt)}
}

// claimGrace is how long a claim whose user does not carry the value is
// still presumed to belong to a create or update on its way; after it, the
// claim is one a crash left behind and is free again.
const claimGrace = time.Minute

// claim reserves a unique (app, field, value) through the _id of a claims
// document: uniqueness without partial indexes or transactions.
func (s *DB) claim(ctx context.Context, app int64, field, value string, uid int64) error {
	if value == "" {
		return nil
	}
	id := claimID(app, field, value)
	now := time.Now()
	_, err := s.c("user_keys").InsertOne(ctx, bson.M{"_id": id, "user_id": uid, "at": nano(now)})
	if !isDup(err) {
		return err
	}
	var d struct {
		UserID int64 `bson:"user_id"`
		At     int64 `bson:"at"`
	}
	if err := s.c("user_keys").FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return err
	}
	if d.UserID == uid {
		return nil
	}
	n, err := s.c("users").CountDocuments(ctx, bson.M{"_id": d.UserID, field: value})
	if err != nil {
		return err
	}
	if n == 0 && now.Sub(fromNano(d.At)) > claimGrace {
		// Matching the old holder lets only one of two racing takers win.
		res, err := s.c("user_keys").UpdateOne(ctx, bson.M{"_id": id, "user_id": d.UserID, "at": d.At},
			bson.M{"$set": bson.M{"user_id": uid, "at": nano(now)}})
		if err != nil {
			return err
		}
		if res.ModifiedCount == 1 {
			return nil
		}
	}
	return accounts.ValidationError{field: {"has already been taken"}}
}

// release gives up uid's claim; one another user holds stays.
func (s *DB) release(ctx context.Context, app int64, field, value string, uid int64) {
	if value != "" {
		s.c("user_keys").DeleteOne(ctx, bson.M{"_id": claimID(app, field, value), "user_id": uid})
	}
}

func claimID(app int64, field, value string) string {
	return strconv.FormatInt(app, 10) + "/" + field + "/" + value
}

// CreateUser implements accounts.UserStore.
func (s *DB) CreateUser(ctx context.Context, u *accounts.User, c *accounts.Credentials) error {
	id, err := s.nextID(ctx, "users")
	if err != nil {
		return err
	}
	if err := s.claim(ctx, u.AppID, "login", u.Login, id); err != nil {
		return err
	}
	if err := s.claim(ctx, u.AppID, "email", u.Email, id); err != nil {
		s.release(ctx, u.AppID, "login", u.Login, id)
		return err
	}
	doc := userDoc{ID: id, AppID: u.AppID, Login: u.Login, Email: u.Email, FullName: u.FullName, Phone: u.Phone, Website: u.Website,
		CustomData: u.CustomData, ExternalID: u.ExternalID, Tags: u.Tags, Avatar: u.Avatar, Guest: u.Guest, CreatedAt: nano(u.CreatedAt), UpdatedAt: nano(u.UpdatedAt), Cred: credOf(c)}
	if _, err := s.c("users").InsertOne(ctx, doc); err != nil {
		s.release(ctx, u.AppID, "login", u.Login, id)
		s.release(ctx, u.AppID, "email", u.Email, id)
		return err
	}
	u.ID = id
	return nil
}

func (s *DB) findUser(ctx context.Context, filter bson.M) (*accounts.User, error) {
	var d userDoc
	if err := s.c("users").FindOne(ctx, filter).Decode(&d); err != nil {
		if notFound(err) {
			return nil, accounts.ErrNotFound
		}
		return nil, err
	}
	return d.user(), nil
}

// User implements accounts.UserStore.
func (s *DB) User(ctx context.Context, app, id int64) (*accounts.User, error) {
	return s.findUser(ctx, bson.M{"_id": id, "app_id": app})
}

// UserByLogin implements accounts.UserStore.
func (s *DB) UserByLogin(ctx context.Context, app int64, login string) (*accounts.User, error) {
	if login == "" {
		return nil, accounts.ErrNotFound
	}
	return s.byClaim(ctx, app, "login", login)
}

// UserByEmail implements accounts.UserStore.
func (s *DB) UserByEmail(ctx context.Context, app int64, email string) (*accounts.User, error) {
	if email == "" {
		return nil, accounts.ErrNotFound
	}
	return s.byClaim(ctx, app, "email", email)
}

// byClaim resolves a login or email through its claim (an _id lookup).
func (s *DB) byClaim(ctx context.Context, app int64, field, value string) (*accounts.User, error) {
	var d struct {
		UserID int64 `bson:"user_id"`
	}
	if err := s.c("user_keys").FindOne(ctx, bson.M{"_id": claimID(app, field, value)}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, accounts.ErrNotFound
		}
		return nil, err
	}
	return s.findUser(ctx, bson.M{"_id": d.UserID, "app_id": app, field: value})
}

// UpdateUser implements accounts.UserStore.
func (s *DB) UpdateUser(ctx context.Context, u *accounts.User) error {
	old, err := s.User(ctx, u.AppID, u.ID)
	if err != nil {
		return err
	}
	type change struct{ field, was, now string }
	var claimed []change
	undo := func() {
		for _, c := range claimed {
			s.release(ctx, u.AppID, c.field, c.now, u.ID)
		}
	}
	for _, c := range []change{{"login", old.Login, u.Login}, {"email", old.Email, u.Email}} {
		if c.was != c.now {
			if err := s.claim(ctx, u.AppID, c.field, c.now, u.ID); err != nil {
				undo()
				return err
			}
			claimed = append(claimed, c)
		}
	}
	_, err = s.c("users").UpdateOne(ctx, bson.M{"_id": u.ID, "app_id": u.AppID}, bson.M{"$set": bson.M{
		"login": u.Login, "email": u.Email, "full_name": u.FullName, "phone": u.Phone, "website": u.Website, "avatar": u.Avatar, "custom_data": u.CustomData,
		"external_id": u.ExternalID, "tags": u.Tags, "updated_at": nano(u.UpdatedAt), "last_request_at": nano(u.LastRequestAt)}})
	if err != nil {
		undo()
		return err
	}
	if old.Login != u.Login {
		s.release(ctx, u.AppID, "login", old.Login, u.ID)
	}
	if old.Email != u.Email {
		s.release(ctx, u.AppID, "email", old.Email, u.ID)
	}
	return nil
}

// DeleteUser implements accounts.UserStore.
func (s *DB) DeleteUser(ctx context.Context, app, id int64) error {
	u, err := s.User(ctx, app, id)
	if err != nil {
		return err
	}
	if _, err := s.c("users").DeleteOne(ctx, bson.M{"_id": id, "app_id": app}); err != nil {
		return err
	}
	s.release(ctx, app, "login", u.Login, id)
	s.release(ctx, app, "email", u.Email, id)
	_, err = s.c("sessions").DeleteMany(ctx, bson.M{"app_id": app, "user_id": id})
	return err
}

var userSorts = map[string]string{"id": "_id", "created_at": "created_at", "updated_at": "updated_at", "login": "login", "full_name": "full_name", "last_request_at": "last_request_at"}

// Users implements accounts.UserStore.
func (s *DB) Users(ctx context.Context, app int64, q accounts.UserQuery) ([]accounts.User, int, error) {
	f := bson.M{"app_id": app}
	if len(q.IDs) > 0 {
		f["_id"] = bson.M{"$in": q.IDs}
	}
	if len(q.Logins) > 0 {
		f["login"] = bson.M{"$in": q.Logins}
	}
	if len(q.Emails) > 0 {
		f["email"] = bson.M{"$in": q.Emails}
	}
	if len(q.ExternalIDs) > 0 {
		f["external_id"] = bson.M{"$in": q.ExternalIDs}
	}
	if len(q.Phones) > 0 {
		f["phone"] = bson.M{"$in": q.Phones}
	}
	if !q.GuestsIdleBefore.IsZero() {
		t := nano(q.GuestsIdleBefore)
		f["guest"] = true
		f["created_at"] = bson.M{"$lt": t}
		f["last_request_at"] = bson.M{"$lt": t}
	}
	if len(q.Tags) > 0 {
		f["tags"] = bson.M{"$in": q.Tags}
	}
	if q.FullName != "" {
		f["full_name"] = bson.Regex{Pattern: regexp.QuoteMeta(q.FullName), Options: "i"}
	}
	total, err := s.c("users").CountDocuments(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	col, ok := userSorts[q.SortField]
	if !ok {
		col = "_id"
	}
	dir := 1
	if q.SortDesc {
		dir = -1
	}
	sort := bson.D{{Key: col, Value: dir}}
	if col != "_id" {
		sort = append(sort, bson.E{Key: "_id", Value: dir})
	}
	docs, err := findAll[userDoc](ctx, s.c("users"), f, options.Find().SetSort(sort).
		SetSkip(int64(q.Offset)).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, 0, err
	}
	out := make([]accounts.User, 0, len(docs))
	for i := range docs {
		out = append(out, *docs[i].user())
	}
	return out, int(total), nil
}

// Credentials implements accounts.UserStore.
func (s *DB) Credentials(ctx context.Context, app, uid int64) (*accounts.Credentials, error) {
	var d struct {
		Cred credDoc `bson:"cred"`
	}
	if err := s.c("users").FindOne(ctx, bson.M{"_id": uid, "app_id": app}, options.FindOne().SetProjection(bson.M{"cred": 1})).Decode(&d); err != nil {
		if notFound(err) {
			return nil, accounts.ErrNotFound
		}
		return nil, err
	}
	c := d.Cred
	return &accounts.Credentials{Salt: c.Salt, Iter: c.Iter, Keys: accounts.ScramKeys{
		SHA1: accounts.KeyPair{Stored: c.SHA1Stored, Server: c.SHA1Server}, SHA256: accounts.KeyPair{Stored: c.SHA256Stored, Server: c.SHA256Server}}}, nil
}

// SetCredentials implements accounts.UserStore.
func (s *DB) SetCredentials(ctx context.Context, app, uid int64, c *accounts.Credentials) error {
	res, err := s.c("users").UpdateOne(ctx, bson.M{"_id": uid, "app_id": app}, bson.M{"$set": bson.M{"cred": credOf(c)}})
	if err == nil && res.MatchedCount == 0 {
		return accounts.ErrNotFound
	}
	return err
}

// SetLastSeen implements accounts.UserStore.
func (s *DB) SetLastSeen(ctx context.Context, app, uid int64, at time.Time) error {
	_, err := s.c("users").UpdateOne(ctx, bson.M{"_id": uid, "app_id": app}, bson.M{"$set": bson.M{"last_seen": nano(at)}})
	return err
}

// LastSeen implements accounts.UserStore.
func (s *DB) LastSeen(ctx context.Context, app, uid int64) (time.Time, error) {
	var d struct {
		LastSeen int64 `bson:"last_seen"`
	}
	if err := s.c("users").FindOne(ctx, bson.M{"_id": uid, "app_id": app}, options.FindOne().SetProjection(bson.M{"last_seen": 1})).Decode(&d); err != nil {
		if notFound(err) {
			return time.Time{}, accounts.ErrNotFound
		}
		return time.Time{}, err
	}
	return fromNano(d.LastSeen), nil
}

type sessionDoc struct {
	ID        int64   `bson:"_id"`
	AppID     int64   `bson:"app_id"`
	UserID    int64   `bson:"user_id"`
	TokenHash []byte  `bson:"token_hash"`
	Keys      credDoc `bson:"keys"`
	CreatedAt int64   `bson:"created_at"`
	ExpiresAt int64   `bson:"expires_at"`
}

func (d *sessionDoc) session() *accounts.Session {
	return &accounts.Session{ID: d.ID, AppID: d.AppID, UserID: d.UserID, TokenHash: d.TokenHash, CreatedAt: fromNano(d.CreatedAt), ExpiresAt: fromNano(d.ExpiresAt),
		Keys: accounts.ScramKeys{SHA1: accounts.KeyPair{Stored: d.Keys.SHA1Stored, Server: d.Keys.SHA1Server}, SHA256: accounts.KeyPair{Stored: d.Keys.SHA256Stored, Server: d.Keys.SHA256Server}}}
}

// CreateSession implements accounts.SessionStore.
func (s *DB) CreateSession(ctx context.Context, se *accounts.Session) error {
	id, err := s.nextID(ctx, "sessions")
	if err != nil {
		return err
	}
	k := se.Keys
	_, err = s.c("sessions").InsertOne(ctx, sessionDoc{ID: id, AppID: se.AppID, UserID: se.UserID, TokenHash: se.TokenHash, CreatedAt: nano(se.CreatedAt), ExpiresAt: nano(se.ExpiresAt),
		Keys: credDoc{SHA1Stored: k.SHA1.Stored, SHA1Server: k.SHA1.Server, SHA256Stored: k.SHA256.Stored, SHA256Server: k.SHA256.Server}})
	if err == nil {
		se.ID = id
	}
	return err
}

// SessionByTokenHash implements accounts.SessionStore.
func (s *DB) SessionByTokenHash(ctx context.Context, hash []byte) (*accounts.Session, error) {
	var d sessionDoc
	if err := s.c("sessions").FindOne(ctx, bson.M{"token_hash": hash}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, accounts.ErrNotFound
		}
		return nil, err
	}
	return d.session(), nil
}

// LiveSessions implements accounts.SessionStore.
func (s *DB) LiveSessions(ctx context.Context, app, uid int64, now time.Time) ([]accounts.Session, error) {
	docs, err := findAll[sessionDoc](ctx, s.c("sessions"), bson.M{"app_id": app, "user_id": uid, "expires_at": bson.M{"$gt": nano(now)}},
		options.Find().SetSort(bson.M{"_id": -1}).SetLimit(100))
	if err != nil {
		return nil, err
	}
	out := make([]accounts.Session, 0, len(docs))
	for i := range docs {
		out = append(out, *docs[i].session())
	}
	return out, nil
}

// DeleteUserSessions implements accounts.SessionStore.
func (s *DB) DeleteUserSessions(ctx context.Context, app, uid, except int64) (int64, error) {
	res, err := s.c("sessions").DeleteMany(ctx, bson.M{"app_id": app, "user_id": uid, "_id": bson.M{"$ne": except}})
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// DeleteSession implements accounts.SessionStore.
func (s *DB) DeleteSession(ctx context.Context, id int64) error {
	res, err := s.c("sessions").DeleteOne(ctx, bson.M{"_id": id})
	if err == nil && res.DeletedCount == 0 {
		return accounts.ErrNotFound
	}
	return err
}

// TrimSessions implements accounts.SessionStore.
func (s *DB) TrimSessions(ctx context.Context, app, uid int64, keep int) ([]int64, error) {
	old, err := findAll[struct {
		ID int64 `bson:"_id"`
	}](ctx, s.c("sessions"), bson.M{"app_id": app, "user_id": uid},
		options.Find().SetSort(bson.M{"_id": -1}).SetSkip(int64(keep)).SetProjection(bson.M{"_id": 1}))
	if err != nil || len(old) == 0 {
		return nil, err
	}
	ids := make([]int64, 0, len(old))
	for _, o := range old {
		ids = append(ids, o.ID)
	}
	if _, err := s.c("sessions").DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteExpiredSessions implements accounts.SessionStore.
func (s *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.c("sessions").DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lte": nano(now)}})
	if err != nil {
		return 0, err
	}
	return res.DeletedCount, nil
}

// Setting implements accounts.SettingStore: the first insert of the _id
// wins; everyone else reads what it stored.
func (s *DB) Setting(ctx context.Context, key string, init []byte) ([]byte, error) {
	if _, err := s.c("settings").InsertOne(ctx, bson.M{"_id": key, "value": init}); err != nil && !isDup(err) {
		return nil, err
	}
	var d struct {
		Value []byte `bson:"value"`
	}
	if err := s.c("settings").FindOne(ctx, bson.M{"_id": key}).Decode(&d); err != nil {
		return nil, err
	}
	return d.Value, nil
}
