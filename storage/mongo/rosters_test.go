package mongo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/mongo"
)

// TestRosterLockTakeover: a roster lock a crashed writer left behind is
// taken over once it is old, so the roster does not stay frozen.
func TestRosterLockTakeover(t *testing.T) {
	ctx := context.Background()
	db := opener(t)(t)
	o := rosters.Owner{AppID: 1, UserID: 7}
	locks := mongo.RawDatabase(db).Collection("roster_locks")
	key := strconv.FormatInt(o.AppID, 10) + ":" + strconv.FormatInt(o.UserID, 10)
	if _, err := locks.InsertOne(ctx, bson.M{"_id": key, "token": int64(42), "at": time.Now().Add(-time.Hour).UnixNano()}); err != nil {
		t.Fatal(err)
	}
	it := &rosters.Item{JID: "romeo@example.net", Subscription: rosters.None}
	ver, err := db.PutRosterItem(ctx, o, it)
	if err != nil || ver != 1 || it.Rev == 0 {
		t.Fatalf("write over a stale lock: version %d, rev %d, %v", ver, it.Rev, err)
	}
	if n, err := locks.CountDocuments(ctx, bson.M{"_id": key}); err != nil || n != 0 {
		t.Fatalf("locks left after the write: %d %v", n, err)
	}
}
