package sqlite

import (
	"context"

	"github.com/parley-chat/parley/addressbook"
)

var _ addressbook.Store = (*DB)(nil)

// Contacts implements addressbook.Store.
func (s *DB) Contacts(ctx context.Context, o addressbook.Owner) ([]addressbook.Contact, error) {
	rows, err := s.query(ctx, `SELECT name, phone FROM address_book WHERE app_id=? AND user_id=? AND udid=? ORDER BY phone`, o.AppID, o.UserID, o.UDID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []addressbook.Contact{}
	for rows.Next() {
		var c addressbook.Contact
		if err := rows.Scan(&c.Name, &c.Phone); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutContacts implements addressbook.Store.
func (s *DB) PutContacts(ctx context.Context, o addressbook.Owner, put []addressbook.Contact, remove []string, replace bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM address_book WHERE app_id=? AND user_id=? AND udid=?`, o.AppID, o.UserID, o.UDID); err != nil {
			return err
		}
	}
	for _, p := range remove {
		if _, err := tx.ExecContext(ctx, `DELETE FROM address_book WHERE app_id=? AND user_id=? AND udid=? AND phone=?`, o.AppID, o.UserID, o.UDID, p); err != nil {
			return err
		}
	}
	for _, c := range put {
		if _, err := tx.ExecContext(ctx, `INSERT INTO address_book(app_id, user_id, udid, phone, name) VALUES (?,?,?,?,?)
			ON CONFLICT(app_id, user_id, udid, phone) DO UPDATE SET name=excluded.name`, o.AppID, o.UserID, o.UDID, c.Phone, c.Name); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// CountContacts implements addressbook.Store.
func (s *DB) CountContacts(ctx context.Context, o addressbook.Owner) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM address_book WHERE app_id=? AND user_id=? AND udid=?`, o.AppID, o.UserID, o.UDID).Scan(&n)
	return n, err
}

// DeleteUserContacts implements addressbook.Store.
func (s *DB) DeleteUserContacts(ctx context.Context, app, user int64) error {
	_, err := s.exec(ctx, `DELETE FROM address_book WHERE app_id=? AND user_id=?`, app, user)
	return err
}

// CountUserContacts implements addressbook.Store.
func (s *DB) CountUserContacts(ctx context.Context, app, user int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM address_book WHERE app_id=? AND user_id=?`, app, user).Scan(&n)
	return n, err
}
