package xmpp

import "testing"

// A subscriber's subscriptions are bounded, and toggling one on and off
// does not grow anything.
func TestWatchersAreBounded(t *testing.T) {
	var w watchers
	c := &conn{appID: 1, userID: 7}
	for i := int64(1); i <= 3; i++ {
		if !w.add(userKey{1, i}, c, 3) {
			t.Fatalf("subscription %d refused under the cap", i)
		}
	}
	if w.add(userKey{1, 4}, c, 3) {
		t.Fatal("a fourth subscription passed a cap of 3")
	}
	for i := 0; i < 1000; i++ {
		w.remove(userKey{1, 1}, c)
		if !w.add(userKey{1, 1}, c, 3) {
			t.Fatal("re-subscribing refused")
		}
	}
	if len(w.rev[c]) != 3 || w.byUser[userKey{1, 7}] != 3 {
		t.Fatalf("after toggling: %d targets recorded, count %d", len(w.rev[c]), w.byUser[userKey{1, 7}])
	}
	if orphaned := w.drop(c); len(orphaned) != 3 || len(w.by) != 0 || len(w.byUser) != 0 || len(w.rev) != 0 {
		t.Fatalf("after drop: orphaned %v, maps %d %d %d", orphaned, len(w.by), len(w.byUser), len(w.rev))
	}
}
