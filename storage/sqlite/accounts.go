package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/accounts"
)

var _ accounts.Store = (*DB)(nil)

// CreateApp implements accounts.AppStore. The plain auth key is not stored.
func (s *DB) CreateApp(ctx context.Context, a *accounts.App) error {
	var id any // NULL: the next id
	if a.ID != 0 {
		id = a.ID
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO apps(id, name, auth_key, auth_key_hash, auto_create_users, show_contacts, archive_all, dialog_extensions, created_at, dialog_types, guests) VALUES (?,?,'',?,?,?,?,?,?,?,?)`,
		id, a.Name, a.AuthKeyHash, a.AutoCreateUsers, a.ShowContacts, a.ArchiveAll, strings.Join(a.DialogExtensions, ","), unixNano(a.CreatedAt), a.DialogTypes, a.Guests)
	if isUnique(err) {
		return accounts.ErrConflict
	}
	if err != nil {
		return err
	}
	a.ID, err = res.LastInsertId()
	return err
}

// SetAppAuthKeyHash implements accounts.AppStore.
func (s *DB) SetAppAuthKeyHash(ctx context.Context, id int64, hash []byte) error {
	return affected(s.db.ExecContext(ctx, `UPDATE apps SET auth_key_hash = ?, auth_key = '' WHERE id = ?`, hash, id))
}

// hashLegacyAuthKeys replaces auth keys stored in the clear (schema
// versions before 8) with their hash. Idempotent; runs at every open.
func (s *DB) hashLegacyAuthKeys(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, auth_key FROM apps WHERE auth_key <> ''`)
	if err != nil {
		return fmt.Errorf("sqlite: hash auth keys: %w", err)
	}
	type legacy struct {
		id  int64
		key string
	}
	var todo []legacy
	for rows.Next() {
		var l legacy
		if err := rows.Scan(&l.id, &l.key); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range todo {
		if _, err := s.db.ExecContext(ctx, `UPDATE apps SET auth_key_hash = ?, auth_key = '' WHERE id = ? AND auth_key = ?`,
			accounts.HashAuthKey(l.key), l.id, l.key); err != nil {
			return fmt.Errorf("sqlite: hash the auth key of app %d: %w", l.id, err)
		}
	}
	return nil
}

// App implements accounts.AppStore.
func (s *DB) App(ctx context.Context, id int64) (*accounts.App, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrNotFound
	}
	return a, err
}

// Apps implements accounts.AppStore.
func (s *DB) Apps(ctx context.Context) ([]accounts.App, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+appCols+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []accounts.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

const appCols = `id, name, auth_key_hash, auto_create_users, show_contacts, archive_all, dialog_extensions, created_at, dialog_types, guests`

func scanApp(sc interface{ Scan(...any) error }) (*accounts.App, error) {
	var a accounts.App
	var created int64
	var ext string
	if err := sc.Scan(&a.ID, &a.Name, &a.AuthKeyHash, &a.AutoCreateUsers, &a.ShowContacts, &a.ArchiveAll, &ext, &created, &a.DialogTypes, &a.Guests); err != nil {
		return nil, err
	}
	if ext != "" {
		a.DialogExtensions = strings.Split(ext, ",")
	}
	a.CreatedAt = fromNano(created)
	return &a, nil
}

const userCols = `id, app_id, login, email, full_name, phone, website, custom_data, external_id, tags, created_at, updated_at, last_request_at, avatar, guest`

func scanUser(sc interface{ Scan(...any) error }) (*accounts.User, error) {
	var u accounts.User
	var tags string
	var c, up, lr int64
	if err := sc.Scan(&u.ID, &u.AppID, &u.Login, &u.Email, &u.FullName, &u.Phone, &u.Website, &u.CustomData, &u.ExternalID, &tags, &c, &up, &lr, &u.Avatar, &u.Guest); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, accounts.ErrNotFound
		}
		return nil, err
	}
	if tags != "" {
		u.Tags = strings.Split(tags, ",")
	}
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = fromNano(c), fromNano(up), fromNano(lr)
	return &u, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateUser implements accounts.UserStore.
func (s *DB) CreateUser(ctx context.Context, u *accounts.User, c *accounts.Credentials) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO users(app_id, login, email, full_name, phone, website, custom_data, external_id, tags, created_at, updated_at, salt, iter, sha1_stored, sha1_server, sha256_stored, sha256_server, avatar, guest)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.AppID, u.Login, u.Email, u.FullName, u.Phone, u.Website, u.CustomData, u.ExternalID, strings.Join(u.Tags, ","),
		unixNano(u.CreatedAt), unixNano(u.UpdatedAt), c.Salt, c.Iter, c.Keys.SHA1.Stored, c.Keys.SHA1.Server, c.Keys.SHA256.Stored, c.Keys.SHA256.Server, u.Avatar, u.Guest)
	if isUnique(err) {
		return conflictError(err)
	}
	if err != nil {
		return err
	}
	u.ID, err = res.LastInsertId()
	return err
}

func conflictError(err error) error {
	field := "login"
	if strings.Contains(err.Error(), "email") {
		field = "email"
	}
	return accounts.ValidationError{field: {"has already been taken"}}
}

// User implements accounts.UserStore.
func (s *DB) User(ctx context.Context, appID, id int64) (*accounts.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE app_id = ? AND id = ?`, appID, id))
}

// UserByLogin implements accounts.UserStore.
func (s *DB) UserByLogin(ctx context.Context, appID int64, login string) (*accounts.User, error) {
	if login == "" {
		return nil, accounts.ErrNotFound
	}
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE app_id = ? AND login = ?`, appID, login))
}

// UserByEmail implements accounts.UserStore.
func (s *DB) UserByEmail(ctx context.Context, appID int64, email string) (*accounts.User, error) {
	if email == "" {
		return nil, accounts.ErrNotFound
	}
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE app_id = ? AND email = ?`, appID, email))
}

// UpdateUser implements accounts.UserStore.
func (s *DB) UpdateUser(ctx context.Context, u *accounts.User) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET login=?, email=?, full_name=?, phone=?, website=?, custom_data=?, external_id=?, tags=?, updated_at=?, last_request_at=?, avatar=? WHERE app_id=? AND id=?`,
		u.Login, u.Email, u.FullName, u.Phone, u.Website, u.CustomData, u.ExternalID, strings.Join(u.Tags, ","), unixNano(u.UpdatedAt), unixNano(u.LastRequestAt), u.Avatar, u.AppID, u.ID)
	if isUnique(err) {
		return conflictError(err)
	}
	return affected(res, err)
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return accounts.ErrNotFound
	}
	return nil
}

// DeleteUser implements accounts.UserStore. The user's sessions go with it.
func (s *DB) DeleteUser(ctx context.Context, appID, id int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := affected(tx.ExecContext(ctx, `DELETE FROM users WHERE app_id=? AND id=?`, appID, id)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE app_id=? AND user_id=?`, appID, id); err != nil {
		return err
	}
	return tx.Commit()
}

var userSorts = map[string]string{"id": "id", "created_at": "created_at", "updated_at": "updated_at", "login": "login", "full_name": "full_name", "last_request_at": "last_request_at"}

// Users implements accounts.UserStore.
func (s *DB) Users(ctx context.Context, appID int64, q accounts.UserQuery) ([]accounts.User, int, error) {
	where := []string{"app_id = ?"}
	args := []any{appID}
	in := func(col string, n int, add func(i int)) {
		if n == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", n), ",")+")")
		for i := 0; i < n; i++ {
			add(i)
		}
	}
	in("id", len(q.IDs), func(i int) { args = append(args, q.IDs[i]) })
	in("login", len(q.Logins), func(i int) { args = append(args, q.Logins[i]) })
	in("email", len(q.Emails), func(i int) { args = append(args, q.Emails[i]) })
	in("external_id", len(q.ExternalIDs), func(i int) { args = append(args, q.ExternalIDs[i]) })
	in("phone", len(q.Phones), func(i int) { args = append(args, q.Phones[i]) })
	if !q.GuestsIdleBefore.IsZero() {
		where = append(where, "guest = 1 AND MAX(COALESCE(last_request_at, 0), created_at) < ?")
		args = append(args, q.GuestsIdleBefore.UnixNano())
	}
	if len(q.Tags) > 0 {
		var any []string
		for _, tag := range q.Tags {
			any = append(any, "(','||tags||',') LIKE ? ESCAPE '\\'")
			args = append(args, "%,"+likeEscape(tag)+",%")
		}
		where = append(where, "("+strings.Join(any, " OR ")+")")
	}
	if q.FullName != "" {
		where = append(where, "full_name LIKE ? ESCAPE '\\'")
		args = append(args, "%"+likeEscape(q.FullName)+"%")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	sortCol, ok := userSorts[q.SortField]
	if !ok {
		sortCol = "id"
	}
	dir := "ASC"
	if q.SortDesc {
		dir = "DESC"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE `+cond+` ORDER BY `+sortCol+` `+dir+`, id `+dir+` LIMIT ? OFFSET ?`,
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []accounts.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *u)
	}
	return out, total, rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Credentials implements accounts.UserStore.
func (s *DB) Credentials(ctx context.Context, appID, userID int64) (*accounts.Credentials, error) {
	var c accounts.Credentials
	err := s.queryRow(ctx, `SELECT salt, iter, sha1_stored, sha1_server, sha256_stored, sha256_server FROM users WHERE app_id=? AND id=?`, appID, userID).
		Scan(&c.Salt, &c.Iter, &c.Keys.SHA1.Stored, &c.Keys.SHA1.Server, &c.Keys.SHA256.Stored, &c.Keys.SHA256.Server)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrNotFound
	}
	return &c, err
}

// SetCredentials implements accounts.UserStore.
func (s *DB) SetCredentials(ctx context.Context, appID, userID int64, c *accounts.Credentials) error {
	return affected(s.db.ExecContext(ctx, `UPDATE users SET salt=?, iter=?, sha1_stored=?, sha1_server=?, sha256_stored=?, sha256_server=? WHERE app_id=? AND id=?`,
		c.Salt, c.Iter, c.Keys.SHA1.Stored, c.Keys.SHA1.Server, c.Keys.SHA256.Stored, c.Keys.SHA256.Server, appID, userID))
}

// SetLastSeen implements accounts.UserStore.
func (s *DB) SetLastSeen(ctx context.Context, appID, userID int64, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE users SET last_seen=? WHERE app_id=? AND id=?`, unixNano(at), appID, userID)
	return err
}

// LastSeen implements accounts.UserStore.
func (s *DB) LastSeen(ctx context.Context, appID, userID int64) (time.Time, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT last_seen FROM users WHERE app_id=? AND id=?`, appID, userID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, accounts.ErrNotFound
	}
	return fromNano(n), err
}

// CreateSession implements accounts.SessionStore.
func (s *DB) CreateSession(ctx context.Context, se *accounts.Session) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO sessions(app_id, user_id, token_hash, sha1_stored, sha1_server, sha256_stored, sha256_server, created_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?)`,
		se.AppID, se.UserID, se.TokenHash, se.Keys.SHA1.Stored, se.Keys.SHA1.Server, se.Keys.SHA256.Stored, se.Keys.SHA256.Server, unixNano(se.CreatedAt), unixNano(se.ExpiresAt))
	if err != nil {
		return err
	}
	se.ID, err = res.LastInsertId()
	return err
}

const sessionCols = `id, app_id, user_id, token_hash, sha1_stored, sha1_server, sha256_stored, sha256_server, created_at, expires_at`

func scanSession(sc interface{ Scan(...any) error }) (*accounts.Session, error) {
	var se accounts.Session
	var c, e int64
	err := sc.Scan(&se.ID, &se.AppID, &se.UserID, &se.TokenHash, &se.Keys.SHA1.Stored, &se.Keys.SHA1.Server, &se.Keys.SHA256.Stored, &se.Keys.SHA256.Server, &c, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accounts.ErrNotFound
	}
	se.CreatedAt, se.ExpiresAt = fromNano(c), fromNano(e)
	return &se, err
}

// SessionByTokenHash implements accounts.SessionStore.
func (s *DB) SessionByTokenHash(ctx context.Context, hash []byte) (*accounts.Session, error) {
	return scanSession(s.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
}

// LiveSessions implements accounts.SessionStore.
func (s *DB) LiveSessions(ctx context.Context, appID, userID int64, now time.Time) ([]accounts.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE app_id=? AND user_id=? AND expires_at > ? ORDER BY id DESC LIMIT 100`, appID, userID, unixNano(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []accounts.Session
	for rows.Next() {
		se, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *se)
	}
	return out, rows.Err()
}

// DeleteSession implements accounts.SessionStore.
func (s *DB) DeleteSession(ctx context.Context, id int64) error {
	return affected(s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id))
}

// TrimSessions implements accounts.SessionStore.
func (s *DB) TrimSessions(ctx context.Context, appID, userID int64, keep int) ([]int64, error) {
	return column[int64](s.query(ctx, `DELETE FROM sessions WHERE app_id = ? AND user_id = ? AND id NOT IN
		(SELECT id FROM sessions WHERE app_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?) RETURNING id`, appID, userID, appID, userID, keep))
}

// DeleteUserSessions implements accounts.SessionStore.
func (s *DB) DeleteUserSessions(ctx context.Context, app, uid, except int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE app_id = ? AND user_id = ? AND id <> ?`, app, uid, except)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DeleteExpiredSessions implements accounts.SessionStore.
func (s *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, unixNano(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Setting implements accounts.SettingStore.
func (s *DB) Setting(ctx context.Context, key string, init []byte) ([]byte, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING`, key, init); err != nil {
		return nil, err
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, err
}
