package mongo_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/storage/mongo"
)

// TestArchivePositionsBackfilled: private messages stored before messages
// had a position in the 1-1 archive get one at Migrate, ahead of those
// stored since, in the order they were stored.
func TestArchivePositionsBackfilled(t *testing.T) {
	db := opener(t)(t)
	ctx := context.Background()
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "a", accounts.AppOptions{})
	var u []int64
	for i := range 2 {
		login, pw := fmt.Sprintf("user%d", i), "password-x"
		user, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		u = append(u, user.ID)
	}
	ds := dialogs.NewService(db, db)
	ar := history.NewArchive(db, ds)
	send := func(id string) {
		if _, err := ar.Send(ctx, app.ID, u[0], history.Post{ID: id, RecipientID: u[1], Body: id, Save: true}); err != nil {
			t.Fatal(err)
		}
	}
	send("old1")
	send("old2")
	// What an older version stored: no positions, no migration marker.
	raw := mongo.RawDatabase(db)
	if _, err := raw.Collection("messages").UpdateMany(ctx, bson.M{}, bson.M{"$unset": bson.M{"pos": ""}}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Collection("counters").DeleteOne(ctx, bson.M{"_id": "migration:msgpos"}); err != nil {
		t.Fatal(err)
	}
	send("new1")
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := history.NewMAM(db, ds).Query(ctx, history.ArchiveQuery{AppID: app.ID, Viewer: u[1]})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.ID)
	}
	if fmt.Sprint(got) != "[old1 old2 new1]" || !page.Complete {
		t.Fatalf("1-1 archive after the backfill: %v complete=%v", got, page.Complete)
	}
}
