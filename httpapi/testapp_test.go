package httpapi_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/storage/sqlite"
)

// testStore opens a fresh SQLite store and an accounts service on it.
func testStore(t *testing.T) (*sqlite.DB, *accounts.Service) {
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	return db, acc
}

// userToken creates a user of app and returns its id and a session token.
func userToken(t *testing.T, acc *accounts.Service, app *accounts.App, login string) (int64, string) {
	ctx := context.Background()
	pw := login + "-password"
	u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, _, err := acc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: login, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID, tok
}
