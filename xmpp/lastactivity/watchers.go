package lastactivity

import (
	"sync"

	"github.com/parley-chat/parley/xmpp"
)

// watchers maps a user to the sessions on this node subscribed to its
// status. Each subscriber user holds at most a set number.
type watchers struct {
	mu     sync.Mutex
	by     map[xmpp.User]map[xmpp.Session]struct{}
	rev    map[xmpp.Session][]xmpp.User
	byUser map[xmpp.User]int // subscriptions held by each subscriber user
}

func subscriber(s xmpp.Session) xmpp.User { return xmpp.User{App: s.App(), ID: s.User()} }

// add subscribes s to target. first reports that target had no follower
// on this node before; ok false means s's user holds max already.
func (w *watchers) add(target xmpp.User, s xmpp.Session, max int) (first, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.by == nil {
		w.by, w.rev, w.byUser = map[xmpp.User]map[xmpp.Session]struct{}{}, map[xmpp.Session][]xmpp.User{}, map[xmpp.User]int{}
	}
	if _, ok := w.by[target][s]; ok {
		return false, true
	}
	if w.byUser[subscriber(s)] >= max {
		return false, false
	}
	first = len(w.by[target]) == 0
	if w.by[target] == nil {
		w.by[target] = map[xmpp.Session]struct{}{}
	}
	w.by[target][s] = struct{}{}
	w.rev[s] = append(w.rev[s], target)
	w.byUser[subscriber(s)]++
	return first, true
}

// remove unsubscribes s from target; it reports whether target has no
// follower left on this node.
func (w *watchers) remove(target xmpp.User, s xmpp.Session) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.by[target][s]; !ok {
		return false
	}
	w.unlink(target, s)
	list := w.rev[s]
	for i, t := range list {
		if t == target {
			w.rev[s] = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(w.rev[s]) == 0 {
		delete(w.rev, s)
	}
	return len(w.by[target]) == 0
}

func (w *watchers) unlink(target xmpp.User, s xmpp.Session) {
	delete(w.by[target], s)
	if len(w.by[target]) == 0 {
		delete(w.by, target)
	}
	if w.byUser[subscriber(s)]--; w.byUser[subscriber(s)] <= 0 {
		delete(w.byUser, subscriber(s))
	}
}

// drop forgets every subscription of s (its session ended) and returns the
// targets nobody on this node follows any more.
func (w *watchers) drop(s xmpp.Session) (orphaned []xmpp.User) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.rev[s] {
		w.unlink(t, s)
		if len(w.by[t]) == 0 {
			orphaned = append(orphaned, t)
		}
	}
	delete(w.rev, s)
	return orphaned
}

func (w *watchers) of(target xmpp.User) []xmpp.Session {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]xmpp.Session, 0, len(w.by[target]))
	for s := range w.by[target] {
		out = append(out, s)
	}
	return out
}
