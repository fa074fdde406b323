package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/storage/sqlite"
)

// TestLegacyAuthKeysAreHashed: a database written before auth keys were
// hashed keeps working with the same key, and no longer holds it in clear.
func TestLegacyAuthKeysAreHashed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	app, err := accounts.NewService(db).CreateApp(ctx, "old", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// What a pre-hashing version left behind: the key in clear, no hash.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE apps SET auth_key = 'legacy-key-0123', auth_key_hash = NULL WHERE id = ?`, app.ID); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, _, err := accounts.NewService(db).CreateSession(ctx, app.ID, "legacy-key-0123", nil); err != nil {
		t.Fatalf("the legacy key after migration: %v", err)
	}
	raw, _ = sql.Open("sqlite", "file:"+filepath.Join(dir, "parley.db"))
	defer raw.Close()
	var clear string
	if err := raw.QueryRow(`SELECT auth_key FROM apps WHERE id = ?`, app.ID).Scan(&clear); err != nil || clear != "" {
		t.Fatalf("auth key still stored in clear: %q %v", clear, err)
	}
}
