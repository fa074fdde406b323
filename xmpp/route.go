package xmpp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"

	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/xmpp/wire"
)

// userKey identifies a user across apps without building strings.
type userKey struct{ app, user int64 }

const registryShards = 64

// registry maps users to their bound sessions on this node. Sharded so
// logins and routing on different users do not contend.
type registry struct {
	shards [registryShards]struct {
		sync.RWMutex
		m map[userKey][]*conn
	}
}

func (r *registry) init() {
	for i := range r.shards {
		r.shards[i].m = map[userKey][]*conn{}
	}
}

func (r *registry) shard(k userKey) int { return int(uint64(k.user*31+k.app) % registryShards) }

// add binds c unless its resource is taken. With more than max sessions
// (bound or hibernated) it returns the oldest, which the caller ends.
func (r *registry) add(k userKey, c *conn, max int) (oldest *conn, ok bool) {
	sh := &r.shards[r.shard(k)]
	sh.Lock()
	defer sh.Unlock()
	for _, o := range sh.m[k] {
		if o.resource == c.resource {
			return nil, false
		}
	}
	sh.m[k] = append(sh.m[k], c)
	if max <= 0 {
		return nil, true
	}
	// Sessions already being ended do not count; they leave when closed.
	n := 0
	for _, o := range sh.m[k] {
		if !o.ending.Load() {
			if oldest == nil {
				oldest = o
			}
			n++
		}
	}
	if n > max && oldest.ending.CompareAndSwap(false, true) {
		return oldest, true
	}
	return nil, true
}

// replace swaps old for c (a resumed stream takes its session over).
func (r *registry) replace(k userKey, old, c *conn) {
	sh := &r.shards[r.shard(k)]
	sh.Lock()
	defer sh.Unlock()
	for i, o := range sh.m[k] {
		if o == old {
			sh.m[k][i] = c
			return
		}
	}
	sh.m[k] = append(sh.m[k], c)
}

func (r *registry) remove(k userKey, c *conn) {
	sh := &r.shards[r.shard(k)]
	sh.Lock()
	defer sh.Unlock()
	list := sh.m[k]
	for i, o := range list {
		if o == c {
			// In binding order: the first is the oldest (see add).
			list = append(list[:i], list[i+1:]...)
			list[:cap(list)][len(list)] = nil
			break
		}
	}
	if len(list) == 0 {
		delete(sh.m, k)
	} else {
		sh.m[k] = list
	}
}

// each calls fn for every session of k under the shard's read lock; fn must
// not block (pushing to a queue does not).
func (r *registry) each(k userKey, fn func(*conn)) {
	sh := &r.shards[r.shard(k)]
	sh.RLock()
	for _, c := range sh.m[k] {
		fn(c)
	}
	sh.RUnlock()
}

// eachApp calls fn for every session of an app (broadcast dialogs).
func (r *registry) eachApp(app int64, fn func(*conn)) {
	for i := range r.shards {
		sh := &r.shards[i]
		sh.RLock()
		for k, list := range sh.m {
			if k.app == app {
				for _, c := range list {
					fn(c)
				}
			}
		}
		sh.RUnlock()
	}
}

func (r *registry) count() int {
	n := 0
	for i := range r.shards {
		r.shards[i].RLock()
		for _, l := range r.shards[i].m {
			n += len(l)
		}
		r.shards[i].RUnlock()
	}
	return n
}

// bind makes c reachable, queueing its bind result first.
func (s *Server) bind(c *conn, result []byte) bool {
	k := userKey{c.appID, c.userID}
	oldest, ok := s.reg.add(k, c, s.cfg.MaxSessionsPerUser)
	if !ok {
		return false
	}
	// Bound before the result is queued: a client that has read its bind
	// result must get a stream error, not a bare close, if the server stops.
	c.bound.Store(true)
	c.send(result, kindIQ)
	s.metrics.sessions.Inc()
	s.clusterBind(c)
	s.replaceOldest(oldest)
	return true
}

// replaceOldest ends the oldest session of a user who has bound one more
// than allowed, as ejabberd does: with a conflict stream error.
func (s *Server) replaceOldest(oldest *conn) {
	if oldest == nil {
		return
	}
	s.metrics.replaced.Inc()
	s.endSession(oldest, stream.Conflict, "replaced by a newer session: at most "+strconv.Itoa(s.cfg.MaxSessionsPerUser)+" sessions per user")
}

// endSession ends c for good, with a stream error: it is not resumable, and
// a hibernated session ends at once.
func (s *Server) endSession(c *conn, cond stream.Error, text string) {
	c.ending.Store(true)
	if st := c.sm.Load(); st != nil {
		st.mu.Lock()
		st.resumable = false
		hibernated := st.conn == nil && !st.done
		st.mu.Unlock()
		if hibernated {
			s.expire(st, c)
			return
		}
	}
	c.fail(cond, text)
}

// unbind removes c and tells the user's other resources it left.
func (s *Server) unbind(c *conn) {
	k := userKey{c.appID, c.userID}
	s.reg.remove(k, c)
	s.clusterUnbind(c)
	s.metrics.sessions.Dec()
	s.leaveRooms(c)
	for _, h := range s.modules.ended {
		h(c)
	}
	defer s.wentOffline(c)
	c.mu.Lock()
	was := c.available
	c.available = false
	c.mu.Unlock()
	if was {
		b := appendOpen(make([]byte, 0, 128), "presence", "unavailable", "", c.jid, "")
		b = append(b, "/>"...)
		s.reg.each(k, func(o *conn) { o.send(b, kindPresence) })
		for _, h := range s.modules.presence {
			h(c, false, false, b) // e.g. to the user's presence subscribers
		}
	}
}

// readLoop reads and dispatches stanzas until the stream ends.
func (c *conn) readLoop() {
	defer c.end()
	var e wire.Element
	for {
		kind, b, err := c.next()
		if err != nil {
			c.failRead(err)
			return
		}
		switch kind {
		case wire.KindSpace:
			continue
		case wire.KindStreamClose:
			c.cleanClose = true
			c.closeStream(nil)
			return
		case wire.KindStreamOpen:
			c.fail(stream.NotWellFormed, "")
			return
		}
		if !c.handle(b, &e) {
			return
		}
	}
}

var parserPool = sync.Pool{New: func() any { return new(wire.Parser) }}

// handle checks and dispatches one top-level element; false ends the stream.
func (c *conn) handle(b []byte, e *wire.Element) bool {
	start := time.Now()
	p := parserPool.Get().(*wire.Parser)
	defer parserPool.Put(p)
	p.DefaultNS = nsClientBytes
	p.Prefixes = c.rootNS
	err := p.Parse(b, e)
	if err != nil && !errors.Is(err, wire.ErrContent) {
		c.fail(stream.NotWellFormed, "")
		return false
	}
	local, ns := string(e.Local), string(e.NS)
	if c.framed() && local == "close" && ns == nsFraming {
		c.cleanClose = true
		c.closeStream(nil)
		return false
	}
	if ns == nsSM && err == nil {
		c.handleSM(e)
		return true
	}
	if ns == nsCSI && err == nil {
		c.inactive.Store(local == "inactive")
		return true
	}
	if ns != nsClient {
		c.fail(stream.UnsupportedStanzaType, "")
		return false
	}
	k := kindOf(e.Local)
	if k == kindOther {
		c.fail(stream.UnsupportedStanzaType, "")
		return false
	}
	c.srv.metrics.in[k].Inc()
	defer c.countIn()
	if err != nil {
		// The stanza is isolated: refuse it alone, keep the stream.
		c.srv.metrics.badStanzas.Inc()
		if typ, _ := e.Attr("type"); typ != "error" {
			id, _ := e.Attr("id")
			to, _ := e.Attr("to")
			c.send(errorStanza(local, id, to, c.jid, errBadRequest), k)
		}
		return true
	}
	switch k {
	case kindMessage:
		if _, forged := e.Child("stanza-id", nsSID); forged {
			if p.Parse(stripStanzaIDs(b, e), e) != nil {
				return true
			}
		}
		c.srv.routeMessage(c, e)
	case kindPresence:
		c.srv.handlePresence(c, e)
	case kindIQ:
		c.srv.handleIQ(c, e)
	}
	c.srv.metrics.routing.Observe(time.Since(start).Seconds())
	return true
}

var nsClientBytes = []byte(nsClient)

// address is a parsed destination.
type address struct {
	kind     addrKind
	local    string
	user     userKey
	resource string
}

type addrKind uint8

const (
	addrServer  addrKind = iota // empty or our domain
	addrUser                    // <uid>-<app>@domain[/res]
	addrNoUser                  // a local JID that names no user
	addrMUC                     // the room service
	addrService                 // a module's service, <sub>.<domain>
	addrRemote                  // another domain
	addrBad                     // malformed
)

// resolve classifies a `to` as seen from a client of app.
func (s *Server) resolve(to string) address {
	if to == "" {
		return address{kind: addrServer}
	}
	local, domain, res := splitJID(to)
	if !asciiJID(to) {
		j, err := jid.Parse(to)
		if err != nil {
			return address{kind: addrBad}
		}
		local, domain, res = j.Localpart(), j.Domainpart(), j.Resourcepart()
	}
	switch {
	case strings.EqualFold(domain, s.cfg.Domain):
	case strings.EqualFold(domain, s.muc):
		return address{kind: addrMUC, local: local, resource: res}
	default:
		if sub, ok := strings.CutSuffix(strings.ToLower(domain), "."+strings.ToLower(s.cfg.Domain)); ok && local == "" && s.modules.serviceOf(sub) != nil {
			return address{kind: addrService, local: sub, resource: res}
		}
		return address{kind: addrRemote}
	}
	if local == "" {
		if res != "" {
			return address{kind: addrNoUser}
		}
		return address{kind: addrServer}
	}
	uid, app, ok := parseUserLocal(local)
	if !ok {
		return address{kind: addrNoUser}
	}
	return address{kind: addrUser, user: userKey{app, uid}, resource: res}
}

func splitJID(s string) (local, domain, res string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, res = s[:i], s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:], res
	}
	return "", s, res
}

// asciiJID reports whether the fast split is enough: printable ASCII with
// no characters that PRECIS would reject or map.
func asciiJID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == '&' || c == '\'' || c == '<' || c == '>' || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return strings.Count(s, "@") <= 1
}

func parseUserLocal(local string) (uid, app int64, ok bool) {
	i := strings.IndexByte(local, '-')
	if i <= 0 {
		return 0, 0, false
	}
	u, err1 := strconv.ParseInt(local[:i], 10, 64)
	a, err2 := strconv.ParseInt(local[i+1:], 10, 64)
	return u, a, err1 == nil && err2 == nil && u > 0 && a > 0
}

// deliver queues b to the user's sessions: the one named by resource when it
// is online, else every available one. It reports how many got it.
func (s *Server) deliver(k userKey, resource string, b []byte, kind stanzaKind) int {
	n := 0
	if resource != "" {
		s.reg.each(k, func(o *conn) {
			if o.resource == resource && o.send(b, kind) {
				n++
			}
		})
		if n == 0 && s.cluster != nil {
			n = s.sendRemote(k.app, []int64{k.user}, resource, b, kind, false)
		}
		if n > 0 {
			return n
		}
	}
	s.reg.each(k, func(o *conn) {
		if o.send(b, kind) {
			n++
		}
	})
	if s.cluster != nil {
		n += s.sendRemote(k.app, []int64{k.user}, "", b, kind, false)
	}
	return n
}

// deliverTyping relays a chat state to active sessions only; it is never
// stored or bounced.
func (s *Server) deliverTyping(k userKey, resource string, b []byte) {
	s.reg.each(k, func(o *conn) {
		if !o.inactive.Load() && (resource == "" || o.resource == resource) {
			o.send(b, kindMessage)
		}
	})
	if s.cluster != nil {
		s.sendRemote(k.app, []int64{k.user}, resource, b, kindMessage, true)
	}
}

// routeMessage handles a <message/> from c.
func (s *Server) routeMessage(c *conn, e *wire.Element) {
	typ, _ := e.Attr("type")
	to, _ := e.Attr("to")
	id, _ := e.Attr("id")
	if to == "" {
		to = c.bare
	}
	a := s.resolve(to)
	bounce := func(se StanzaError) {
		// Errors are never answered with errors; headlines and typing
		// notifications are dropped quietly (RFC 6121 8.5.2, XEP-0085).
		if typ == "error" || typ == "headline" || chatStateOnly(e) {
			return
		}
		c.send(errorStanza("message", id, to, c.jid, se), kindMessage)
	}
	switch a.kind {
	case addrUser:
		if a.user.app != c.appID {
			bounce(errServiceUnavailable) // other tenants do not exist for this one
			return
		}
		if !s.userExists(a.user) {
			bounce(errNoSuchUser)
			return
		}
		if s.blocked(c, a.user, to) {
			bounce(errBlocked) // typing notifications are dropped quietly
			return
		}
		m := readChat(e)
		extra, stored, ok := s.chatToUser(c, e, m, a.user)
		if !ok {
			return
		}
		out := relayBytes(e, c.jid, c.prefixes, m, extra)
		if m.typing && !m.content() {
			s.deliverTyping(a.user, a.resource, out)
			return
		}
		if typ == "chat" {
			for _, h := range s.modules.chat {
				h(c, User{a.user.app, a.user.user}, a.resource, e, out)
			}
		}
		if m.content() || typ == "headline" {
			defer s.routed(&Routed{From: c, To: User{a.user.app, a.user.user}, Type: typ, ID: m.id, DialogID: m.dialogID, Body: m.body, Custom: m.custom})
		}
		if s.deliver(a.user, a.resource, out, kindMessage) > 0 || stored {
			return // a message kept in history is not lost either
		}
		if offlineWorthy(typ, e, stored) && s.cfg.Offline != nil {
			if extra == "" {
				out = relayBytes(e, c.jid, c.prefixes, m, dateSentExtra(m, extra))
			}
			if s.storeOffline(a.user, out) {
				return
			}
		}
		bounce(errServiceUnavailable)
	case addrMUC:
		switch {
		case a.local == "":
			bounce(errServiceUnavailable)
		case a.resource != "":
			s.routeOccupant(c, e, a)
		default:
			s.routeGroup(c, e, a.local)
		}
	case addrRemote:
		bounce(errRemoteServer)
	case addrBad:
		bounce(StanzaError{stanza.Modify, stanza.JIDMalformed, "Malformed recipient address."})
	default:
		bounce(errServiceUnavailable)
	}
}

// chatStateOnly reports a typing notification with no body.
func chatStateOnly(e *wire.Element) bool {
	hasState := false
	for _, ch := range e.Children {
		switch {
		case string(ch.NS) == nsChatSt:
			hasState = true
		case string(ch.Local) == "body":
			return false
		}
	}
	return hasState
}

// handlePresence handles broadcast presence (no `to`) and directed presence.
func (s *Server) handlePresence(c *conn, e *wire.Element) {
	typ, _ := e.Attr("type")
	to, _ := e.Attr("to")
	if to != "" {
		a := s.resolve(to)
		if a.kind == addrMUC && a.local != "" {
			s.handleRoomPresence(c, e, a)
			return
		}
		if a.kind == addrUser && a.user.app == c.appID && (typ == "" || typ == "unavailable") && !s.refuses(c, a.user, privacy.PresenceIn) {
			s.deliver(a.user, a.resource, rewriteFrom(e, c.jid, c.prefixes), kindPresence)
			return
		}
		if h := s.modules.subscription; h != nil && isSubscription(typ) {
			h(c, to, typ, e)
			return
		}
		// Subscription requests without a roster module, and presence to
		// unknown or remote entities, are dropped, as RFC 6121 allows.
		return
	}
	switch typ {
	case "", "unavailable":
	default:
		return
	}
	out := rewriteFrom(e, c.jid, c.prefixes)
	k := userKey{c.appID, c.userID}
	c.mu.Lock()
	initial := !c.available && typ == ""
	c.available = typ == ""
	if c.available {
		c.presence = out
	} else {
		c.presence = nil
	}
	c.mu.Unlock()
	if initial {
		defer func() { go s.flushOffline(c) }()
		defer s.announce(k, true)
	}
	if s.cluster != nil {
		ctx, cancel := s.ctx()
		s.cluster.SetPresence(ctx, c.appID, c.userID, c.resource, typ == "", presencePriority(e))
		cancel()
		// The user's resources on other nodes see it too.
		s.sendRemote(c.appID, []int64{c.userID}, "", out, kindPresence, false)
	}
	// To every resource of the user, the sender included (RFC 6121 4.2.2);
	// a new resource also learns about the others.
	s.reg.each(k, func(o *conn) {
		o.send(out, kindPresence)
		if initial && o != c {
			o.mu.Lock()
			p := o.presence
			o.mu.Unlock()
			if p != nil {
				c.send(p, kindPresence)
			}
		}
	})
	// Then the modules (the roster's subscribers and probes), which may
	// read the store: the session's own echo does not wait for them.
	for _, h := range s.modules.presence {
		h(c, typ == "", initial, out)
	}
}

func isSubscription(typ string) bool {
	switch typ {
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return true
	}
	return false
}

// presencePriority reads <priority/> (RFC 6121), 0 when absent or bad.
func presencePriority(e *wire.Element) int {
	if ch, ok := e.Child("priority", nsClient); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(innerText(e.Raw[ch.Start:ch.End]))); err == nil && n >= -128 && n <= 127 {
			return n
		}
	}
	return 0
}

// handleIQ answers IQs to the server and routes IQs to users.
func (s *Server) handleIQ(c *conn, e *wire.Element) {
	typ, _ := e.Attr("type")
	id, _ := e.Attr("id")
	to, _ := e.Attr("to")
	a := s.resolve(to)
	reply := func(b []byte) { c.send(b, kindIQ) }
	isRequest := typ == "get" || typ == "set"
	if !isRequest && typ != "result" && typ != "error" {
		reply(errorStanza("iq", id, to, c.jid, errBadRequest))
		return
	}
	if isRequest && len(e.Children) != 1 {
		reply(errorStanza("iq", id, to, c.jid, errBadRequest))
		return
	}
	switch a.kind {
	case addrServer:
		if isRequest {
			reply(s.serverIQ(c, e, typ, id, to))
		}
		// Results and errors to the server (answers to our pings) need no more.
	case addrUser:
		if a.user.app != c.appID {
			if isRequest {
				reply(errorStanza("iq", id, to, c.jid, errServiceUnavailable))
			}
			return
		}
		if a.resource == "" {
			// A bare JID: the server answers for the user.
			if isRequest {
				reply(s.userIQ(c, e, a, typ, id, to))
			}
			return
		}
		if s.refuses(c, a.user, privacy.IQ) {
			if isRequest {
				reply(errorStanza("iq", id, to, c.jid, errServiceUnavailable))
			}
			return
		}
		out := rewriteFrom(e, c.jid, c.prefixes)
		n := 0
		s.reg.each(a.user, func(o *conn) {
			if o.resource == a.resource && o.send(out, kindIQ) {
				n++
			}
		})
		if n == 0 && isRequest {
			reply(errorStanza("iq", id, to, c.jid, errServiceUnavailable))
		}
	case addrMUC:
		if isRequest {
			if a.local == "" {
				reply(s.roomServiceIQ(c, e, typ, id, to))
				return
			}
			reply(s.roomIQ(c, e, a, typ, id, to))
		}
	case addrService:
		if isRequest {
			ctx, cancel := s.ctx()
			defer cancel()
			reply(s.modules.serviceOf(a.local).h(ctx, c, &IQ{Type: typ, ID: id, To: to, Element: e, Payload: e.Children[0]}))
		}
	case addrRemote:
		if isRequest {
			reply(errorStanza("iq", id, to, c.jid, errRemoteServer))
		}
	case addrBad:
		if isRequest {
			reply(errorStanza("iq", id, to, c.jid, StanzaError{stanza.Modify, stanza.JIDMalformed, "Malformed address."}))
		}
	default:
		if isRequest {
			reply(errorStanza("iq", id, to, c.jid, errServiceUnavailable))
		}
	}
}

// serverIQ answers a request addressed to the server itself (or to the
// requester's own bare JID): by the table the modules registered.
func (s *Server) serverIQ(c *conn, e *wire.Element, typ, id, to string) []byte {
	ch := e.Children[0]
	if h := s.modules.handler(typ, &ch); h != nil {
		ctx, cancel := s.ctx()
		defer cancel()
		return h(ctx, c, &IQ{Type: typ, ID: id, To: to, Element: e, Payload: ch})
	}
	from := to
	if from == "" {
		from = s.cfg.Domain
	}
	return errorStanza("iq", id, from, c.jid, errServiceUnavailable)
}

// registerCore registers what the core itself answers and announces, and
// the extensions that still live in this package.
func (s *Server) registerCore(r *Registry) {
	r.Feature(ServerEntity, nsDiscoIt, nsSM, nsCSI)
	r.Feature(RoomsEntity, nsMUC, nsDiscoIt)
	if s.cfg.Dialogs != nil {
		s.registerRoomAdmin(r)
	}
	r.Feature(RoomEntity, "http://jabber.org/protocol/muc#self-ping-optimization")
	r.Feature(AccountEntity, nsPing)
	// A user's bare JID: the server answers for the account.
	r.HandleAccountIQ("get", nsDiscoI, "query", func(_ context.Context, c Session, _ User, iq *IQ) []byte {
		return iq.Result(c, s.modules.info[AccountEntity])
	})
	r.HandleAccountIQ("get", nsPing, "ping", func(_ context.Context, c Session, _ User, iq *IQ) []byte {
		return iq.Result(c, "") // XEP-0199: the server answers for the account
	})
	r.HandleIQ("get", nsDiscoI, "query", func(_ context.Context, c Session, iq *IQ) []byte {
		return iq.Result(c, s.modules.info[ServerEntity])
	})
	r.HandleIQ("get", nsDiscoIt, "query", func(_ context.Context, c Session, iq *IQ) []byte {
		var b strings.Builder
		b.WriteString(`<query xmlns="` + nsDiscoIt + `"><item jid="` + xmlEsc(s.muc) + `" name="Rooms"/>`)
		for _, sv := range s.modules.services {
			b.WriteString(`<item jid="` + xmlEsc(sv.sub+"."+s.cfg.Domain) + `" name="` + xmlEsc(sv.name) + `"/>`)
		}
		b.WriteString(`</query>`)
		return iq.Result(c, b.String())
	})
	r.HandleIQ("set", nsSession, "session", func(_ context.Context, c Session, iq *IQ) []byte { return iq.Result(c, "") })
	r.HandleIQ("set", nsBind, "bind", func(_ context.Context, c Session, iq *IQ) []byte { return iq.Error(c, errNotAllowed) })
}

// registerFallbacks answers what standard clients always ask when no module
// took it: without the roster module, an empty roster and no roster sets.
func (s *Server) registerFallbacks(r *Registry) {
	if r.iq[iqKey{"get", nsRoster, "query"}] != nil {
		return
	}
	r.HandleIQ("get", nsRoster, "query", func(_ context.Context, c Session, iq *IQ) []byte {
		return iqResult(iq.ID, "", c.JID(), `<query xmlns="`+nsRoster+`"/>`)
	})
	r.HandleIQ("set", nsRoster, "query", func(_ context.Context, c Session, iq *IQ) []byte {
		return errorStanza("iq", iq.ID, "", c.JID(), errFeatureNotImpl)
	})
}

// userIQ answers a request to a user's bare JID on the user's behalf
// (RFC 6121 8.5.1): by the table of account handlers, then, for one's own
// bare JID, by the server's.
func (s *Server) userIQ(c *conn, e *wire.Element, a address, typ, id, to string) []byte {
	ch := e.Children[0]
	if h := s.modules.accountHandler(typ, &ch); h != nil {
		ctx, cancel := s.ctx()
		defer cancel()
		return h(ctx, c, User{a.user.app, a.user.user}, &IQ{Type: typ, ID: id, To: to, Element: e, Payload: ch})
	}
	if a.user == (userKey{c.appID, c.userID}) {
		// Requests to one's own bare JID are the server's to answer.
		return s.serverIQ(c, e, typ, id, "")
	}
	return errorStanza("iq", id, to, c.jid, errServiceUnavailable)
}

// Version is the build's version, set by the linker.
var Version = "dev"

// userJID is a user's bare JID, <userId>-<appId>@domain.
func (s *Server) userJID(app, uid int64) string {
	return strconv.FormatInt(uid, 10) + "-" + strconv.FormatInt(app, 10) + "@" + s.cfg.Domain
}
