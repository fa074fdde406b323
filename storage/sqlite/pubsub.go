package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parley-chat/parley/pubsub"
)

var _ pubsub.Store = (*DB)(nil)

// PubsubNode implements pubsub.Store.
func (s *DB) PubsubNode(ctx context.Context, o pubsub.Owner, node string) (*pubsub.Node, error) {
	n := pubsub.Node{Owner: o, Name: node}
	var created int64
	err := s.queryRow(ctx, `SELECT access, max_items, created_at FROM pubsub_nodes WHERE app_id=? AND user_id=? AND node=?`, o.AppID, o.UserID, node).
		Scan(&n.Access, &n.MaxItems, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pubsub.ErrNotFound
	}
	n.Created = time.Unix(0, created).UTC()
	return &n, err
}

// PutPubsubNode implements pubsub.Store.
func (s *DB) PutPubsubNode(ctx context.Context, n *pubsub.Node) error {
	_, err := s.exec(ctx, `INSERT INTO pubsub_nodes(app_id, user_id, node, access, max_items, created_at) VALUES (?,?,?,?,?,?)
		ON CONFLICT(app_id, user_id, node) DO UPDATE SET access=excluded.access, max_items=excluded.max_items`,
		n.Owner.AppID, n.Owner.UserID, n.Name, n.Access, n.MaxItems, n.Created.UnixNano())
	return err
}

// DeletePubsubNode implements pubsub.Store.
func (s *DB) DeletePubsubNode(ctx context.Context, o pubsub.Owner, node string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM pubsub_nodes WHERE app_id=? AND user_id=? AND node=?`, o.AppID, o.UserID, node)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pubsub.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pubsub_items WHERE app_id=? AND user_id=? AND node=?`, o.AppID, o.UserID, node); err != nil {
		return err
	}
	return tx.Commit()
}

// PubsubNodes implements pubsub.Store.
func (s *DB) PubsubNodes(ctx context.Context, o pubsub.Owner) ([]pubsub.Node, error) {
	rows, err := s.query(ctx, `SELECT node, access, max_items, created_at FROM pubsub_nodes WHERE app_id=? AND user_id=? ORDER BY node`, o.AppID, o.UserID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pubsub.Node
	for rows.Next() {
		n := pubsub.Node{Owner: o}
		var created int64
		if err := rows.Scan(&n.Name, &n.Access, &n.MaxItems, &created); err != nil {
			return nil, err
		}
		n.Created = time.Unix(0, created).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// PutPubsubItem implements pubsub.Store.
func (s *DB) PutPubsubItem(ctx context.Context, o pubsub.Owner, node string, it pubsub.Item, max int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO pubsub_items(app_id, user_id, node, id, payload, published) VALUES (?,?,?,?,?,?)
		ON CONFLICT(app_id, user_id, node, id) DO UPDATE SET payload=excluded.payload, published=excluded.published`,
		o.AppID, o.UserID, node, it.ID, it.Payload, it.Published.UnixNano()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pubsub_items WHERE app_id=? AND user_id=? AND node=? AND id NOT IN
		(SELECT id FROM pubsub_items WHERE app_id=? AND user_id=? AND node=? ORDER BY published DESC, id DESC LIMIT ?)`,
		o.AppID, o.UserID, node, o.AppID, o.UserID, node, max); err != nil {
		return err
	}
	return tx.Commit()
}

// PubsubItems implements pubsub.Store.
func (s *DB) PubsubItems(ctx context.Context, o pubsub.Owner, node string, ids []string, max int) ([]pubsub.Item, error) {
	q := `SELECT id, payload, published FROM pubsub_items WHERE app_id=? AND user_id=? AND node=?`
	args := []any{o.AppID, o.UserID, node}
	if len(ids) > 0 {
		q += ` AND id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	q += ` ORDER BY published DESC, id DESC LIMIT ?`
	rows, err := s.queryBuilt(ctx, q, append(args, max)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pubsub.Item
	for rows.Next() {
		var it pubsub.Item
		var at int64
		if err := rows.Scan(&it.ID, &it.Payload, &at); err != nil {
			return nil, err
		}
		it.Published = time.Unix(0, at).UTC()
		out = append(out, it)
	}
	return out, rows.Err()
}

// DeletePubsubItem implements pubsub.Store.
func (s *DB) DeletePubsubItem(ctx context.Context, o pubsub.Owner, node, id string) error {
	res, err := s.exec(ctx, `DELETE FROM pubsub_items WHERE app_id=? AND user_id=? AND node=? AND id=?`, o.AppID, o.UserID, node, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pubsub.ErrNotFound
	}
	return nil
}

// DeletePubsubOwner implements pubsub.Store.
func (s *DB) DeletePubsubOwner(ctx context.Context, o pubsub.Owner) error {
	if _, err := s.exec(ctx, `DELETE FROM pubsub_items WHERE app_id=? AND user_id=?`, o.AppID, o.UserID); err != nil {
		return err
	}
	_, err := s.exec(ctx, `DELETE FROM pubsub_nodes WHERE app_id=? AND user_id=?`, o.AppID, o.UserID)
	return err
}
