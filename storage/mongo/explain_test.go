package mongo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/parley-chat/parley/storage/mongo"
)

// TestHotQueriesUseIndexes runs explain on the hot queries of the API and
// of routing and requires an index scan in each winning plan. It needs a
// real MongoDB (MONGO_URI): FerretDB v1 on SQLite pushes no filter down and
// scans every collection, so on it the test reports the plans and stops.
func TestHotQueriesUseIndexes(t *testing.T) {
	open := opener(t)
	db := open(t)
	ctx := context.Background()
	raw := mongo.RawDatabase(db)
	queries := []struct {
		name, coll string
		filter     bson.D
		sort       bson.D
	}{
		{"history page", "messages", bson.D{{Key: "app_id", Value: 1}, {Key: "dialog_id", Value: "d"}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: 0}}}}, bson.D{{Key: "seq", Value: -1}}},
		{"message by id (marker)", "messages", bson.D{{Key: "app_id", Value: 1}, {Key: "id", Value: "m"}}, nil},
		{"date_sent filter", "messages", bson.D{{Key: "app_id", Value: 1}, {Key: "dialog_id", Value: "d"}, {Key: "date_sent", Value: bson.D{{Key: "$gt", Value: 5}}}}, nil},
		{"1-1 archive page", "messages", bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "app_id", Value: 1}, {Key: "sender_id", Value: 5}, {Key: "pos", Value: bson.D{{Key: "$gt", Value: 0}, {Key: "$lt", Value: 1 << 40}}}},
			bson.D{{Key: "app_id", Value: 1}, {Key: "recipient_id", Value: 5}, {Key: "pos", Value: bson.D{{Key: "$gt", Value: 0}, {Key: "$lt", Value: 1 << 40}}}},
		}}}, bson.D{{Key: "pos", Value: -1}}},
		{"archive date bound", "messages", bson.D{{Key: "app_id", Value: 1}, {Key: "date_sent", Value: bson.D{{Key: "$lt", Value: 5}}}}, bson.D{{Key: "date_sent", Value: -1}}},
		{"user's dialogs", "members", bson.D{{Key: "app_id", Value: 1}, {Key: "user_id", Value: 5}}, nil},
		{"occupants", "members", bson.D{{Key: "app_id", Value: 1}, {Key: "dialog_id", Value: "d"}, {Key: "occupant", Value: true}}, bson.D{{Key: "user_id", Value: 1}}},
		{"session by token", "sessions", bson.D{{Key: "token_hash", Value: []byte{1}}}, nil},
		{"live sessions", "sessions", bson.D{{Key: "app_id", Value: 1}, {Key: "user_id", Value: 5}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: 0}}}}, nil},
		{"offline queue", "offline", bson.D{{Key: "app_id", Value: 1}, {Key: "user_id", Value: 5}}, bson.D{{Key: "_id", Value: 1}}},
		{"reactions of a page", "reactions", bson.D{{Key: "app_id", Value: 1}, {Key: "dialog_id", Value: "d"}, {Key: "message_id", Value: bson.D{{Key: "$in", Value: bson.A{"m"}}}}}, nil},
	}
	var ferret bool
	for _, q := range queries {
		cmd := bson.D{{Key: "find", Value: q.coll}, {Key: "filter", Value: q.filter}}
		if q.sort != nil {
			cmd = append(cmd, bson.E{Key: "sort", Value: q.sort})
		}
		var out bson.M
		if err := raw.RunCommand(ctx, bson.D{{Key: "explain", Value: cmd}}).Decode(&out); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		plan := fmt.Sprint(out["queryPlanner"])
		if strings.Contains(fmt.Sprint(out["serverInfo"]), "ferretdbVersion") {
			ferret = true
			t.Logf("%s on FerretDB: %s", q.name, plan)
			continue
		}
		if !strings.Contains(plan, "IXSCAN") && !strings.Contains(plan, "IDHACK") && !strings.Contains(plan, "EXPRESS") {
			t.Errorf("%s is not served by an index: %s", q.name, plan)
		}
	}
	if ferret {
		t.Log("FerretDB v1 (SQLite) scans collections whatever the indexes; run with MONGO_URI=mongodb://... to check the plans")
	}
}
