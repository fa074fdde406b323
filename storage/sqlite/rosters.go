package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parley-chat/parley/rosters"
)

var _ rosters.Store = (*DB)(nil)

const rosterCols = `jid, name, groups_json, subscription, ask, approved, pending_in, status, hidden, rev`

type scanner interface{ Scan(dest ...any) error }

func scanRosterItem(r scanner) (*rosters.Item, error) {
	var it rosters.Item
	var groups, sub string
	if err := r.Scan(&it.JID, &it.Name, &groups, &sub, &it.Ask, &it.Approved, &it.PendingIn, &it.Status, &it.Hidden, &it.Rev); err != nil {
		return nil, err
	}
	it.Subscription = rosters.Subscription(sub)
	if err := json.Unmarshal([]byte(groups), &it.Groups); err != nil {
		return nil, err
	}
	return &it, nil
}

func (s *DB) rosterList(ctx context.Context, query string, o rosters.Owner) ([]rosters.Item, error) {
	rows, err := s.query(ctx, query, o.AppID, o.UserID)
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
	err := s.queryRow(ctx, `SELECT ver FROM roster_versions WHERE app_id=? AND user_id=?`, o.AppID, o.UserID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// RosterItems implements rosters.Store.
func (s *DB) RosterItems(ctx context.Context, o rosters.Owner) ([]rosters.Item, error) {
	return s.rosterList(ctx, `SELECT `+rosterCols+` FROM roster_items WHERE app_id=? AND user_id=? ORDER BY jid`, o)
}

// PendingRosterItems implements rosters.Store.
func (s *DB) PendingRosterItems(ctx context.Context, o rosters.Owner) ([]rosters.Item, error) {
	return s.rosterList(ctx, `SELECT `+rosterCols+` FROM roster_items WHERE app_id=? AND user_id=? AND pending_in=1 ORDER BY jid`, o)
}

// RosterItem implements rosters.Store.
func (s *DB) RosterItem(ctx context.Context, o rosters.Owner, jid string) (*rosters.Item, error) {
	it, err := scanRosterItem(s.queryRow(ctx, `SELECT `+rosterCols+` FROM roster_items WHERE app_id=? AND user_id=? AND jid=?`, o.AppID, o.UserID, jid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, rosters.ErrNotFound
	}
	return it, err
}

// CountRosterItems implements rosters.Store.
func (s *DB) CountRosterItems(ctx context.Context, o rosters.Owner) (items, pending int, err error) {
	err = s.queryRow(ctx, `SELECT COALESCE(SUM(hidden=0), 0), COALESCE(SUM(pending_in=1), 0) FROM roster_items WHERE app_id=? AND user_id=?`,
		o.AppID, o.UserID).Scan(&items, &pending)
	return items, pending, err
}

// PutRosterItem implements rosters.Store: the item and the version in one
// transaction. The new revision is the new version, unique per roster.
func (s *DB) PutRosterItem(ctx context.Context, o rosters.Owner, it *rosters.Item) (int64, error) {
	groups := it.Groups
	if groups == nil {
		groups = []string{}
	}
	gb, err := json.Marshal(groups)
	if err != nil {
		return 0, err
	}
	sub := it.Subscription
	if sub == "" {
		sub = rosters.None
	}
	return s.rosterWrite(ctx, o, func(tx *sql.Tx, ver int64) (sql.Result, error) {
		if it.Rev == 0 {
			return s.txExec(ctx, tx, `INSERT INTO roster_items(app_id, user_id, `+rosterCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT(app_id, user_id, jid) DO NOTHING`,
				o.AppID, o.UserID, it.JID, it.Name, string(gb), string(sub), it.Ask, it.Approved, it.PendingIn, it.Status, it.Hidden, ver)
		}
		return s.txExec(ctx, tx, `UPDATE roster_items SET name=?, groups_json=?, subscription=?, ask=?, approved=?, pending_in=?, status=?, hidden=?, rev=?
			WHERE app_id=? AND user_id=? AND jid=? AND rev=?`,
			it.Name, string(gb), string(sub), it.Ask, it.Approved, it.PendingIn, it.Status, it.Hidden, ver, o.AppID, o.UserID, it.JID, it.Rev)
	}, func(ver int64) { it.Rev = ver })
}

// DeleteRosterItem implements rosters.Store.
func (s *DB) DeleteRosterItem(ctx context.Context, o rosters.Owner, jid string, rev int64) (int64, error) {
	ver, err := s.rosterWrite(ctx, o, func(tx *sql.Tx, _ int64) (sql.Result, error) {
		return s.txExec(ctx, tx, `DELETE FROM roster_items WHERE app_id=? AND user_id=? AND jid=? AND rev=?`, o.AppID, o.UserID, jid, rev)
	}, nil)
	if errors.Is(err, rosters.ErrConflict) {
		if _, gerr := s.RosterItem(ctx, o, jid); errors.Is(gerr, rosters.ErrNotFound) {
			return 0, rosters.ErrNotFound
		}
	}
	return ver, err
}

// rosterWrite raises the roster's version and runs write with it, in one
// transaction; a write that changes no row is ErrConflict.
func (s *DB) rosterWrite(ctx context.Context, o rosters.Owner, write func(tx *sql.Tx, ver int64) (sql.Result, error), done func(ver int64)) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	st, err := s.txStmt(ctx, tx, `INSERT INTO roster_versions(app_id, user_id, ver) VALUES (?,?,1)
		ON CONFLICT(app_id, user_id) DO UPDATE SET ver=roster_versions.ver+1 RETURNING ver`)
	if err != nil {
		return 0, err
	}
	var ver int64
	if err := st.QueryRowContext(ctx, o.AppID, o.UserID).Scan(&ver); err != nil {
		return 0, err
	}
	res, err := write(tx, ver)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 0 {
		return 0, rosters.ErrConflict
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if done != nil {
		done(ver)
	}
	return ver, nil
}

func (s *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
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
