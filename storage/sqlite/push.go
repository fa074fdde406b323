package sqlite

import (
	"context"

	"github.com/parley-chat/parley/push"
)

var _ push.Store = (*DB)(nil)

// CreateSubscription implements push.Store.
func (s *DB) CreateSubscription(ctx context.Context, sub *push.Subscription) error {
	err := s.db.QueryRowContext(ctx, `INSERT INTO push_subscriptions(app_id, user_id, platform, channel, device_udid, token, environment, bundle_id, created_at)
		VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(app_id, user_id, device_udid, channel) DO UPDATE SET token=excluded.token, environment=excluded.environment,
		bundle_id=excluded.bundle_id, platform=excluded.platform RETURNING id`,
		sub.AppID, sub.UserID, sub.Platform, sub.Channel, sub.DeviceUDID, sub.Token, sub.Environment, sub.BundleID, unixNano(sub.CreatedAt)).Scan(&sub.ID)
	return err
}

// Subscriptions implements push.Store.
func (s *DB) Subscriptions(ctx context.Context, app int64, users []int64) ([]push.Subscription, error) {
	if len(users) == 0 {
		return nil, nil
	}
	args := []any{app}
	for _, u := range users {
		args = append(args, u)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, app_id, user_id, platform, channel, device_udid, token, environment, bundle_id, created_at
		FROM push_subscriptions WHERE app_id=? AND user_id IN (`+placeholders(len(users))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []push.Subscription
	for rows.Next() {
		var p push.Subscription
		var c int64
		if err := rows.Scan(&p.ID, &p.AppID, &p.UserID, &p.Platform, &p.Channel, &p.DeviceUDID, &p.Token, &p.Environment, &p.BundleID, &c); err != nil {
			return nil, err
		}
		p.CreatedAt = fromNano(c)
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteSubscription implements push.Store.
func (s *DB) DeleteSubscription(ctx context.Context, app, uid, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE app_id=? AND user_id=? AND id=?`, app, uid, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return push.ErrNotFound
	}
	return nil
}
