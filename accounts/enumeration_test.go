package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/storage/sqlite"
)

// TestScramDecoySalt: a user that does not exist gets a salt that looks like
// a real one, is stable per user, differs between users, is shared by every
// node of the installation (the secret is in the store) and differs between
// installations.
func TestScramDecoySalt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := accounts.NewService(db)
	app, _ := svc.CreateApp(ctx, "t", accounts.AppOptions{})
	login, pw := "alice", "alice-password"
	alice, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	realSalt, realIter, realPairs, err := svc.ScramSecrets(ctx, app.ID, alice.ID, "SCRAM-SHA-256")
	if err != nil || len(realPairs) == 0 {
		t.Fatalf("real user: %v %d", err, len(realPairs))
	}
	ghost := alice.ID + 1000
	salt1, iter, pairs, err := svc.ScramSecrets(ctx, app.ID, ghost, "SCRAM-SHA-256")
	if err != nil || len(pairs) != 0 {
		t.Fatalf("unknown user: want a decoy and no key pair, got %d pairs, %v", len(pairs), err)
	}
	if len(salt1) != len(realSalt) || iter != realIter {
		t.Fatalf("decoy salt %d bytes, %d iterations; a real one has %d bytes, %d iterations", len(salt1), iter, len(realSalt), realIter)
	}
	salt2, _, _, _ := svc.ScramSecrets(ctx, app.ID, ghost, "SCRAM-SHA-1")
	if !bytes.Equal(salt1, salt2) {
		t.Fatal("the decoy salt changes between probes of the same user")
	}
	other, _, _, _ := svc.ScramSecrets(ctx, app.ID, ghost+1, "SCRAM-SHA-256")
	if bytes.Equal(salt1, other) {
		t.Fatal("two unknown users share a decoy salt")
	}
	if inApp2, _, _, _ := svc.ScramSecrets(ctx, app.ID+1, ghost, "SCRAM-SHA-256"); bytes.Equal(salt1, inApp2) {
		t.Fatal("the same user id in two apps shares a decoy salt")
	}
	// Another node of the same installation (a second service on the store).
	node2 := accounts.NewService(db)
	if s, _, _, _ := node2.ScramSecrets(ctx, app.ID, ghost, "SCRAM-SHA-256"); !bytes.Equal(s, salt1) {
		t.Fatal("two nodes of one installation announce different decoy salts")
	}
	// Another installation.
	db2, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if s, _, _, _ := accounts.NewService(db2).ScramSecrets(ctx, app.ID, ghost, "SCRAM-SHA-256"); bytes.Equal(s, salt1) {
		t.Fatal("two installations announce the same decoy salt: it is not keyed")
	}
}

// TestUnknownUserCostsADerivation: PLAIN (CheckPassword) and REST logins run
// the same key derivations for a user that does not exist as for a wrong
// password, so their timing does not tell the two apart.
func TestUnknownUserCostsADerivation(t *testing.T) {
	svc, app := newService(t)
	ctx := context.Background()
	login, pw := "alice", "alice-password"
	alice, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	runs := func(f func() error) int64 {
		t.Helper()
		before := accounts.PBKDF2Runs()
		if err := f(); !errors.Is(err, accounts.ErrUnauthorized) {
			t.Fatalf("want unauthorized, got %v", err)
		}
		return accounts.PBKDF2Runs() - before
	}
	wrong := runs(func() error { return svc.CheckPassword(ctx, app.ID, alice.ID, "wrong-password") })
	unknown := runs(func() error { return svc.CheckPassword(ctx, app.ID, alice.ID+1000, "wrong-password") })
	if wrong == 0 || unknown != wrong {
		t.Fatalf("PLAIN: a wrong password runs %d derivations, an unknown user %d", wrong, unknown)
	}
	rest := func(l accounts.Login) func() error {
		return func() error { _, _, _, err := svc.CreateSession(ctx, app.ID, app.AuthKey, &l); return err }
	}
	wrong = runs(rest(accounts.Login{Login: "alice", Password: "wrong-password"}))
	unknown = runs(rest(accounts.Login{Login: "nobody", Password: "wrong-password"}))
	byEmail := runs(rest(accounts.Login{Email: "nobody@example.com", Password: "wrong-password"}))
	if wrong == 0 || unknown != wrong || byEmail != wrong {
		t.Fatalf("REST: a wrong password runs %d derivations, an unknown login %d, an unknown email %d", wrong, unknown, byEmail)
	}
}
