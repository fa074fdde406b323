package mongo

import (
	"context"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/push"
)

var (
	_ history.OfflineStore = (*DB)(nil)
	_ privacy.Store        = (*DB)(nil)
	_ push.Store           = (*DB)(nil)
)

func init() {
	indexes["offline"] = []mongoIndex{{"app_id", "user_id", "_id"}}
	indexes["privacy_lists"] = []mongoIndex{{"app_id", "user_id"}}
	indexes["push_subscriptions"] = []mongoIndex{{"app_id", "user_id"}}
}

func userKeyStr(app, uid int64) string {
	return strconv.FormatInt(app, 10) + ":" + strconv.FormatInt(uid, 10)
}

// PushOffline implements history.OfflineStore.
func (s *DB) PushOffline(ctx context.Context, app, uid int64, m history.Offline, max int) (int, error) {
	seq, err := s.nextID(ctx, "offline")
	if err != nil {
		return 0, err
	}
	if _, err := s.c("offline").InsertOne(ctx, bson.M{"_id": seq, "app_id": app, "user_id": uid, "stanza": m.Stanza, "at": nano(m.At), "tag": m.Tag}); err != nil {
		return 0, err
	}
	// Beyond the bound, the oldest go.
	cur, err := s.c("offline").Find(ctx, bson.M{"app_id": app, "user_id": uid},
		options.Find().SetSort(bson.M{"_id": -1}).SetSkip(int64(max)).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return 0, err
	}
	var old []struct {
		ID int64 `bson:"_id"`
	}
	if err := cur.All(ctx, &old); err != nil || len(old) == 0 {
		return 0, err
	}
	ids := make([]int64, 0, len(old))
	for _, o := range old {
		ids = append(ids, o.ID)
	}
	res, err := s.c("offline").DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}

// PopOffline implements history.OfflineStore.
func (s *DB) PopOffline(ctx context.Context, app, uid int64, limit int) ([]history.Offline, error) {
	cur, err := s.c("offline").Find(ctx, bson.M{"app_id": app, "user_id": uid}, options.Find().SetSort(bson.M{"_id": 1}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID     int64  `bson:"_id"`
		Stanza []byte `bson:"stanza"`
		At     int64  `bson:"at"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]history.Offline, 0, len(docs))
	ids := make([]int64, 0, len(docs))
	for _, d := range docs {
		out = append(out, history.Offline{Seq: d.ID, Stanza: d.Stanza, At: fromNano(d.At)})
		ids = append(ids, d.ID)
	}
	if len(ids) > 0 {
		if _, err := s.c("offline").DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DropOffline implements history.OfflineStore.
func (s *DB) DropOffline(ctx context.Context, app, uid int64, tag string) (int, error) {
	res, err := s.c("offline").DeleteMany(ctx, bson.M{"app_id": app, "user_id": uid, "tag": tag})
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}

// OfflineCount implements history.OfflineStore.
func (s *DB) OfflineCount(ctx context.Context, app, uid int64) (int, error) {
	n, err := s.c("offline").CountDocuments(ctx, bson.M{"app_id": app, "user_id": uid})
	return int(n), err
}

type itemDoc struct {
	Type   string   `bson:"type"`
	Value  string   `bson:"value"`
	Action string   `bson:"action"`
	Order  int      `bson:"order"`
	Kinds  []string `bson:"kinds"`
}

// PrivacyLists implements privacy.Store.
func (s *DB) PrivacyLists(ctx context.Context, app, uid int64) ([]string, string, error) {
	cur, err := s.c("privacy_lists").Find(ctx, bson.M{"app_id": app, "user_id": uid}, options.Find().SetSort(bson.M{"name": 1}).SetProjection(bson.M{"name": 1}))
	if err != nil {
		return nil, "", err
	}
	var docs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, "", err
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	var def struct {
		Name string `bson:"name"`
	}
	if err := s.c("privacy_default").FindOne(ctx, bson.M{"_id": userKeyStr(app, uid)}).Decode(&def); err != nil && !notFound(err) {
		return nil, "", err
	}
	return names, def.Name, nil
}

// PrivacyList implements privacy.Store.
func (s *DB) PrivacyList(ctx context.Context, app, uid int64, name string) (*privacy.List, error) {
	var d struct {
		Items []itemDoc `bson:"items"`
	}
	if err := s.c("privacy_lists").FindOne(ctx, bson.M{"_id": userKeyStr(app, uid) + ":" + name}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, privacy.ErrNotFound
		}
		return nil, err
	}
	l := &privacy.List{Name: name}
	for _, it := range d.Items {
		item := privacy.Item{Type: it.Type, Value: it.Value, Action: it.Action, Order: it.Order}
		for _, k := range it.Kinds {
			item.Kinds = append(item.Kinds, privacy.Kind(k))
		}
		l.Items = append(l.Items, item)
	}
	return l, nil
}

// SetPrivacyList implements privacy.Store.
func (s *DB) SetPrivacyList(ctx context.Context, app, uid int64, l *privacy.List) error {
	items := make([]itemDoc, 0, len(l.Items))
	for _, it := range l.Items {
		kinds := []string{}
		for _, k := range it.Kinds {
			kinds = append(kinds, string(k))
		}
		items = append(items, itemDoc{Type: it.Type, Value: it.Value, Action: it.Action, Order: it.Order, Kinds: kinds})
	}
	_, err := s.c("privacy_lists").UpdateOne(ctx, bson.M{"_id": userKeyStr(app, uid) + ":" + l.Name},
		bson.M{"$set": bson.M{"app_id": app, "user_id": uid, "name": l.Name, "items": items}}, options.UpdateOne().SetUpsert(true))
	return err
}

// DeletePrivacyList implements privacy.Store.
func (s *DB) DeletePrivacyList(ctx context.Context, app, uid int64, name string) error {
	res, err := s.c("privacy_lists").DeleteOne(ctx, bson.M{"_id": userKeyStr(app, uid) + ":" + name})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return privacy.ErrNotFound
	}
	_, err = s.c("privacy_default").DeleteOne(ctx, bson.M{"_id": userKeyStr(app, uid), "name": name})
	return err
}

// SetDefaultPrivacyList implements privacy.Store.
func (s *DB) SetDefaultPrivacyList(ctx context.Context, app, uid int64, name string) error {
	if name == "" {
		_, err := s.c("privacy_default").DeleteOne(ctx, bson.M{"_id": userKeyStr(app, uid)})
		return err
	}
	_, err := s.c("privacy_default").UpdateOne(ctx, bson.M{"_id": userKeyStr(app, uid)}, bson.M{"$set": bson.M{"name": name}}, options.UpdateOne().SetUpsert(true))
	return err
}

type subDoc struct {
	Key         string `bson:"_id"`
	ID          int64  `bson:"id"`
	AppID       int64  `bson:"app_id"`
	UserID      int64  `bson:"user_id"`
	Platform    string `bson:"platform"`
	Channel     string `bson:"channel"`
	DeviceUDID  string `bson:"device_udid"`
	Token       string `bson:"token"`
	Environment string `bson:"environment"`
	BundleID    string `bson:"bundle_id"`
	CreatedAt   int64  `bson:"created_at"`
}

// CreateSubscription implements push.Store: one subscription per user,
// device and channel (registering again replaces the token).
func (s *DB) CreateSubscription(ctx context.Context, sub *push.Subscription) error {
	key := userKeyStr(sub.AppID, sub.UserID) + ":" + sub.DeviceUDID + ":" + sub.Channel
	var existing subDoc
	err := s.c("push_subscriptions").FindOne(ctx, bson.M{"_id": key}).Decode(&existing)
	switch {
	case err == nil:
		sub.ID = existing.ID
	case notFound(err):
		if sub.ID, err = s.nextID(ctx, "push_subscriptions"); err != nil {
			return err
		}
	default:
		return err
	}
	_, err = s.c("push_subscriptions").UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": subDoc{Key: key, ID: sub.ID, AppID: sub.AppID, UserID: sub.UserID,
		Platform: sub.Platform, Channel: sub.Channel, DeviceUDID: sub.DeviceUDID, Token: sub.Token, Environment: sub.Environment, BundleID: sub.BundleID,
		CreatedAt: nano(sub.CreatedAt)}}, options.UpdateOne().SetUpsert(true))
	return err
}

// Subscriptions implements push.Store.
func (s *DB) Subscriptions(ctx context.Context, app int64, users []int64) ([]push.Subscription, error) {
	if len(users) == 0 {
		return nil, nil
	}
	docs, err := findAll[subDoc](ctx, s.c("push_subscriptions"), bson.M{"app_id": app, "user_id": bson.M{"$in": users}}, options.Find().SetSort(bson.M{"id": 1}))
	if err != nil {
		return nil, err
	}
	out := make([]push.Subscription, 0, len(docs))
	for _, d := range docs {
		out = append(out, push.Subscription{ID: d.ID, AppID: d.AppID, UserID: d.UserID, Platform: d.Platform, Channel: d.Channel, DeviceUDID: d.DeviceUDID,
			Token: d.Token, Environment: d.Environment, BundleID: d.BundleID, CreatedAt: fromNano(d.CreatedAt)})
	}
	return out, nil
}

// DeleteSubscription implements push.Store.
func (s *DB) DeleteSubscription(ctx context.Context, app, uid, id int64) error {
	res, err := s.c("push_subscriptions").DeleteOne(ctx, bson.M{"app_id": app, "user_id": uid, "id": id})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return push.ErrNotFound
	}
	return nil
}
