package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
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

// has reports whether c joined the room.
func (r *rooms) has(k roomKey, c *conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.joined[k][c]
	return ok
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
	joinError := func(se StanzaError) {
		b := appendOpen(make([]byte, 0, 256), "presence", "error", id, to, c.jid)
		b = append(b, `><x xmlns="`+nsMUC+`"/>`...)
		eb := errorStanza("presence", "", "", "", se)
		// Reuse the <error/> element of a generic error stanza.
		i, j := strings.Index(string(eb), "<error"), strings.LastIndex(string(eb), "</presence>")
		b = append(b, eb[i:j]...)
		c.send(append(b, `</presence>`...), kindPresence)
	}
	if s.cfg.Dialogs == nil {
		joinError(StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such room."})
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	d, err := s.roomOf(ctx, c.appID, a.local)
	created := false
	if errors.Is(err, dialogs.ErrNotFound) && typ == "" && dialogs.ValidRoomName(strings.ToLower(a.local)) {
		// Joining a room that does not exist creates it (XEP-0045 10.1): a
		// group dialog the joiner owns, open at once (an instant room).
		d, err = s.cfg.Dialogs.CreateRoom(ctx, c.appID, c.userID, strings.ToLower(a.local))
		created = err == nil && d.OwnerID == c.userID && len(d.Occupants) == 1
	}
	if err != nil {
		if typ != "unavailable" && typ != "error" {
			joinError(chatError(err))
		}
		return
	}
	room := d.RoomAddress(s.muc)
	k := roomKey{d.AppID, d.ID}
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
		self := s.occupantPresence(room, d, c.userID, c.jid, "", id, true)
		if created {
			self = []byte(strings.Replace(string(self), `<status code="110"/>`, `<status code="110"/><status code="201"/>`, 1))
		}
		c.send(self, kindPresence)
		s.sendRoomHistory(ctx, c, e, d, room)
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
		d := &dialogs.Dialog{AppID: k.app, ID: k.id}
		if s.cfg.Dialogs != nil {
			ctx, cancel := s.ctx()
			if full, err := s.cfg.Dialogs.Dialog(ctx, k.app, k.id); err == nil {
				d = full
			}
			cancel()
		}
		room := d.RoomAddress(s.muc)
		for _, o := range others {
			o.send(s.occupantPresence(room, d, c.userID, o.jid, "unavailable", "", false), kindPresence)
		}
	}
}

// roomServiceIQ answers IQs to the room service, muc.<domain> (XEP-0045
// 6.1-6.3): its disco#info, and as items the rooms the requester is in.
func (s *Server) roomServiceIQ(c *conn, e *wire.Element, typ, id, to string) []byte {
	ch := e.Children[0]
	switch {
	case typ == "get" && string(ch.NS) == nsDiscoI && string(ch.Local) == "query":
		return iqResult(id, to, c.jid, s.modules.info[RoomsEntity])
	case typ == "get" && string(ch.NS) == nsDiscoIt && string(ch.Local) == "query" && s.cfg.Dialogs != nil:
		ctx, cancel := s.ctx()
		defer cancel()
		views, _, err := s.cfg.Dialogs.List(ctx, c.appID, c.userID, dialogs.Query{Limit: 100})
		if err != nil {
			return errorStanza("iq", id, to, c.jid, errInternal)
		}
		var b strings.Builder
		b.WriteString(`<query xmlns="` + nsDiscoIt + `">`)
		for i := range views {
			d := &views[i].Dialog
			if d.Type == dialogs.Private {
				continue
			}
			b.WriteString(`<item jid="` + xmlEsc(d.RoomAddress(s.muc)) + `" name="` + xmlEsc(d.Name) + `"/>`)
		}
		b.WriteString(`</query>`)
		return iqResult(id, to, c.jid, b.String())
	}
	return errorStanza("iq", id, to, c.jid, errServiceUnavailable)
}

// roomIQ answers IQs to a room: disco#items lists the occupants online now.
func (s *Server) roomIQ(c *conn, e *wire.Element, a address, typ, id, to string) []byte {
	ch := e.Children[0]
	ctx, cancel := s.ctx()
	defer cancel()
	d, err := s.roomOf(ctx, c.appID, a.local)
	if err != nil || !d.CanRead(c.userID) {
		return errorStanza("iq", id, to, c.jid, StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such room."})
	}
	appID := d.AppID
	room := d.RoomAddress(s.muc)
	switch {
	case a.resource != "" && typ == "get" && string(ch.NS) == nsPing:
		// MUC self-ping (XEP-0410): the service answers for the occupant;
		// not joined is not-acceptable, so the client knows to rejoin.
		if s.rooms.has(roomKey{appID, d.ID}, c) {
			return iqResult(id, to, c.jid, "")
		}
		return errorStanza("iq", id, to, c.jid, StanzaError{stanza.Modify, stanza.NotAcceptable, "Not joined."})
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

// defaultRoomHistory is how many messages a join without <history/> gets
// (ejabberd's default).
const defaultRoomHistory = 20

// sendRoomHistory sends a joining occupant the room's recent messages from
// the archive, as XEP-0045 7.2.14 asks (<history maxstanzas seconds since>),
// each with a delay stamp and its archive id, then the subject, which
// closes the join (7.2.15). The ConnectyCube SDK joins with maxstanzas="0"
// and reads no subject: in SDK-compatible mode it gets neither.
func (s *Server) sendRoomHistory(ctx context.Context, c *conn, e *wire.Element, d *dialogs.Dialog, room string) {
	var x struct {
		History *struct {
			MaxStanzas string `xml:"maxstanzas,attr"`
			Seconds    string `xml:"seconds,attr"`
			Since      string `xml:"since,attr"`
		} `xml:"history"`
	}
	if ch, ok := e.Child("x", nsMUC); ok {
		xml.Unmarshal(e.Raw[ch.Start:ch.End], &x)
	}
	n, since := defaultRoomHistory, time.Time{}
	if h := x.History; h != nil {
		if v, err := strconv.Atoi(h.MaxStanzas); err == nil && v >= 0 {
			n = min(v, 100)
		}
		if v, err := strconv.Atoi(h.Seconds); err == nil && v >= 0 {
			since = time.Now().Add(-time.Duration(v) * time.Second)
		}
		if t, err := time.Parse(time.RFC3339, h.Since); err == nil && t.After(since) {
			since = t
		}
	}
	if n == 0 && !s.cfg.MUCStrict {
		return // the SDK's join
	}
	if n > 0 && s.cfg.History != nil {
		q := history.Query{Limit: n, Desc: true}
		if !since.IsZero() {
			q.Filters = []history.Filter{{Field: "date_sent", Op: "gte", Values: []string{strconv.FormatInt(since.Unix(), 10)}}}
		}
		msgs, _, err := s.cfg.History.List(ctx, c.appID, c.userID, d.ID, q, false)
		if err == nil {
			stamp := func(m *history.Message) string {
				return `<delay xmlns="urn:xmpp:delay" from="` + xmlEsc(room) + `" stamp="` + time.Unix(m.DateSent, 0).UTC().Format("2006-01-02T15:04:05Z") + `"/>`
			}
			for i := len(msgs) - 1; i >= 0; i-- {
				m := &msgs[i]
				b := s.HistoryStanza(m, "groupchat", room+"/"+strconv.FormatInt(m.SenderID, 10), c.jid, room)
				end := len(b) - len("</message>")
				c.send(append(append(b[:end:end], stamp(m)...), "</message>"...), kindMessage)
			}
		}
	}
	subj := appendOpen(make([]byte, 0, 160), "message", "groupchat", "", room, c.jid)
	c.send(append(subj, `><subject/></message>`...), kindMessage)
}

// roomOf finds the dialog a room address names for a user of app:
// <appId>_<id>, or a name a client created the room under.
func (s *Server) roomOf(ctx context.Context, app int64, local string) (*dialogs.Dialog, error) {
	if s.cfg.Dialogs == nil {
		return nil, dialogs.ErrNotFound
	}
	if a, id, ok := dialogs.ParseRoomLocal(local); ok {
		if a != app {
			return nil, dialogs.ErrNotFound
		}
		return s.cfg.Dialogs.Dialog(ctx, app, id)
	}
	if !dialogs.ValidRoomName(strings.ToLower(local)) {
		return nil, dialogs.ErrNotFound
	}
	return s.cfg.Dialogs.ByRoom(ctx, app, strings.ToLower(local))
}
