package lastactivity

import (
	"testing"

	"github.com/parley-chat/parley/xmpp"
)

// session stands in for a bound session: the watchers only key by it.
type session struct{ app, user int64 }

func (s *session) App() int64         { return s.app }
func (s *session) User() int64        { return s.user }
func (s *session) JID() string        { return "" }
func (s *session) Bare() string       { return "" }
func (s *session) Resource() string   { return "" }
func (s *session) SetInactive(bool)   {}
func (s *session) Send(b []byte) bool { return true }

// A subscriber's subscriptions are bounded, and toggling one on and off
// does not grow anything.
func TestWatchersAreBounded(t *testing.T) {
	var w watchers
	c := &session{1, 7}
	for i := int64(1); i <= 3; i++ {
		if first, ok := w.add(xmpp.User{App: 1, ID: i}, c, 3); !ok || !first {
			t.Fatalf("subscription %d: first=%v ok=%v", i, first, ok)
		}
	}
	if _, ok := w.add(xmpp.User{App: 1, ID: 4}, c, 3); ok {
		t.Fatal("a fourth subscription passed a cap of 3")
	}
	for i := 0; i < 1000; i++ {
		w.remove(xmpp.User{App: 1, ID: 1}, c)
		if _, ok := w.add(xmpp.User{App: 1, ID: 1}, c, 3); !ok {
			t.Fatal("re-subscribing refused")
		}
	}
	if len(w.rev[c]) != 3 || w.byUser[xmpp.User{App: 1, ID: 7}] != 3 {
		t.Fatalf("after toggling: %d targets recorded, count %d", len(w.rev[c]), w.byUser[xmpp.User{App: 1, ID: 7}])
	}
	if orphaned := w.drop(c); len(orphaned) != 3 || len(w.by) != 0 || len(w.byUser) != 0 || len(w.rev) != 0 {
		t.Fatalf("after drop: orphaned %v, maps %d %d %d", orphaned, len(w.by), len(w.byUser), len(w.rev))
	}
}
