package sqlite

import (
	"context"
	"time"

	"github.com/parley-chat/parley/quota"
)

var _ quota.Events = (*DB)(nil)

// quotaChunk bounds the user ids bound in one statement.
const quotaChunk = 500

// CountEvents implements quota.Events.
func (s *DB) CountEvents(ctx context.Context, app int64, kind string, users []int64, since time.Time) (map[int64]int, error) {
	out := map[int64]int{}
	for start := 0; start < len(users); start += quotaChunk {
		part := users[start:min(start+quotaChunk, len(users))]
		args := []any{app, kind, unixNano(since)}
		for _, u := range part {
			args = append(args, u)
		}
		rows, err := s.queryBuilt(ctx, `SELECT user_id, COUNT(*) FROM quota_events WHERE app_id = ? AND kind = ? AND at >= ? AND user_id IN (`+placeholders(len(part))+`) GROUP BY user_id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u int64
			var n int
			if err := rows.Scan(&u, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[u] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AddEvents implements quota.Events.
func (s *DB) AddEvents(ctx context.Context, app int64, kind string, users []int64, at, forget time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := s.txStmt(ctx, tx, `INSERT INTO quota_events(app_id, kind, user_id, at) VALUES (?,?,?,?)`)
	if err != nil {
		return err
	}
	del, err := s.txStmt(ctx, tx, `DELETE FROM quota_events WHERE app_id = ? AND kind = ? AND user_id = ? AND at < ?`)
	if err != nil {
		return err
	}
	for _, u := range users {
		if _, err := del.ExecContext(ctx, app, kind, u, unixNano(forget)); err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, app, kind, u, unixNano(at)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
