package xmpp

import (
	"context"
	"sort"
	"strings"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/xmpp/wire"
)

// Extensions (XEPs) register with the core what they answer — IQ handlers
// by type, namespace and element — and what they announce — disco features
// of the server, of accounts and of the room service. The core dispatches
// requests by that table and assembles disco#info from it: nothing central
// lists the extensions by hand. Each extension lives in a package of its
// own under xmpp/ (xmpp/ping, xmpp/version, ...) and is handed to the
// server in Config.Modules.

// Module is one extension.
type Module interface {
	// Register records the module's handlers and features; it runs once,
	// in NewServer, before anything is served.
	Register(r *Registry)
}

// Entity is an address whose disco#info the modules add features to.
type Entity uint8

// The entities disco#info answers for.
const (
	ServerEntity  Entity = iota // the domain
	AccountEntity               // a user's bare JID
	RoomsEntity                 // the room service, muc.<domain>
	RoomEntity                  // each room (a group dialog)
	numEntities
)

// User names a user of an app.
type User struct{ App, ID int64 }

// Session is a bound client session as a module sees it.
type Session interface {
	App() int64
	User() int64
	JID() string  // full JID
	Bare() string // bare JID
	Resource() string
	// SetInactive records the client state (XEP-0352, Tigase mobile#v2):
	// inactive sessions get no typing notifications and count as away.
	SetInactive(bool)
	// Send queues a stanza for the client; false when the session is gone
	// or too slow (see the slow-consumer policy of the outbound queue).
	Send(b []byte) bool
}

// IQ is a request handed to a module.
type IQ struct {
	Type, ID string
	// To is the address as the client wrote it ("" for the server); replies
	// come from it.
	To string
	// Element is the whole <iq/>; Payload its only child.
	Element *wire.Element
	Payload wire.Child
}

// Raw returns the payload element's bytes.
func (iq *IQ) Raw() []byte { return iq.Element.Raw[iq.Payload.Start:iq.Payload.End] }

// Attr reads an attribute of the payload element.
func (iq *IQ) Attr(name string) string { return attrOf(iq.Raw(), name) }

// Result answers iq with a result carrying payload (raw XML, "" for none).
func (iq *IQ) Result(s Session, payload string) []byte {
	return iqResult(iq.ID, iq.To, s.JID(), payload)
}

// Error answers iq with an error.
func (iq *IQ) Error(s Session, e StanzaError) []byte {
	return errorStanza("iq", iq.ID, iq.To, s.JID(), e)
}

// ErrorWith answers iq with an error carrying an application-specific
// condition element (raw XML, built with escaped values).
func (iq *IQ) ErrorWith(s Session, e StanzaError, app string) []byte {
	return errorStanzaApp("iq", iq.ID, iq.To, s.JID(), e, app)
}

// IQHandler answers a request with the complete reply stanza.
type IQHandler func(ctx context.Context, s Session, iq *IQ) []byte

// RoomIQHandler answers a request to a room the requester may read (the
// core checks that first).
type RoomIQHandler func(ctx context.Context, s Session, room *dialogs.Dialog, iq *IQ) []byte

// AccountIQHandler answers, on a user's behalf, a request to that user's
// bare JID (RFC 6121 8.5.1).
type AccountIQHandler func(ctx context.Context, s Session, account User, iq *IQ) []byte

// ChatHook runs after a 1-1 chat message from a session was routed to a
// user (resource "" when sent to the bare JID); out is the copy delivered.
// Hooks must not block: queueing to sessions does not.
type ChatHook func(from Session, to User, resource string, e *wire.Element, out []byte)

// Routed is a content message (text or files) the core routed: 1-1 to a
// user, or to a room's occupants.
type Routed struct {
	From     Session
	To       User            // the recipient of a 1-1 message (zero for a room)
	Room     *dialogs.Dialog // the room's dialog (nil for 1-1)
	Type     string          // chat, normal, headline, groupchat
	ID       string
	DialogID string
	Body     string
	Custom   map[string]any // extraParams keys the sender added
}

// PresenceHook runs after a session's broadcast presence (no 'to') was
// handled: available or unavailable, initial (the session's first
// available presence) or not; out is the presence as delivered, from the
// session's full JID.
type PresenceHook func(s Session, available, initial bool, out []byte)

// SubscriptionHandler takes a presence subscription stanza (subscribe,
// subscribed, unsubscribe, unsubscribed) a session sent to address to.
type SubscriptionHandler func(s Session, to, typ string, e *wire.Element)

// Core is the narrow view of the server a module uses.
type Core interface {
	Domain() string
	// UserJID is a user's bare JID.
	UserJID(u User) string
	// UserOf reads a JID (bare or full) as a user of this domain.
	UserOf(jid string) (User, bool)
	// EachSession calls fn for each of the user's sessions on this node,
	// under a read lock: fn must not block.
	EachSession(u User, fn func(Session))
	// PrivacyChanged drops every node's cached copy of u's privacy lists.
	PrivacyChanged(u User)
	// Deliver queues b to the user's sessions here and on other nodes: the
	// one named by resource when it is online, else every one. It reports
	// how many got it.
	Deliver(u User, resource string, b []byte) int
	// HistoryStanza renders a stored message as the stanza it was sent as,
	// with its extraParams (dialog_id, date_sent, attachments, custom
	// fields) and its stanza-id: what archive queries return.
	HistoryStanza(m *history.Message, typ, from, to, by string) []byte
	// RoomJID is a dialog's room address.
	RoomJID(d *dialogs.Dialog) string
	// ToRoom queues b to every online occupant of a room, on every node
	// (members who block the room's traffic excepted).
	ToRoom(d *dialogs.Dialog, b []byte)
	// Online reports whether the user has a session on any node.
	Online(u User) bool
	// Away reports a user with no session, or only inactive ones (CSI,
	// mobile#v2): who should get a push notification.
	Away(u User) bool
	// WatchStatus makes this node follow (or stop following) a user's
	// status changes on other nodes (OnUserStatus).
	WatchStatus(u User, on bool)
	// SharePresence sends the current available presence of each of of's
	// sessions, on every node, to the JID to (a user of this server, bare or
	// full): the answer to a presence probe.
	SharePresence(of User, to string)
}

type iqKey struct{ typ, ns, local string }

// Registry holds what the modules registered.
type Registry struct {
	core     Core
	iq       map[iqKey]IQHandler
	account  map[iqKey]AccountIQHandler
	room     map[iqKey]RoomIQHandler
	chat     []ChatHook
	presence []PresenceHook
	status   []func(User, bool)
	routed   []func(*Routed)
	// subscription is the one module that keeps rosters; without it,
	// subscription stanzas are dropped.
	subscription SubscriptionHandler
	ended        []func(Session)
	services     []service
	identities   [numEntities]string // the modules', raw
	features     [numEntities][]string
	info         [numEntities]string // assembled disco#info payloads
}

// HandleIQ makes h answer IQs of type typ ("get" or "set") whose payload
// is <local xmlns=ns/>, sent to the server or to one's own bare JID. Two
// modules claiming the same request is a programming error.
func (r *Registry) HandleIQ(typ, ns, local string, h IQHandler) {
	claim(&r.iq, iqKey{typ, ns, local}, h, "")
}

// claim records h for k in *m; two modules claiming one request is a
// programming error, found at start.
func claim[H any](m *map[iqKey]H, k iqKey, h H, where string) {
	if *m == nil {
		*m = map[iqKey]H{}
	}
	if _, dup := (*m)[k]; dup {
		panic("xmpp: two modules handle " + k.typ + " " + k.ns + " " + k.local + where)
	}
	(*m)[k] = h
}

// Core returns the server's view for the module to keep.
func (r *Registry) Core() Core { return r.core }

// OnChat adds a hook run after each routed 1-1 chat message, in the order
// of registration.
func (r *Registry) OnChat(h ChatHook) { r.chat = append(r.chat, h) }

// OnPresence adds a hook run after each broadcast presence of a session.
func (r *Registry) OnPresence(h PresenceHook) { r.presence = append(r.presence, h) }

// OnRouted adds a hook run after each content message was routed (push
// notifications for those away, for instance).
func (r *Registry) OnRouted(h func(*Routed)) { r.routed = append(r.routed, h) }

// OnUserStatus adds a hook run when a user this node follows comes online
// (its first available presence anywhere) or goes offline (its last
// session ended), whatever node it is on; see Core.WatchStatus.
func (r *Registry) OnUserStatus(h func(u User, online bool)) { r.status = append(r.status, h) }

// HandleSubscriptions makes h the handler of presence subscription stanzas
// (the roster module; only one may).
func (r *Registry) HandleSubscriptions(h SubscriptionHandler) {
	if r.subscription != nil {
		panic("xmpp: two modules handle presence subscriptions")
	}
	r.subscription = h
}

// OnSessionEnd adds a hook run when a session ends for good (not when it
// hibernates), so a module can forget what it kept for it.
func (r *Registry) OnSessionEnd(h func(Session)) { r.ended = append(r.ended, h) }

// HandleAccountIQ makes h answer requests of type typ with payload
// <local xmlns=ns/> sent to any user's bare JID (the requester's own
// included; without a handler here, those go to the server's table).
func (r *Registry) HandleAccountIQ(typ, ns, local string, h AccountIQHandler) {
	claim(&r.account, iqKey{typ, ns, local}, h, " for accounts")
}

// HandleRoomIQ makes h answer requests of type typ with payload
// <local xmlns=ns/> sent to a room's bare JID.
func (r *Registry) HandleRoomIQ(typ, ns, local string, h RoomIQHandler) {
	claim(&r.room, iqKey{typ, ns, local}, h, " for rooms")
}

func (r *Registry) roomHandler(typ string, ch *wire.Child) RoomIQHandler {
	return r.room[iqKey{typ, string(ch.NS), string(ch.Local)}]
}

func (r *Registry) accountHandler(typ string, ch *wire.Child) AccountIQHandler {
	return r.account[iqKey{typ, string(ch.NS), string(ch.Local)}]
}

// service is a component-like address of the server, <sub>.<domain>.
type service struct {
	sub, name string
	h         IQHandler
}

// Service makes h answer every IQ sent to <sub>.<domain> (its disco#info
// included), an address the server lists in its disco#items under name:
// an upload service, for instance.
func (r *Registry) Service(sub, name string, h IQHandler) {
	for _, sv := range r.services {
		if sv.sub == sub {
			panic("xmpp: two modules serve " + sub)
		}
	}
	r.services = append(r.services, service{sub, name, h})
}

// serviceOf finds the service whose address is sub.
func (r *Registry) serviceOf(sub string) *service {
	for i := range r.services {
		if strings.EqualFold(r.services[i].sub, sub) {
			return &r.services[i]
		}
	}
	return nil
}

// Identity announces a disco identity of an entity (besides the core's):
// the PEP service of accounts, for instance.
func (r *Registry) Identity(e Entity, category, typ string) {
	r.identities[e] += `<identity category="` + string(wire.AppendEscaped(nil, category)) + `" type="` + string(wire.AppendEscaped(nil, typ)) + `"/>`
}

// Feature announces disco features of an entity.
func (r *Registry) Feature(e Entity, vars ...string) {
	r.features[e] = append(r.features[e], vars...)
}

func (r *Registry) handler(typ string, ch *wire.Child) IQHandler {
	return r.iq[iqKey{typ, string(ch.NS), string(ch.Local)}]
}

// seal assembles each entity's disco#info once the modules registered.
func (r *Registry) seal(identities [numEntities]string) {
	for e := range numEntities {
		fs := append([]string{nsDiscoI}, r.features[e]...)
		sort.Strings(fs)
		var b strings.Builder
		b.WriteString(`<query xmlns="` + nsDiscoI + `">` + identities[e] + r.identities[e])
		for i, f := range fs {
			if i > 0 && fs[i-1] == f {
				continue
			}
			b.WriteString(`<feature var="`)
			b.Write(wire.AppendEscaped(nil, f))
			b.WriteString(`"/>`)
		}
		b.WriteString(`</query>`)
		r.info[e] = b.String()
	}
}

// Session is implemented by the connection itself.
func (c *conn) App() int64         { return c.appID }
func (c *conn) User() int64        { return c.userID }
func (c *conn) JID() string        { return c.jid }
func (c *conn) Bare() string       { return c.bare }
func (c *conn) Resource() string   { return c.resource }
func (c *conn) SetInactive(v bool) { c.inactive.Store(v) }

// Send implements Session: the stanza's kind is read from its name.
func (c *conn) Send(b []byte) bool {
	k := kindIQ
	switch {
	case len(b) > 8 && string(b[:8]) == "<message":
		k = kindMessage
	case len(b) > 9 && string(b[:9]) == "<presence":
		k = kindPresence
	}
	return c.send(b, k)
}

// UserJID implements Core.
func (s *Server) UserJID(u User) string { return s.userJID(u.App, u.ID) }

// EachSession implements Core.
func (s *Server) EachSession(u User, fn func(Session)) {
	s.reg.each(userKey{u.App, u.ID}, func(c *conn) { fn(c) })
}

// Deliver implements Core.
func (s *Server) Deliver(u User, resource string, b []byte) int {
	k := kindMessage
	if len(b) > 9 && string(b[:9]) == "<presence" {
		k = kindPresence
	} else if len(b) > 3 && string(b[:3]) == "<iq" {
		k = kindIQ
	}
	return s.deliver(userKey{u.App, u.ID}, resource, b, k)
}

// RoomJID implements Core.
func (s *Server) RoomJID(d *dialogs.Dialog) string { return d.RoomAddress(s.muc) }

// ToRoom implements Core.
func (s *Server) ToRoom(d *dialogs.Dialog, b []byte) { s.fanOut(d, b, kindMessage) }

// Online implements Core.
func (s *Server) Online(u User) bool { return s.online(userKey{u.App, u.ID}) }

// WatchStatus implements Core.
func (s *Server) WatchStatus(u User, on bool) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if on {
		s.cluster.Watch(ctx, u.App, u.ID)
	} else {
		s.cluster.Unwatch(ctx, u.App, u.ID)
	}
}

// Away implements Core.
func (s *Server) Away(u User) bool { return s.away(userKey{u.App, u.ID}) }

// routed runs the OnRouted hooks.
func (s *Server) routed(r *Routed) {
	for _, h := range s.modules.routed {
		h(r)
	}
}

// UserOf implements Core.
func (s *Server) UserOf(jid string) (User, bool) {
	a := s.resolve(jid)
	return User{a.user.app, a.user.user}, a.kind == addrUser
}
