package sqlite

import (
	"context"

	"github.com/parley-chat/parley/history"
)

var _ history.OfflineStore = (*DB)(nil)

// PushOffline implements history.OfflineStore.
func (s *DB) PushOffline(ctx context.Context, app, uid int64, m history.Offline, max int) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO offline(app_id, user_id, stanza, at, tag) VALUES (?,?,?,?,?)`, app, uid, m.Stanza, unixNano(m.At), m.Tag); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM offline WHERE app_id=? AND user_id=? AND seq NOT IN
		(SELECT seq FROM offline WHERE app_id=? AND user_id=? ORDER BY seq DESC LIMIT ?)`, app, uid, app, uid, max)
	if err != nil {
		return 0, err
	}
	dropped, _ := res.RowsAffected()
	return int(dropped), tx.Commit()
}

// PopOffline implements history.OfflineStore.
func (s *DB) PopOffline(ctx context.Context, app, uid int64, limit int) ([]history.Offline, error) {
	// Every login asks and most have nothing waiting: an indexed lookup
	// costs far less than a write transaction.
	var waiting int
	if err := s.queryRow(ctx, `SELECT EXISTS(SELECT 1 FROM offline WHERE app_id=? AND user_id=?)`, app, uid).Scan(&waiting); err != nil || waiting == 0 {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT seq, stanza, at FROM offline WHERE app_id=? AND user_id=? ORDER BY seq LIMIT ?`, app, uid, limit)
	if err != nil {
		return nil, err
	}
	var out []history.Offline
	for rows.Next() {
		var o history.Offline
		var at int64
		if err := rows.Scan(&o.Seq, &o.Stanza, &at); err != nil {
			rows.Close()
			return nil, err
		}
		o.At = fromNano(at)
		out = append(out, o)
	}
	rows.Close()
	if len(out) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM offline WHERE app_id=? AND user_id=? AND seq <= ?`, app, uid, out[len(out)-1].Seq); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// DropOffline implements history.OfflineStore.
func (s *DB) DropOffline(ctx context.Context, app, uid int64, tag string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM offline WHERE app_id=? AND user_id=? AND tag=?`, app, uid, tag)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// OfflineCount implements history.OfflineStore.
func (s *DB) OfflineCount(ctx context.Context, app, uid int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM offline WHERE app_id=? AND user_id=?`, app, uid).Scan(&n)
	return n, err
}
