package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/parley-chat/parley/quota"
)

var _ quota.Events = (*DB)(nil)

func init() {
	indexes["quota_events"] = []mongoIndex{{"app_id", "kind", "user_id", "at"}}
}

// CountEvents implements quota.Events.
func (s *DB) CountEvents(ctx context.Context, app int64, kind string, users []int64, since time.Time) (map[int64]int, error) {
	out := map[int64]int{}
	if len(users) == 0 {
		return out, nil
	}
	cur, err := s.c("quota_events").Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.M{"app_id": app, "kind": kind, "user_id": bson.M{"$in": users}, "at": bson.M{"$gte": nano(since)}}}},
		{{Key: "$group", Value: bson.M{"_id": "$user_id", "n": bson.M{"$sum": 1}}}},
	})
	if err != nil {
		return nil, err
	}
	var docs []struct {
		User int64 `bson:"_id"`
		N    int   `bson:"n"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	for _, d := range docs {
		out[d.User] = d.N
	}
	return out, nil
}

// AddEvents implements quota.Events.
func (s *DB) AddEvents(ctx context.Context, app int64, kind string, users []int64, at, forget time.Time) error {
	if len(users) == 0 {
		return nil
	}
	if _, err := s.c("quota_events").DeleteMany(ctx, bson.M{"app_id": app, "kind": kind, "user_id": bson.M{"$in": users}, "at": bson.M{"$lt": nano(forget)}}); err != nil {
		return err
	}
	docs := make([]any, 0, len(users))
	for _, u := range users {
		docs = append(docs, bson.M{"app_id": app, "kind": kind, "user_id": u, "at": nano(at)})
	}
	_, err := s.c("quota_events").InsertMany(ctx, docs)
	return err
}
