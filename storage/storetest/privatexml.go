package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-chat/parley/privatexml"
)

// PrivateXML checks per-user documents: per owner and key, replaced on a
// second put, bounded, and gone with the user.
func PrivateXML(t *testing.T, open func(t *testing.T) privatexml.Store) {
	ctx := context.Background()
	st := privatexml.New(open(t))
	st.SetLimits(privatexml.Limits{MaxBytes: 100, MaxDocs: 2})
	a, b := privatexml.Owner{AppID: 1, UserID: 1}, privatexml.Owner{AppID: 1, UserID: 2}
	k1, k2, k3 := privatexml.Key("storage:bookmarks", "storage"), privatexml.Key("x:y", "z"), privatexml.Key("x:y", "w")
	if doc, err := st.Get(ctx, a, k1); err != nil || doc != "" {
		t.Fatalf("nothing yet: %q %v", doc, err)
	}
	for _, d := range []string{`<storage xmlns="storage:bookmarks"/>`, `<storage xmlns="storage:bookmarks"><url name="x" url="http://x/"/></storage>`} {
		if err := st.Put(ctx, a, k1, d); err != nil {
			t.Fatal(err)
		}
		if doc, _ := st.Get(ctx, a, k1); doc != d {
			t.Fatalf("read back %q", doc)
		}
	}
	if doc, _ := st.Get(ctx, b, k1); doc != "" {
		t.Fatalf("another user's: %q", doc)
	}
	var r *privatexml.Refusal
	if err := st.Put(ctx, a, k2, `<z xmlns="x:y">`+strings.Repeat("a", 100)+`</z>`); !errors.As(err, &r) {
		t.Fatalf("too large: %v", err)
	}
	if err := st.Put(ctx, a, k2, `<z xmlns="x:y"/>`); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, a, k3, `<w xmlns="x:y"/>`); !errors.As(err, &r) {
		t.Fatalf("too many: %v", err)
	}
	if err := st.Put(ctx, a, k2, `<z xmlns="x:y">again</z>`); err != nil {
		t.Fatalf("replacing at the cap: %v", err)
	}
	if err := st.ForgetUser(ctx, a.AppID, a.UserID); err != nil {
		t.Fatal(err)
	}
	if doc, _ := st.Get(ctx, a, k1); doc != "" {
		t.Fatalf("a deleted user's document: %q", doc)
	}
}
