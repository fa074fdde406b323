package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parley-chat/parley/rosters"
)

var _ rosters.Store = (*DB)(nil)

const rosterCols = `jid, name, groups, subscription, ask, approved, pending_in, status, hidden, rev`

func scanRosterItem(sc interface{ Scan(...any) error }) (*rosters.Item, error) {
	var it rosters.Item
	var groups, sub string
	if err := sc.Scan(&it.JID, &it.Name, &groups, &sub, &it.Ask, &it.Approved, &it.PendingIn, &it.Status, &it.Hidden, &it.Rev); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, rosters.ErrNotFound
		}
		return nil, err
	}
	it.Subscription = rosters.Subscription(sub)
	if err := json.Unmarshal([]byte(groups), &it.Groups); err != nil {
		return nil, err
	}
	if len(it.Groups) == 0 {
		it.Groups = nil
	}
	return &it, nil
}

func (s *DB) rosterItems(ctx context.Context, query string, args ...any) ([]rosters.Item, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rosters.Item
	for rows.Next() {
		it, err := scanRosterItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *it)
	}
	return out, rows.Err()
}

// RosterVersion implements rosters.Store.
func (s *DB) RosterVersion(ctx context.Context, o rosters.Owner) (int64, error) {
	var v int64
	err := s.queryRow(ctx, `SELECT version FROM roster_versions WHERE app_id=? AND user_id=?`, o.AppID, o.UserID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// RosterItems implements rosters.Store.
func (s *DB) RosterItems(ctx context.Context, o rosters.Owner) ([]rosters.Item, error) {
	return s.rosterItems(ctx, `SELECT `+rosterCols+` FROM roster_items WHERE app_id=? AND user_id=? ORDER BY jid`, o.AppID, o.UserID)
}

// PendingRosterItems implements rosters.Store.
func (s *DB) PendingRosterItems(ctx context.Context, o rosters.Owner) ([]rosters.Item, error) {
	return s.rosterItems(ctx, `SELECT `+rosterCols+` FROM roster_items WHERE app_id=? AND user_id=? AND pending_in=1 ORDER BY jid`, o.AppID, o.UserID)
}

// RosterItem implements rosters.Store.
func (s *DB) RosterItem(ctx context.Context, o rosters.Owner, jid string) (*rosters.Item, error) {
	return scanRosterItem(s.queryRow(ctx, `SELECT `+rosterCols+` FROM roster_items WHERE app_id=? AND user_id=? AND jid=?`, o.AppID, o.UserID, jid))
}

// CountRosterItems implements rosters.Store.
func (s *DB) CountRosterItems(ctx context.Context, o rosters.Owner) (items, pending int, err error) {
	err = s.queryRow(ctx, `SELECT COALESCE(SUM(hidden=0),0), COALESCE(SUM(pending_in=1),0) FROM roster_items WHERE app_id=? AND user_id=?`,
		o.AppID, o.UserID).Scan(&items, &pending)
	return items, pending, err
}

// PutRosterItem implements rosters.Store: the item and the version change
// in one transaction.
func (s *DB) PutRosterItem(ctx context.Context, o rosters.Owner, it *rosters.Item) (int64, error) {
	groups, err := json.Marshal(it.Groups)
	if err != nil {
		return 0, err
	}
	if it.Groups == nil {
		groups = []byte("[]")
	}
	sub := string(it.Subscription)
	if sub == "" {
		sub = string(rosters.None)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var res sql.Result
	next := it.Rev + 1
	if it.Rev == 0 {
		res, err = tx.ExecContext(ctx, `INSERT INTO roster_items(app_id, user_id, jid, name, groups, subscription, ask, approved, pending_in, status, hidden, rev)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
			o.AppID, o.UserID, it.JID, it.Name, string(groups), sub, it.Ask, it.Approved, it.PendingIn, it.Status, it.Hidden, next)
	} else {
		res, err = tx.ExecContext(ctx, `UPDATE roster_items SET name=?, groups=?, subscription=?, ask=?, approved=?, pending_in=?, status=?, hidden=?, rev=?
			WHERE app_id=? AND user_id=? AND jid=? AND rev=?`,
			it.Name, string(groups), sub, it.Ask, it.Approved, it.PendingIn, it.Status, it.Hidden, next, o.AppID, o.UserID, it.JID, it.Rev)
	}
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, rosters.ErrConflict
	}
	v, err := bumpRosterVersion(ctx, tx, o)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	it.Rev = next
	return v, nil
}

// DeleteRosterItem implements rosters.Store.
func (s *DB) DeleteRosterItem(ctx context.Context, o rosters.Owner, jid string, rev int64) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM roster_items WHERE app_id=? AND user_id=? AND jid=? AND rev=?`, o.AppID, o.UserID, jid, rev)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM roster_items WHERE app_id=? AND user_id=? AND jid=?`, o.AppID, o.UserID, jid).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return 0, rosters.ErrNotFound
		}
		return 0, rosters.ErrConflict
	}
	v, err := bumpRosterVersion(ctx, tx, o)
	if err != nil {
		return 0, err
	}
	return v, tx.Commit()
}

func bumpRosterVersion(ctx context.Context, tx *sql.Tx, o rosters.Owner) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `INSERT INTO roster_versions(app_id, user_id, version) VALUES (?,?,1)
		ON CONFLICT(app_id, user_id) DO UPDATE SET version=version+1 RETURNING version`, o.AppID, o.UserID).Scan(&v)
	return v, err
}

// DeleteRoster implements rosters.Store.
func (s *DB) DeleteRoster(ctx context.Context, o rosters.Owner) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM roster_items WHERE app_id=? AND user_id=?`, o.AppID, o.UserID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM roster_versions WHERE app_id=? AND user_id=?`, o.AppID, o.UserID); err != nil {
		return err
	}
	return tx.Commit()
}
