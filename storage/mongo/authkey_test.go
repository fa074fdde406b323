package mongo_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/storage/mongo"
)

// TestLegacyAuthKeysAreHashed: an app written before auth keys were hashed
// keeps working with the same key once Migrate ran, and no longer holds it
// in clear.
func TestLegacyAuthKeysAreHashed(t *testing.T) {
	ctx := context.Background()
	db := opener(t)(t)
	apps := mongo.RawDatabase(db).Collection("apps")
	if _, err := apps.InsertOne(ctx, bson.M{"_id": int64(7), "name": "old", "auth_key": "legacy-key-0123", "created_at": int64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := accounts.NewService(db).CreateSession(ctx, 7, "legacy-key-0123", nil); err != nil {
		t.Fatalf("the legacy key after migration: %v", err)
	}
	if n, _ := apps.CountDocuments(ctx, bson.M{"auth_key": bson.M{"$exists": true}}); n != 0 {
		t.Fatal("auth key still stored in clear")
	}
}
