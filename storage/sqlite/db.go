// Package sqlite is Parley's embedded store: one SQLite file in WAL mode,
// pure Go (modernc.org/sqlite), with versioned schema migrations applied at
// open. It implements the store interfaces the domain packages declare.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is the embedded store.
type DB struct {
	db      *sql.DB
	stmts   sync.Map // query text → *sql.Stmt, see stmt
	nstmts  atomic.Int64
	warming sync.Map // query texts txStmt is preparing on the pool
}

// Open opens (creating if needed) the database file under dir and migrates it.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data dir: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, "parley.db"))
}

// OpenFile opens the database at path and migrates it.
func OpenFile(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &DB{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close checkpoints the WAL and closes the file.
func (s *DB) Close() error {
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	s.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	return s.db.Close()
}

// stmt is query prepared once for the pool and reused: parsing the SQL of
// every stored message anew took about 8% of a saturated node's CPU, a
// third of an HTTP history lookup's and 28% of a login's. Nothing is
// evicted: constant texts are cached always, texts built from a request
// (the *Built helpers) only while the cache holds fewer than maxStmts.
func (s *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	s.nstmts.Add(1)
	return st, nil
}

// maxStmts bounds the statement cache; list filters combine into many
// texts, but real clients use a handful.
const maxStmts = 1024

// prepared is stmt, except that a built text the full cache does not hold
// yet gets nil: the caller then runs it unprepared, as before the cache.
func (s *DB) prepared(ctx context.Context, query string, built bool) (*sql.Stmt, error) {
	if built && s.nstmts.Load() >= maxStmts {
		if st, ok := s.stmts.Load(query); ok {
			return st.(*sql.Stmt), nil
		}
		return nil, nil
	}
	return s.stmt(ctx, query)
}

// queryRow runs a constant query through the statement cache.
func (s *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.row(ctx, query, false, args...)
}

// queryRowBuilt is queryRow for a text built from a request.
func (s *DB) queryRowBuilt(ctx context.Context, query string, args ...any) *sql.Row {
	return s.row(ctx, query, true, args...)
}

func (s *DB) row(ctx context.Context, query string, built bool, args ...any) *sql.Row {
	st, err := s.prepared(ctx, query, built)
	if err != nil || st == nil {
		// database/sql has no Row carrying an error; the pool's QueryRow
		// reports the same preparation error from Scan.
		return s.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a constant query through the statement cache.
func (s *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.rows(ctx, query, false, args...)
}

// queryBuilt is query for a text built from a request.
func (s *DB) queryBuilt(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.rows(ctx, query, true, args...)
}

func (s *DB) rows(ctx context.Context, query string, built bool, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, query, built)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// exec runs a constant statement through the statement cache.
func (s *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txStmt is stmt inside tx. A statement not cached yet is prepared on the
// transaction's own connection: preparing it on the pool would wait for a
// free connection while this one holds the write lock, and with the other
// connections all waiting for that lock, every writer would stall until
// the busy timeout and fail with SQLITE_BUSY. The pool copy is prepared
// in the background for the next caller.
func (s *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	if _, busy := s.warming.LoadOrStore(query, true); !busy {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s.stmt(ctx, query)
		}()
	}
	return tx.PrepareContext(ctx, query) // closed with the transaction
}

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// migrations are applied in order; each runs once, in its own transaction.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: accounts.
	`CREATE TABLE apps (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL,
		auth_key TEXT NOT NULL,
		auto_create_users INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE users (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
		login TEXT NOT NULL DEFAULT '',
		email TEXT NOT NULL DEFAULT '',
		full_name TEXT NOT NULL DEFAULT '',
		phone TEXT NOT NULL DEFAULT '',
		website TEXT NOT NULL DEFAULT '',
		custom_data TEXT NOT NULL DEFAULT '',
		external_id TEXT NOT NULL DEFAULT '',
		tags TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		last_request_at INTEGER NOT NULL DEFAULT 0,
		salt BLOB NOT NULL,
		iter INTEGER NOT NULL,
		sha1_stored BLOB NOT NULL,
		sha1_server BLOB NOT NULL,
		sha256_stored BLOB NOT NULL,
		sha256_server BLOB NOT NULL
	);
	CREATE UNIQUE INDEX users_login ON users(app_id, login) WHERE login <> '';
	CREATE UNIQUE INDEX users_email ON users(app_id, email) WHERE email <> '';
	CREATE INDEX users_external ON users(app_id, external_id) WHERE external_id <> '';
	CREATE TABLE sessions (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
		user_id INTEGER NOT NULL DEFAULT 0,
		token_hash BLOB NOT NULL UNIQUE,
		sha1_stored BLOB, sha1_server BLOB, sha256_stored BLOB, sha256_server BLOB,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE INDEX sessions_user ON sessions(app_id, user_id, expires_at);
	CREATE INDEX sessions_expiry ON sessions(expires_at);`,
	// 2: dialogs and message history.
	`CREATE TABLE dialogs (
		app_id INTEGER NOT NULL,
		id TEXT NOT NULL,
		type INTEGER NOT NULL,
		owner_id INTEGER NOT NULL,
		name TEXT NOT NULL DEFAULT '',
		description TEXT NOT NULL DEFAULT '',
		photo TEXT NOT NULL DEFAULT '',
		occupants TEXT NOT NULL DEFAULT '[]',
		occupants_count INTEGER NOT NULL DEFAULT 0,
		admins TEXT NOT NULL DEFAULT '[]',
		pinned TEXT NOT NULL DEFAULT '[]',
		extensions TEXT,
		allow_preview INTEGER NOT NULL DEFAULT 0,
		large INTEGER NOT NULL DEFAULT 0,
		private_key TEXT,
		last_message TEXT,
		last_message_id TEXT,
		last_message_user_id INTEGER NOT NULL DEFAULT 0,
		last_message_date INTEGER NOT NULL DEFAULT 0,
		last_message_status TEXT,
		seq INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (app_id, id)
	) WITHOUT ROWID;
	CREATE UNIQUE INDEX dialogs_private ON dialogs(app_id, private_key) WHERE private_key IS NOT NULL;
	CREATE INDEX dialogs_broadcast ON dialogs(app_id, type) WHERE type = 4;
	CREATE TABLE dialog_members (
		app_id INTEGER NOT NULL,
		user_id INTEGER NOT NULL,
		dialog_id TEXT NOT NULL,
		occupant INTEGER NOT NULL DEFAULT 1,
		read_seq INTEGER NOT NULL DEFAULT 0,
		cleared_seq INTEGER NOT NULL DEFAULT 0,
		hidden INTEGER NOT NULL DEFAULT 0,
		notifications INTEGER NOT NULL DEFAULT 1,
		PRIMARY KEY (app_id, user_id, dialog_id)
	) WITHOUT ROWID;
	CREATE INDEX members_dialog ON dialog_members(app_id, dialog_id, occupant, user_id);
	CREATE TABLE messages (
		pk INTEGER PRIMARY KEY AUTOINCREMENT,
		app_id INTEGER NOT NULL,
		dialog_id TEXT NOT NULL,
		id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		sender_id INTEGER NOT NULL,
		recipient_id INTEGER NOT NULL DEFAULT 0,
		body TEXT NOT NULL DEFAULT '',
		date_sent INTEGER NOT NULL,
		attachments TEXT,
		attachment_types TEXT NOT NULL DEFAULT '',
		custom TEXT,
		read_ids TEXT NOT NULL DEFAULT '[]',
		delivered_ids TEXT NOT NULL DEFAULT '[]',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE UNIQUE INDEX messages_id ON messages(app_id, dialog_id, id);
	CREATE INDEX messages_by_id ON messages(app_id, id);
	CREATE INDEX messages_seq ON messages(app_id, dialog_id, seq);
	CREATE INDEX messages_date ON messages(app_id, dialog_id, date_sent);
	CREATE TABLE message_hidden (
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL, dialog_id TEXT NOT NULL, id TEXT NOT NULL,
		PRIMARY KEY (app_id, user_id, dialog_id, id)
	) WITHOUT ROWID;
	CREATE TABLE reactions (
		app_id INTEGER NOT NULL, dialog_id TEXT NOT NULL, message_id TEXT NOT NULL, user_id INTEGER NOT NULL, reaction TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (app_id, dialog_id, message_id, reaction, user_id)
	) WITHOUT ROWID;
	CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='pk', tokenize='trigram');
	CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
		INSERT INTO messages_fts(rowid, body) VALUES (new.pk, new.body);
	END;
	CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.pk, old.body);
	END;
	CREATE TRIGGER messages_au AFTER UPDATE OF body ON messages BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.pk, old.body);
		INSERT INTO messages_fts(rowid, body) VALUES (new.pk, new.body);
	END;`,
	// 3: per-app whitelist of dialog custom fields.
	`ALTER TABLE apps ADD COLUMN dialog_extensions TEXT NOT NULL DEFAULT '';`,
	// 4: offline queues, privacy lists, last activity, push subscriptions.
	`CREATE TABLE offline (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
		stanza BLOB NOT NULL, at INTEGER NOT NULL
	);
	CREATE INDEX offline_user ON offline(app_id, user_id, seq);
	CREATE TABLE privacy_lists (
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL, name TEXT NOT NULL,
		items TEXT NOT NULL, updated_at INTEGER NOT NULL,
		PRIMARY KEY (app_id, user_id, name)
	) WITHOUT ROWID;
	CREATE TABLE privacy_default (
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL, name TEXT NOT NULL,
		PRIMARY KEY (app_id, user_id)
	) WITHOUT ROWID;
	ALTER TABLE users ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE push_subscriptions (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
		platform TEXT NOT NULL, channel TEXT NOT NULL, device_udid TEXT NOT NULL, token TEXT NOT NULL,
		environment TEXT NOT NULL DEFAULT 'production', bundle_id TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		UNIQUE (app_id, user_id, device_udid, channel)
	);
	CREATE INDEX push_user ON push_subscriptions(app_id, user_id);`,
	// 5: offline copies written for a hibernated stream-managed session.
	`ALTER TABLE offline ADD COLUMN tag TEXT NOT NULL DEFAULT '';`,
	// 6: per-app opt-in to showing users' email and phone to other users.
	`ALTER TABLE apps ADD COLUMN show_contacts INTEGER NOT NULL DEFAULT 0;`,
	// 7: installation-wide settings (the secret that keys unknown users' salts).
	`CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;`,
	// 8: apps keep the SHA-256 of their auth key; hashLegacyAuthKeys moves
	// keys stored in the clear before this version.
	`ALTER TABLE apps ADD COLUMN auth_key_hash BLOB;`,
	// 9: per-user events the rate limits count (quota.Events).
	`CREATE TABLE quota_events (
		app_id INTEGER NOT NULL, kind TEXT NOT NULL, user_id INTEGER NOT NULL, at INTEGER NOT NULL
	);
	CREATE INDEX quota_events_user ON quota_events(app_id, kind, user_id, at);`,
	// 10: the message archive (XEP-0313): the per-app archiving policy,
	// per-user archiving preferences, and a user's 1-1 archive as index
	// ranges: private messages by sender and by recipient, each in insertion
	// order (the rowid, pk, ends every index), and by date for the date
	// bounds of a query.
	`ALTER TABLE apps ADD COLUMN archive_all INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE archive_prefs (
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
		default_mode TEXT NOT NULL, always_jids TEXT NOT NULL DEFAULT '[]', never_jids TEXT NOT NULL DEFAULT '[]',
		PRIMARY KEY (app_id, user_id)
	) WITHOUT ROWID;
	CREATE INDEX messages_private_sent ON messages(app_id, sender_id) WHERE recipient_id <> 0;
	CREATE INDEX messages_private_received ON messages(app_id, recipient_id) WHERE recipient_id <> 0;
	CREATE INDEX messages_private_date ON messages(app_id, date_sent) WHERE recipient_id <> 0;`,
	// 11: rosters and presence subscriptions (rosters.Store); the
	// version counter per user.
	`CREATE TABLE roster_items (
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL, jid TEXT NOT NULL,
		name TEXT NOT NULL DEFAULT '', groups_json TEXT NOT NULL DEFAULT '[]',
		subscription TEXT NOT NULL DEFAULT 'none',
		ask INTEGER NOT NULL DEFAULT 0, approved INTEGER NOT NULL DEFAULT 0,
		pending_in INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT '',
		hidden INTEGER NOT NULL DEFAULT 0, rev INTEGER NOT NULL,
		PRIMARY KEY (app_id, user_id, jid)
	) WITHOUT ROWID;
	CREATE INDEX roster_pending ON roster_items(app_id, user_id, jid) WHERE pending_in = 1;
	CREATE TABLE roster_versions (
		app_id INTEGER NOT NULL, user_id INTEGER NOT NULL, ver INTEGER NOT NULL,
		PRIMARY KEY (app_id, user_id)
	) WITHOUT ROWID;`,
	// 12: rooms clients create by joining <name>@muc: the name, unique per app.
	`ALTER TABLE dialogs ADD COLUMN room TEXT;
	CREATE UNIQUE INDEX dialogs_room ON dialogs(app_id, room) WHERE room IS NOT NULL;`,
	// 13: a dialog's settings as a room (subject, password, voice...), JSON.
	`ALTER TABLE dialogs ADD COLUMN room_settings TEXT NOT NULL DEFAULT '';`,
	// 14: files (blobs): the records; the bytes are elsewhere.
	`CREATE TABLE blobs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		uid TEXT NOT NULL UNIQUE,
		app_id INTEGER NOT NULL,
		owner_id INTEGER NOT NULL,
		name TEXT NOT NULL,
		content_type TEXT NOT NULL,
		public INTEGER NOT NULL,
		uploaded INTEGER NOT NULL DEFAULT 0,
		complete INTEGER NOT NULL DEFAULT 0,
		size INTEGER NOT NULL DEFAULT 0,
		width INTEGER NOT NULL DEFAULT 0,
		height INTEGER NOT NULL DEFAULT 0,
		dialogs TEXT NOT NULL DEFAULT '[]',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX blobs_owner ON blobs(app_id, owner_id, complete, id);
	CREATE INDEX blobs_pending ON blobs(complete, created_at);`,
	// 15: private XML storage (XEP-0049) and other per-user documents.
	`CREATE TABLE private_xml (
		app_id INTEGER NOT NULL,
		user_id INTEGER NOT NULL,
		key TEXT NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (app_id, user_id, key)
	) WITHOUT ROWID;`,
	// 16: a user's avatar (a file's uid or a URL).
	`ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '';`,
	// 17: personal publish-subscribe nodes (PEP) and their items.
	`CREATE TABLE pubsub_nodes (
		app_id INTEGER NOT NULL,
		user_id INTEGER NOT NULL,
		node TEXT NOT NULL,
		access TEXT NOT NULL,
		max_items INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (app_id, user_id, node)
	) WITHOUT ROWID;
	CREATE TABLE pubsub_items (
		app_id INTEGER NOT NULL,
		user_id INTEGER NOT NULL,
		node TEXT NOT NULL,
		id TEXT NOT NULL,
		payload TEXT NOT NULL,
		published INTEGER NOT NULL,
		PRIMARY KEY (app_id, user_id, node, id)
	) WITHOUT ROWID;
	CREATE INDEX pubsub_items_newest ON pubsub_items(app_id, user_id, node, published);`,
	// 18: how an app numbers dialog types ("docs" or "" for the SDK's).
	`ALTER TABLE apps ADD COLUMN dialog_types TEXT NOT NULL DEFAULT '';`,
	// 19: meetings (with their attendees, for "mine") and whiteboards.
	`CREATE TABLE meetings (
		app_id INTEGER NOT NULL,
		id TEXT NOT NULL,
		host_id INTEGER NOT NULL,
		public INTEGER NOT NULL,
		start INTEGER NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (app_id, id)
	) WITHOUT ROWID;
	CREATE INDEX meetings_host ON meetings(app_id, host_id);
	CREATE TABLE meeting_attendees (
		app_id INTEGER NOT NULL,
		meeting_id TEXT NOT NULL,
		user_id INTEGER NOT NULL,
		PRIMARY KEY (app_id, user_id, meeting_id)
	) WITHOUT ROWID;
	CREATE INDEX meeting_attendees_meeting ON meeting_attendees(app_id, meeting_id);
	CREATE TABLE whiteboards (
		app_id INTEGER NOT NULL,
		id TEXT NOT NULL,
		dialog_id TEXT NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (app_id, id)
	) WITHOUT ROWID;
	CREATE INDEX whiteboards_dialog ON whiteboards(app_id, dialog_id);`,
	// 20: address books (phone contacts per user and device).
	`CREATE TABLE address_book (
		app_id INTEGER NOT NULL,
		user_id INTEGER NOT NULL,
		udid TEXT NOT NULL,
		phone TEXT NOT NULL,
		name TEXT NOT NULL,
		PRIMARY KEY (app_id, user_id, udid, phone)
	) WITHOUT ROWID;`,
	// 21: custom objects: classes and records (each scalar field gets an
	// expression index when its class is defined).
	`CREATE TABLE object_classes (
		app_id INTEGER NOT NULL,
		name TEXT NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (app_id, name)
	) WITHOUT ROWID;
	CREATE TABLE objects (
		app_id INTEGER NOT NULL,
		class TEXT NOT NULL,
		id TEXT NOT NULL,
		owner_id INTEGER NOT NULL,
		parent_id TEXT NOT NULL,
		created INTEGER NOT NULL,
		updated INTEGER NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (app_id, class, id)
	);
	CREATE INDEX objects_owner ON objects(app_id, class, owner_id);
	CREATE INDEX objects_created ON objects(app_id, class, created);`,
	// 22: guest sessions: an app's setting and a user's mark.
	`ALTER TABLE apps ADD COLUMN guests INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE users ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX users_guests ON users(app_id, guest, last_request_at) WHERE guest = 1;`,
}

func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrations table: %w", err)
	}
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this binary knows (%d); upgrade parley", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", v, err)
		}
	}
	return s.hashLegacyAuthKeys(ctx)
}

// SchemaVersion returns the applied schema version.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
