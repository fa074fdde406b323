package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/quota"
	"github.com/parley-chat/parley/storage/sqlite"
)

func TestPrivacyLimits(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps := privacy.NewService(db, "localhost", "muc.localhost")
	ps.SetLimits(privacy.Limits{MaxLists: 2, MaxItems: 3})
	list := func(name string, items int) *privacy.List {
		l := &privacy.List{Name: name}
		for i := range items {
			l.Items = append(l.Items, privacy.Item{Type: "jid", Value: fmt.Sprintf("%d-1@localhost", i+10), Action: "deny", Order: i + 1})
		}
		return l
	}
	// refusal checks the typed error XMPP maps to a stanza error.
	refusal := func(err error, setting string) {
		t.Helper()
		var q *quota.Error
		if !errors.As(err, &q) || q.Setting != setting || q.Rate || !errors.Is(err, privacy.ErrInvalid) {
			t.Fatalf("want a %s cap refusal, got %v", setting, err)
		}
	}
	const app, user = 1, 5
	for _, name := range []string{"a", "b", "a"} { // the second "a" replaces the first
		if err := ps.Set(ctx, app, user, list(name, 3)); err != nil {
			t.Fatalf("list %s: %v", name, err)
		}
	}
	refusal(ps.Set(ctx, app, user, list("c", 1)), "privacy-lists-per-user")
	refusal(ps.Set(ctx, app, user, list("a", 4)), "privacy-list-items")
	// Blocking (XEP-0191) grows the default list under the same cap.
	if err := ps.SetDefault(ctx, app, user, "a"); err != nil {
		t.Fatal(err)
	}
	refusal(ps.Block(ctx, app, user, []string{"99-1@localhost"}), "privacy-list-items")
	// Another user has lists of their own.
	if err := ps.Set(ctx, app, user+1, list("c", 1)); err != nil {
		t.Fatal(err)
	}
}
