package mongo

import (
	"context"
	"errors"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/pubsub"
)

var _ pubsub.Store = (*DB)(nil)

func init() {
	indexes["pubsub_nodes"] = []mongoIndex{{"app_id", "user_id", "node"}}
	indexes["pubsub_items"] = []mongoIndex{{"app_id", "user_id", "node", "published"}}
}

func nodeKey(o pubsub.Owner, node string) string {
	return strconv.FormatInt(o.AppID, 10) + ":" + strconv.FormatInt(o.UserID, 10) + ":" + node
}

type pubsubNodeDoc struct {
	Key      string `bson:"_id"`
	AppID    int64  `bson:"app_id"`
	UserID   int64  `bson:"user_id"`
	Node     string `bson:"node"`
	Access   string `bson:"access"`
	MaxItems int    `bson:"max_items"`
	Created  int64  `bson:"created_at"`
}

type pubsubItemDoc struct {
	Key       string `bson:"_id"`
	AppID     int64  `bson:"app_id"`
	UserID    int64  `bson:"user_id"`
	Node      string `bson:"node"`
	ID        string `bson:"id"`
	Payload   string `bson:"payload"`
	Published int64  `bson:"published"`
}

// PubsubNode implements pubsub.Store.
func (s *DB) PubsubNode(ctx context.Context, o pubsub.Owner, node string) (*pubsub.Node, error) {
	var d pubsubNodeDoc
	if err := s.c("pubsub_nodes").FindOne(ctx, bson.M{"_id": nodeKey(o, node)}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, pubsub.ErrNotFound
		}
		return nil, err
	}
	return &pubsub.Node{Owner: o, Name: d.Node, Access: d.Access, MaxItems: d.MaxItems, Created: fromNano(d.Created)}, nil
}

// PutPubsubNode implements pubsub.Store.
func (s *DB) PutPubsubNode(ctx context.Context, n *pubsub.Node) error {
	return upsertRetry(func() error {
		_, err := s.c("pubsub_nodes").UpdateOne(ctx, bson.M{"_id": nodeKey(n.Owner, n.Name)}, bson.M{
			"$set":         bson.M{"access": n.Access, "max_items": n.MaxItems},
			"$setOnInsert": bson.M{"app_id": n.Owner.AppID, "user_id": n.Owner.UserID, "node": n.Name, "created_at": nano(n.Created)},
		}, options.UpdateOne().SetUpsert(true))
		return err
	})
}

// DeletePubsubNode implements pubsub.Store.
func (s *DB) DeletePubsubNode(ctx context.Context, o pubsub.Owner, node string) error {
	res, err := s.c("pubsub_nodes").DeleteOne(ctx, bson.M{"_id": nodeKey(o, node)})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return pubsub.ErrNotFound
	}
	_, err = s.c("pubsub_items").DeleteMany(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID, "node": node})
	return err
}

// PubsubNodes implements pubsub.Store.
func (s *DB) PubsubNodes(ctx context.Context, o pubsub.Owner) ([]pubsub.Node, error) {
	docs, err := findAll[pubsubNodeDoc](ctx, s.c("pubsub_nodes"), bson.M{"app_id": o.AppID, "user_id": o.UserID}, options.Find().SetSort(bson.D{{Key: "node", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]pubsub.Node, len(docs))
	for i, d := range docs {
		out[i] = pubsub.Node{Owner: o, Name: d.Node, Access: d.Access, MaxItems: d.MaxItems, Created: fromNano(d.Created)}
	}
	return out, nil
}

// PutPubsubItem implements pubsub.Store.
func (s *DB) PutPubsubItem(ctx context.Context, o pubsub.Owner, node string, it pubsub.Item, max int) error {
	key := nodeKey(o, node) + "\x00" + it.ID
	if err := upsertRetry(func() error {
		_, err := s.c("pubsub_items").UpdateOne(ctx, bson.M{"_id": key}, bson.M{"$set": bson.M{
			"app_id": o.AppID, "user_id": o.UserID, "node": node, "id": it.ID, "payload": it.Payload, "published": nano(it.Published)}},
			options.UpdateOne().SetUpsert(true))
		return err
	}); err != nil {
		return err
	}
	// Keep the newest max: find the ones past them and delete those.
	f := bson.M{"app_id": o.AppID, "user_id": o.UserID, "node": node}
	old, err := findAll[pubsubItemDoc](ctx, s.c("pubsub_items"), f, options.Find().SetSort(bson.D{{Key: "published", Value: -1}, {Key: "id", Value: -1}}).
		SetSkip(int64(max)).SetProjection(bson.M{"_id": 1}))
	if err != nil || len(old) == 0 {
		return err
	}
	keys := make([]string, len(old))
	for i, d := range old {
		keys[i] = d.Key
	}
	_, err = s.c("pubsub_items").DeleteMany(ctx, bson.M{"_id": bson.M{"$in": keys}})
	return err
}

// PubsubItems implements pubsub.Store.
func (s *DB) PubsubItems(ctx context.Context, o pubsub.Owner, node string, ids []string, max int) ([]pubsub.Item, error) {
	f := bson.M{"app_id": o.AppID, "user_id": o.UserID, "node": node}
	if len(ids) > 0 {
		f["id"] = bson.M{"$in": ids}
	}
	docs, err := findAll[pubsubItemDoc](ctx, s.c("pubsub_items"), f, options.Find().SetSort(bson.D{{Key: "published", Value: -1}, {Key: "id", Value: -1}}).SetLimit(int64(max)))
	if err != nil {
		return nil, err
	}
	out := make([]pubsub.Item, len(docs))
	for i, d := range docs {
		out[i] = pubsub.Item{ID: d.ID, Payload: d.Payload, Published: fromNano(d.Published)}
	}
	return out, nil
}

// DeletePubsubItem implements pubsub.Store.
func (s *DB) DeletePubsubItem(ctx context.Context, o pubsub.Owner, node, id string) error {
	res, err := s.c("pubsub_items").DeleteOne(ctx, bson.M{"_id": nodeKey(o, node) + "\x00" + id})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return pubsub.ErrNotFound
	}
	return nil
}

// DeletePubsubOwner implements pubsub.Store.
func (s *DB) DeletePubsubOwner(ctx context.Context, o pubsub.Owner) error {
	if _, err := s.c("pubsub_items").DeleteMany(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID}); err != nil {
		return err
	}
	_, err := s.c("pubsub_nodes").DeleteMany(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID})
	return err
}
