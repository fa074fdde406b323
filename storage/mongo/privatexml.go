package mongo

import (
	"context"
	"errors"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/privatexml"
)

var _ privatexml.Store = (*DB)(nil)

func init() { indexes["private_xml"] = []mongoIndex{{"app_id", "user_id"}} }

func privateKey(o privatexml.Owner, key string) string {
	return strconv.FormatInt(o.AppID, 10) + ":" + strconv.FormatInt(o.UserID, 10) + ":" + key
}

// PrivateXML implements privatexml.Store.
func (s *DB) PrivateXML(ctx context.Context, o privatexml.Owner, key string) (string, error) {
	var d struct {
		Doc string `bson:"doc"`
	}
	err := s.c("private_xml").FindOne(ctx, bson.M{"_id": privateKey(o, key)}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", privatexml.ErrNotFound
	}
	return d.Doc, err
}

// PutPrivateXML implements privatexml.Store.
func (s *DB) PutPrivateXML(ctx context.Context, o privatexml.Owner, key, doc string) error {
	return upsertRetry(func() error {
		_, err := s.c("private_xml").UpdateOne(ctx, bson.M{"_id": privateKey(o, key)},
			bson.M{"$set": bson.M{"app_id": o.AppID, "user_id": o.UserID, "doc": doc}}, options.UpdateOne().SetUpsert(true))
		return err
	})
}

// CountPrivateXML implements privatexml.Store.
func (s *DB) CountPrivateXML(ctx context.Context, o privatexml.Owner) (int, error) {
	n, err := s.c("private_xml").CountDocuments(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID})
	return int(n), err
}

// DeletePrivateXML implements privatexml.Store.
func (s *DB) DeletePrivateXML(ctx context.Context, o privatexml.Owner) error {
	_, err := s.c("private_xml").DeleteMany(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID})
	return err
}
