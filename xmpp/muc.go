package xmpp

import (
	"strconv"
	"strings"
	"sync"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/xmpp/wire"
)

const (
	nsMUC     = "http://jabber.org/protocol/muc"
	nsMUCUser = "http://jabber.org/protocol/muc#user"
)

// roomKey names a room on this node.
type roomKey struct {
	app int64
	id  string
}

// rooms tracks who joined which room on this node. Joining is optional in
// the ConnectyCube model (messages reach every occupant anyway); it only
// drives occupant presence.
type rooms struct {
	mu     sync.Mutex
	joined map[roomKey]map[*conn]struct{}
}

func (r *rooms) join(k roomKey, c *conn) (others []*conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joined == nil {
		r.joined = map[roomKey]map[*conn]struct{}{}
	}
	set := r.joined[k]
	if set == nil {
		set = map[*conn]struct{}{}
		r.joined[k] = set
	}
	for o := range set {
		if o != c {
			others = append(others, o)
		}
	}
	set[c] = struct{}{}
	return others
}

func (r *rooms) leave(k roomKey, c *conn) (others []*conn, was bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.joined[k]
	if _, was = set[c]; !was {
		return nil, false
	}
	delete(set, c)
	for o := range set {
		others = append(others, o)
	}
	if len(set) == 0 {
		delete(r.joined, k)
	}
	return others, true
}

// move hands old's joined rooms to c (a resumed stream).
func (r *rooms) move(old, c *conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, set := range r.joined {
		if _, ok := set[old]; ok {
			delete(set, old)
			set[c] = struct{}{}
		}
	}
}

// roomsOf lists the rooms c joined (for leaving them on disconnect).
func (r *rooms) roomsOf(c *conn) []roomKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []roomKey
	for k, set := range r.joined {
		if _, ok := set[c]; ok {
			out = append(out, k)
		}
	}
	return out
}

// occupantPresence is the presence of user uid in room as others see it.
func (s *Server) occupantPresence(room string, d *dialogs.Dialog, uid int64, to, typ, id string, self bool) []byte {
	b := appendOpen(make([]byte, 0, 384), "presence", typ, id, room+"/"+strconv.FormatInt(uid, 10), to)
	b = append(b, `><x xmlns="`+nsMUCUser+`">`...)
	if self && !s.cfg.MUCStrict {
		// The SDK resolves join()/leave() only on this element (spec 3.8).
		b = append(b, `<xmlns><code>110</code></xmlns>`...)
	}
	aff, role := "member", "participant"
	switch {
	case uid == d.OwnerID:
		aff, role = "owner", "moderator"
	case d.IsAdmin(uid):
		aff, role = "admin", "moderator"
	}
	if typ == "unavailable" {
		role = "none"
	}
	b = append(b, `<item affiliation="`+aff+`" role="`+role+`"/>`...)
	if self {
		b = append(b, `<status code="110"/>`...)
	}
	return append(b, `</x></presence>`...)
}

// handleRoomPresence answers join and leave presence to room/nick.
func (s *Server) handleRoomPresence(c *conn, e *wire.Element, a address) {
	typ, _ := e.Attr("type")
	id, _ := e.Attr("id")
	to, _ := e.Attr("to")
	appID, dialogID, ok := dialogs.ParseRoomLocal(a.local)
	room := a.local + "@" + s.muc
	joinError := func(se StanzaError) {
		b := appendOpen(make([]byte, 0, 256), "presence", "error", id, to, c.jid)
		b = append(b, `><x xmlns="`+nsMUC+`"/>`...)
		eb := errorStanza("presence", "", "", "", se)
		// Reuse the <error/> element of a generic error stanza.
		i, j := strings.Index(string(eb), "<error"), strings.LastIndex(string(eb), "</presence>")
		b = append(b, eb[i:j]...)
		c.send(append(b, `</presence>`...), kindPresence)
	}
	if !ok || appID != c.appID || s.cfg.Dialogs == nil {
		if typ != "unavailable" && typ != "error" {
			joinError(StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such room."})
		}
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	d, err := s.cfg.Dialogs.Dialog(ctx, appID, dialogID)
	if err != nil {
		if typ != "unavailable" {
			joinError(chatError(err))
		}
		return
	}
	k := roomKey{appID, d.ID}
	switch typ {
	case "":
		if d.Type != dialogs.Public && !d.HasOccupant(c.userID) {
			joinError(errNotOccupant)
			return
		}
		others := s.rooms.join(k, c)
		for _, o := range others {
			c.send(s.occupantPresence(room, d, o.userID, c.jid, "", "", false), kindPresence)
			o.send(s.occupantPresence(room, d, c.userID, o.jid, "", "", false), kindPresence)
		}
		c.send(s.occupantPresence(room, d, c.userID, c.jid, "", id, true), kindPresence)
	case "unavailable":
		others, was := s.rooms.leave(k, c)
		for _, o := range others {
			o.send(s.occupantPresence(room, d, c.userID, o.jid, "unavailable", "", false), kindPresence)
		}
		_ = was // leave() resolves on this answer even if the join was never seen
		c.send(s.occupantPresence(room, d, c.userID, c.jid, "unavailable", id, true), kindPresence)
	}
}

// leaveRooms runs when a session ends.
func (s *Server) leaveRooms(c *conn) {
	for _, k := range s.rooms.roomsOf(c) {
		others, _ := s.rooms.leave(k, c)
		room := dialogs.RoomJID(k.app, k.id, s.muc)
		d := &dialogs.Dialog{AppID: k.app, ID: k.id}
		for _, o := range others {
			o.send(s.occupantPresence(room, d, c.userID, o.jid, "unavailable", "", false), kindPresence)
		}
	}
}

// roomIQ answers IQs to a room: disco#items lists the occupants online now.
func (s *Server) roomIQ(c *conn, e *wire.Element, a address, typ, id, to string) []byte {
	ch := e.Children[0]
	appID, dialogID, ok := dialogs.ParseRoomLocal(a.local)
	if !ok || appID != c.appID || s.cfg.Dialogs == nil {
		return errorStanza("iq", id, to, c.jid, StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such room."})
	}
	ctx, cancel := s.ctx()
	defer cancel()
	d, err := s.cfg.Dialogs.Dialog(ctx, appID, dialogID)
	if err != nil || !d.CanRead(c.userID) {
		return errorStanza("iq", id, to, c.jid, StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such room."})
	}
	room := dialogs.RoomJID(appID, d.ID, s.muc)
	switch {
	case typ == "get" && string(ch.NS) == nsDiscoIt:
		var b strings.Builder
		b.WriteString(`<query xmlns="` + nsDiscoIt + `">`)
		remote := s.remote(appID, d.Occupants)
		for _, uid := range d.Occupants {
			online := len(remote[uid]) > 0
			s.reg.each(userKey{appID, uid}, func(*conn) { online = true })
			if online {
				b.WriteString(`<item jid="` + xmlEsc(room) + "/" + strconv.FormatInt(uid, 10) + `"/>`)
			}
		}
		b.WriteString(`</query>`)
		return iqResult(id, room, c.jid, b.String())
	case typ == "get" && string(ch.NS) == nsDiscoI:
		var b strings.Builder
		b.WriteString(`<query xmlns="` + nsDiscoI + `"><identity category="conference" type="text" name="` + xmlEsc(d.Name) + `"/><feature var="` + nsMUC + `"/>`)
		for _, f := range s.modules.features[RoomEntity] {
			b.WriteString(`<feature var="` + xmlEsc(f) + `"/>`)
		}
		b.WriteString(`</query>`)
		return iqResult(id, room, c.jid, b.String())
	}
	if h := s.modules.roomHandler(typ, &ch); h != nil {
		return h(ctx, c, d, &IQ{Type: typ, ID: id, To: room, Element: e, Payload: ch})
	}
	return errorStanza("iq", id, to, c.jid, errServiceUnavailable)
}
