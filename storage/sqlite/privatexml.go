package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parley-chat/parley/privatexml"
)

var _ privatexml.Store = (*DB)(nil)

// PrivateXML implements privatexml.Store.
func (s *DB) PrivateXML(ctx context.Context, o privatexml.Owner, key string) (string, error) {
	var doc string
	err := s.queryRow(ctx, `SELECT doc FROM private_xml WHERE app_id=? AND user_id=? AND key=?`, o.AppID, o.UserID, key).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", privatexml.ErrNotFound
	}
	return doc, err
}

// PutPrivateXML implements privatexml.Store.
func (s *DB) PutPrivateXML(ctx context.Context, o privatexml.Owner, key, doc string) error {
	_, err := s.exec(ctx, `INSERT INTO private_xml(app_id, user_id, key, doc) VALUES (?,?,?,?)
		ON CONFLICT(app_id, user_id, key) DO UPDATE SET doc=excluded.doc`, o.AppID, o.UserID, key, doc)
	return err
}

// CountPrivateXML implements privatexml.Store.
func (s *DB) CountPrivateXML(ctx context.Context, o privatexml.Owner) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM private_xml WHERE app_id=? AND user_id=?`, o.AppID, o.UserID).Scan(&n)
	return n, err
}

// DeletePrivateXML implements privatexml.Store.
func (s *DB) DeletePrivateXML(ctx context.Context, o privatexml.Owner) error {
	_, err := s.exec(ctx, `DELETE FROM private_xml WHERE app_id=? AND user_id=?`, o.AppID, o.UserID)
	return err
}
