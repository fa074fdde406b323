package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/pubsub"
)

// Pubsub checks personal nodes: created on first publish with the
// publish-options, items newest first and trimmed to max_items, items by
// id, preconditions, retraction, limits and deletion.
func Pubsub(t *testing.T, open func(t *testing.T) pubsub.Store) {
	ctx := context.Background()
	svc := pubsub.NewService(open(t))
	svc.SetLimits(pubsub.Limits{MaxNodes: 3, MaxItems: 10, MaxItemBytes: 200})
	a, b := pubsub.Owner{AppID: 1, UserID: 1}, pubsub.Owner{AppID: 1, UserID: 2}
	ids := func(o pubsub.Owner, node string, want ...string) []pubsub.Item {
		t.Helper()
		items, err := svc.Items(ctx, o, node, want, 0)
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	names := func(items []pubsub.Item) string {
		var s []string
		for _, it := range items {
			s = append(s, it.ID)
		}
		return fmt.Sprint(s)
	}
	const dev = "eu.siacs.conversations.axolotl.devicelist"
	n, _, err := svc.Publish(ctx, a, "urn:xmpp:avatar:metadata", pubsub.Item{ID: "h1", Payload: `<metadata xmlns="urn:xmpp:avatar:metadata"/>`}, pubsub.Options{}, false)
	if err != nil || n.Access != pubsub.Presence || n.MaxItems != 1 {
		t.Fatalf("first publish: %+v %v", n, err)
	}
	time.Sleep(2 * time.Millisecond)
	svc.Publish(ctx, a, "urn:xmpp:avatar:metadata", pubsub.Item{ID: "h2", Payload: `<metadata xmlns="urn:xmpp:avatar:metadata"/>`}, pubsub.Options{}, false)
	if got := names(ids(a, "urn:xmpp:avatar:metadata")); got != "[h2]" {
		t.Fatalf("max_items 1 keeps the newest: %s", got)
	}
	for i := range 4 {
		if _, _, err := svc.Publish(ctx, a, dev, pubsub.Item{ID: fmt.Sprint("d", i), Payload: `<list xmlns="x"/>`}, pubsub.Options{Access: pubsub.Open, MaxItems: 3}, i > 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if got := names(ids(a, dev)); got != "[d3 d2 d1]" {
		t.Fatalf("newest 3: %s", got)
	}
	if got := names(ids(a, dev, "d1", "d0")); got != "[d1]" {
		t.Fatalf("by id: %s", got)
	}
	var r *pubsub.Refusal
	if _, _, err := svc.Publish(ctx, a, dev, pubsub.Item{Payload: `<x/>`}, pubsub.Options{Access: pubsub.Presence}, true); !errors.As(err, &r) || r.Condition != "conflict" {
		t.Fatalf("a precondition not met: %v", err)
	}
	if _, _, err := svc.Publish(ctx, a, "n3", pubsub.Item{Payload: string(make([]byte, 201))}, pubsub.Options{}, false); !errors.As(err, &r) {
		t.Fatalf("too large: %v", err)
	}
	svc.Publish(ctx, a, "n3", pubsub.Item{Payload: `<x/>`}, pubsub.Options{}, false)
	if _, _, err := svc.Publish(ctx, a, "n4", pubsub.Item{Payload: `<x/>`}, pubsub.Options{}, false); !errors.As(err, &r) {
		t.Fatalf("too many nodes: %v", err)
	}
	if _, _, err := svc.Publish(ctx, a, "n5", pubsub.Item{Payload: `<x/>`}, pubsub.Options{MaxItems: 11}, false); !errors.As(err, &r) {
		t.Fatalf("max_items over the limit: %v", err)
	}
	if got := ids(b, dev); len(got) != 0 {
		t.Fatalf("another user's node: %v", got)
	}
	if err := svc.Retract(ctx, a, dev, "d2"); err != nil {
		t.Fatal(err)
	}
	if got := names(ids(a, dev)); got != "[d3 d1]" {
		t.Fatalf("after a retraction: %s", got)
	}
	if err := svc.Delete(ctx, a, dev); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Node(ctx, a, dev); !errors.Is(err, pubsub.ErrNotFound) {
		t.Fatalf("a deleted node: %v", err)
	}
	if nodes, _ := svc.Nodes(ctx, a); len(nodes) != 2 {
		t.Fatalf("nodes: %v", nodes)
	}
	if err := svc.ForgetUser(ctx, a.AppID, a.UserID); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := svc.Nodes(ctx, a); len(nodes) != 0 {
		t.Fatalf("a deleted user's nodes: %v", nodes)
	}
}
