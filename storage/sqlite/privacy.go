package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/parley-chat/parley/privacy"
)

var _ privacy.Store = (*DB)(nil)

// PrivacyLists implements privacy.Store.
func (s *DB) PrivacyLists(ctx context.Context, app, uid int64) ([]string, string, error) {
	names, err := column[string](s.db.QueryContext(ctx, `SELECT name FROM privacy_lists WHERE app_id=? AND user_id=? ORDER BY name`, app, uid))
	if err != nil {
		return nil, "", err
	}
	var def string
	err = s.db.QueryRowContext(ctx, `SELECT name FROM privacy_default WHERE app_id=? AND user_id=?`, app, uid).Scan(&def)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", err
	}
	return names, def, nil
}

// PrivacyList implements privacy.Store.
func (s *DB) PrivacyList(ctx context.Context, app, uid int64, name string) (*privacy.List, error) {
	var items string
	err := s.db.QueryRowContext(ctx, `SELECT items FROM privacy_lists WHERE app_id=? AND user_id=? AND name=?`, app, uid, name).Scan(&items)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, privacy.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	l := &privacy.List{Name: name}
	return l, json.Unmarshal([]byte(items), &l.Items)
}

// SetPrivacyList implements privacy.Store.
func (s *DB) SetPrivacyList(ctx context.Context, app, uid int64, l *privacy.List) error {
	b, _ := json.Marshal(l.Items)
	_, err := s.db.ExecContext(ctx, `INSERT INTO privacy_lists(app_id, user_id, name, items, updated_at) VALUES (?,?,?,?,?)
		ON CONFLICT(app_id, user_id, name) DO UPDATE SET items=excluded.items, updated_at=excluded.updated_at`, app, uid, l.Name, string(b), time.Now().UnixNano())
	return err
}

// DeletePrivacyList implements privacy.Store.
func (s *DB) DeletePrivacyList(ctx context.Context, app, uid int64, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM privacy_lists WHERE app_id=? AND user_id=? AND name=?`, app, uid, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return privacy.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM privacy_default WHERE app_id=? AND user_id=? AND name=?`, app, uid, name); err != nil {
		return err
	}
	return tx.Commit()
}

// SetDefaultPrivacyList implements privacy.Store.
func (s *DB) SetDefaultPrivacyList(ctx context.Context, app, uid int64, name string) error {
	if name == "" {
		_, err := s.db.ExecContext(ctx, `DELETE FROM privacy_default WHERE app_id=? AND user_id=?`, app, uid)
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO privacy_default(app_id, user_id, name) VALUES (?,?,?)
		ON CONFLICT(app_id, user_id) DO UPDATE SET name=excluded.name`, app, uid, name)
	return err
}
