package xmpp

import (
	"errors"
	"strconv"
	"sync"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/xmpp/wire"
)

// Last activity (XEP-0012), the ConnectyCube status-streaming
// subscription, client state (XEP-0352 CSI and Tigase mobile#v2) and
// carbons (XEP-0280).

const (
	nsLast      = "jabber:iq:last"
	nsStatusSub = "https://connectycube.com/protocol/status_streaming"
	nsCSI       = "urn:xmpp:csi:0"
)

// watchers maps a user to the sessions subscribed to its status. Each
// subscriber user has at most a set number of subscriptions on the node.
type watchers struct {
	mu     sync.Mutex
	by     map[userKey]map[*conn]struct{}
	rev    map[*conn][]userKey
	byUser map[userKey]int // subscriptions held by each subscriber user
}

// add subscribes c to target; false when c's user holds max already.
func (w *watchers) add(target userKey, c *conn, max int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.by == nil {
		w.by, w.rev, w.byUser = map[userKey]map[*conn]struct{}{}, map[*conn][]userKey{}, map[userKey]int{}
	}
	if _, ok := w.by[target][c]; ok {
		return true
	}
	sub := userKey{c.appID, c.userID}
	if w.byUser[sub] >= max {
		return false
	}
	if w.by[target] == nil {
		w.by[target] = map[*conn]struct{}{}
	}
	w.by[target][c] = struct{}{}
	w.rev[c] = append(w.rev[c], target)
	w.byUser[sub]++
	return true
}

// remove unsubscribes c from target; it reports whether target has no
// subscriber left on this node.
func (w *watchers) remove(target userKey, c *conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.by[target][c]; !ok {
		return false
	}
	w.unlink(target, c)
	list := w.rev[c]
	for i, t := range list {
		if t == target {
			w.rev[c] = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(w.rev[c]) == 0 {
		delete(w.rev, c)
	}
	return len(w.by[target]) == 0
}

func (w *watchers) unlink(target userKey, c *conn) {
	delete(w.by[target], c)
	if len(w.by[target]) == 0 {
		delete(w.by, target)
	}
	sub := userKey{c.appID, c.userID}
	if w.byUser[sub]--; w.byUser[sub] <= 0 {
		delete(w.byUser, sub)
	}
}

// drop forgets every subscription of c (its session ended) and returns
// the targets nobody on this node follows any more.
func (w *watchers) drop(c *conn) (orphaned []userKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.rev[c] {
		w.unlink(t, c)
		if len(w.by[t]) == 0 {
			orphaned = append(orphaned, t)
		}
	}
	delete(w.rev, c)
	return orphaned
}

func (w *watchers) of(target userKey) []*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*conn, 0, len(w.by[target]))
	for c := range w.by[target] {
		out = append(out, c)
	}
	return out
}

// online reports whether the user has a bound session on this node.
func (s *Server) online(k userKey) bool {
	on := false
	s.reg.each(k, func(*conn) { on = true })
	return on || s.cluster != nil && s.remoteOnline(k)
}

// lastIQ answers jabber:iq:last for a user: 0 while online, else the
// seconds since the last session ended. from is the user's bare JID (the
// SDK reads the user id from it). A user who blocks the asker is not told.
func (s *Server) lastIQ(c *conn, a address, id string) []byte {
	target := s.userJID(a.user.app, a.user.user)
	if s.cfg.Privacy != nil && a.user != (userKey{c.appID, c.userID}) {
		ctx, cancel := s.ctx()
		blocked := s.cfg.Privacy.BlocksInbound(ctx, a.user.app, a.user.user, privacy.Target{UserID: c.userID, JID: c.jid}, privacy.IQ)
		cancel()
		if blocked {
			return errorStanza("iq", id, target, c.jid, StanzaError{stanza.Auth, stanza.Forbidden, "Not allowed."})
		}
	}
	secs, err := s.lastSeconds(a.user)
	if err != nil {
		if errors.Is(err, accounts.ErrNotFound) {
			return errorStanza("iq", id, target, c.jid, StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such user."})
		}
		return errorStanza("iq", id, target, c.jid, errInternal)
	}
	return iqResult(id, target, c.jid, `<query xmlns="`+nsLast+`" seconds="`+strconv.FormatInt(secs, 10)+`"/>`)
}

func (s *Server) lastSeconds(k userKey) (int64, error) {
	if s.online(k) {
		return 0, nil
	}
	if s.cfg.Accounts == nil {
		return 0, accounts.ErrNotFound
	}
	ctx, cancel := s.ctx()
	defer cancel()
	at, err := s.cfg.Accounts.LastSeen(ctx, k.app, k.user)
	if err != nil {
		return 0, err
	}
	if at.IsZero() {
		return 0, accounts.ErrNotFound
	}
	return max(int64(time.Since(at).Seconds()), 1), nil
}

// statusIQ handles the status-streaming subscription (spec 3.12).
func (s *Server) statusIQ(c *conn, e *wire.Element, id string) []byte {
	ch := e.Children[0]
	raw := e.Raw[ch.Start:ch.End]
	target := s.resolve(attrOf(raw, "user_jid"))
	if target.kind != addrUser || target.user.app != c.appID {
		return errorStanza("iq", id, "", c.jid, errBadRequest)
	}
	if attrOf(raw, "enable") == "false" {
		if s.watch.remove(target.user, c) {
			s.unwatch([]userKey{target.user})
		}
	} else {
		if !s.watch.add(target.user, c, s.cfg.MaxStatusSubscriptions) {
			return errorStanza("iq", id, "", c.jid, StanzaError{stanza.Modify, stanza.PolicyViolation,
				"At most " + strconv.Itoa(s.cfg.MaxStatusSubscriptions) + " status subscriptions per user; unsubscribe from some first."})
		}
		if s.cluster != nil {
			ctx, cancel := s.ctx()
			s.cluster.Watch(ctx, target.user.app, target.user.user)
			cancel()
		}
	}
	return iqResult(id, "", c.jid, "")
}

// unwatch tells the cluster that nobody on this node follows targets any
// more, so their status changes stop coming here at once.
func (s *Server) unwatch(targets []userKey) {
	if s.cluster == nil || len(targets) == 0 {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for _, t := range targets {
		s.cluster.Unwatch(ctx, t.app, t.user)
	}
}

// announce pushes a user's status to its subscribers: seconds 0 when it
// comes online, the seconds since it left otherwise (at least 1).
func (s *Server) announce(k userKey, online bool) {
	s.announceLocal(k, online)
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	nodes, err := s.cluster.Watchers(ctx, k.app, k.user)
	cancel()
	if err != nil {
		return
	}
	st := uint8(2)
	if online {
		st = 1
	}
	for _, n := range nodes {
		s.cluster.Send(n, cluster.Delivery{Targets: []cluster.Target{{App: k.app, User: k.user}}, Status: st})
	}
}

// announceLocal pushes k's status to the watchers on this node.
func (s *Server) announceLocal(k userKey, online bool) {
	subs := s.watch.of(k)
	if len(subs) == 0 {
		return
	}
	secs := "1"
	if online {
		secs = "0"
	}
	from := s.userJID(k.app, k.user)
	for _, w := range subs {
		if s.cfg.Privacy != nil {
			ctx, cancel := s.ctx()
			blocked := s.cfg.Privacy.BlocksInbound(ctx, k.app, k.user, privacy.Target{UserID: w.userID, JID: w.jid}, privacy.IQ)
			cancel()
			if blocked {
				continue
			}
		}
		w.send(iqResult(randomID(10), from, w.jid, `<query xmlns="`+nsLast+`" seconds="`+secs+`"/>`), kindIQ)
	}
}

// wentOffline runs when a user's last session on this node ends.
func (s *Server) wentOffline(c *conn) {
	k := userKey{c.appID, c.userID}
	if s.online(k) {
		return
	}
	if s.cfg.Accounts != nil {
		ctx, cancel := s.ctx()
		s.cfg.Accounts.SetLastSeen(ctx, k.app, k.user, time.Now().UTC())
		cancel()
	}
	s.announce(k, false)
}
