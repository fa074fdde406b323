package mongo_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/storage/mongo"
)

// TestLoginClaims: a claim whose holder does not carry the login is taken
// over only once it is older than a create on its way could be.
func TestLoginClaims(t *testing.T) {
	ctx := context.Background()
	db := opener(t)(t)
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, err := acc.CreateApp(ctx, "claims", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	login, pw := "ghost", "password-x"
	create := func() error {
		_, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		return err
	}
	keys := mongo.RawDatabase(db).Collection("user_keys")
	claim := bson.M{"_id": strconv.FormatInt(app.ID, 10) + "/login/" + login}
	// A claim taken a moment ago by a user not written yet.
	if _, err := keys.InsertOne(ctx, bson.M{"_id": claim["_id"], "user_id": int64(999_999), "at": time.Now().UnixNano()}); err != nil {
		t.Fatal(err)
	}
	var taken accounts.ValidationError
	if err := create(); !errors.As(err, &taken) {
		t.Fatalf("fresh foreign claim: want the login taken, got %v", err)
	}
	// The same claim two minutes on: its creator crashed.
	if _, err := keys.UpdateOne(ctx, claim, bson.M{"$set": bson.M{"at": time.Now().Add(-2 * time.Minute).UnixNano()}}); err != nil {
		t.Fatal(err)
	}
	if err := create(); err != nil {
		t.Fatalf("stale claim not taken over: %v", err)
	}
	if u, err := db.UserByLogin(ctx, app.ID, login); err != nil || u.Login != login {
		t.Fatalf("user by login after the takeover: %v %v", u, err)
	}
	if err := create(); !errors.As(err, &taken) {
		t.Fatalf("login of a live user: want taken, got %v", err)
	}
}

// TestPrivateDialogClaims: racing creators of one pair's private dialog all
// get the same dialog, and a claim left by a half-done deletion is freed.
func TestPrivateDialogClaims(t *testing.T) {
	ctx := context.Background()
	db := opener(t)(t)
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, err := acc.CreateApp(ctx, "claims", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var u []int64
	for _, login := range []string{"ann", "ben"} {
		pw := "password-x"
		usr, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		u = append(u, usr.ID)
	}
	ds := dialogs.NewService(db, db)
	private := dialogs.Private
	create := func(by, with int64) (*dialogs.View, error) {
		return ds.Create(ctx, app.ID, by, dialogs.Input{Type: &private, Occupants: []int64{with}})
	}
	const racers = 8
	ids := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := create(u[i%2], u[1-i%2])
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = v.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing creators got different dialogs: %v", ids)
		}
	}
	dialogsColl := mongo.RawDatabase(db).Collection("dialogs")
	if n, err := dialogsColl.CountDocuments(ctx, bson.M{"app_id": app.ID}); err != nil || n != 1 {
		t.Fatalf("dialogs stored: %d %v", n, err)
	}
	// A deletion that stopped after the dialog went, before its claim did.
	if _, err := dialogsColl.DeleteMany(ctx, bson.M{"app_id": app.ID}); err != nil {
		t.Fatal(err)
	}
	v, err := create(u[0], u[1])
	if err != nil || v.ID == ids[0] {
		t.Fatalf("create over a stale claim: %v %v", v, err)
	}
	if got, err := db.PrivateDialog(ctx, app.ID, u[0], u[1]); err != nil || got.ID != v.ID {
		t.Fatalf("private dialog after the takeover: %v %v", got, err)
	}
}
