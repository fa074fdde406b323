package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
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

// roomPresence is one occupant's presence in a room, before it is
// addressed to a viewer.
type roomPresence struct {
	room    string
	d       *dialogs.Dialog
	uid     int64
	nick    string // "" when the user is not joined: seen by id
	jid     string // the occupant's full JID (the rooms are not anonymous)
	extra   []byte // rendered <show/> and <status/>
	typ, id string
	newNick string   // a nick change (status 303)
	codes   []string // status codes; "110" marks the viewer's own presence
}

// occupantPresence renders p for viewer to: a viewer that chose a nick sees
// the occupant's nick and JID, any other (the ConnectyCube SDK) its user id.
func (s *Server) occupantPresence(p *roomPresence, to *conn, named bool) []byte {
	res := strconv.FormatInt(p.uid, 10)
	if named && p.nick != "" {
		res = p.nick
	}
	self := false
	for _, c := range p.codes {
		self = self || c == "110"
	}
	b := appendOpen(make([]byte, 0, 384), "presence", p.typ, p.id, p.room+"/"+res, to.jid)
	b = append(b, '>')
	if p.typ == "" {
		b = append(b, p.extra...)
	}
	b = append(b, `<x xmlns="`+nsMUCUser+`">`...)
	if self && !s.cfg.MUCStrict {
		// The SDK resolves join()/leave() only on this element (spec 3.8).
		b = append(b, `<xmlns><code>110</code></xmlns>`...)
	}
	aff, role := "member", "participant"
	switch {
	case p.uid == p.d.OwnerID:
		aff, role = "owner", "moderator"
	case p.d.IsAdmin(p.uid):
		aff, role = "admin", "moderator"
	case !p.d.HasOccupant(p.uid):
		aff, role = "none", "visitor"
	case !p.d.CanPost(p.uid):
		role = "visitor"
	}
	if p.typ == "unavailable" {
		role = "none"
	}
	b = append(b, `<item affiliation="`+aff+`" role="`+role+`"`...)
	if named && p.jid != "" && (!p.d.Settings.WhoisModerators || p.d.IsAdmin(to.userID)) {
		b = appendAttr(b, "jid", p.jid)
	}
	if named && p.newNick != "" {
		b = appendAttr(b, "nick", p.newNick)
	}
	b = append(b, `/>`...)
	for _, c := range p.codes {
		if named || c != "100" && c != "303" { // nick semantics, for nick viewers
			b = append(b, `<status code="`+c+`"/>`...)
		}
	}
	return append(b, `</x></presence>`...)
}

// presenceExtra renders the <show/> and <status/> of a presence to a room,
// checked and bounded, so others see the occupant's availability.
func presenceExtra(e *wire.Element) []byte {
	var b []byte
	if ch, ok := e.Child("show", ""); ok {
		switch v := string(e.Raw[ch.Start:ch.End]); {
		case strings.Contains(v, ">away<"), strings.Contains(v, ">chat<"), strings.Contains(v, ">dnd<"), strings.Contains(v, ">xa<"):
			b = append(b, v[strings.IndexByte(v, '>')+1:strings.LastIndexByte(v, '<')]...)
			b = append(append([]byte("<show>"), b...), "</show>"...)
		}
	}
	if ch, ok := e.Child("status", ""); ok {
		var t string
		if xml.Unmarshal(e.Raw[ch.Start:ch.End], &t) == nil && t != "" {
			if r := []rune(t); len(r) > maxRoomStatus {
				t = string(r[:maxRoomStatus])
			}
			b = append(b, "<status>"+xmlEsc(t)+"</status>"...)
		}
	}
	return b
}

// maxRoomStatus bounds the status text an occupant shows in a room.
const maxRoomStatus = 512

// handleRoomPresence answers presence to room/nick: a join (which may
// create the room), a presence or nick change, and leaving.
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
	if typ == "" && a.resource == "" {
		joinError(StanzaError{stanza.Modify, stanza.JIDMalformed, "Join as room@service/nick."})
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
		if d.IsBanned(c.userID) {
			joinError(StanzaError{stanza.Auth, stanza.Forbidden, "You are banned from this room."})
			return
		}
		if d.Type != dialogs.Public && !d.HasOccupant(c.userID) {
			joinError(errNotOccupant)
			return
		}
		if pw := d.Settings.Password; pw != "" && !d.HasOccupant(c.userID) && !d.IsAdmin(c.userID) && joinPassword(e) != pw {
			joinError(StanzaError{stanza.Auth, stanza.NotAuthorized, "This room asks non-members for its password."})
			return
		}
		remote := s.roomRemote(k)
		if !s.rooms.nickFree(k, c.userID, a.resource) || nickTaken(remote, c.userID, a.resource) {
			joinError(StanzaError{stanza.Cancel, stanza.Conflict, "That nickname is taken in this room (a number is only the nick of the user with that id)."})
			return
		}
		me := occupant{nick: a.resource, extra: presenceExtra(e)}
		others, prev, was := s.rooms.join(k, c, me)
		s.roomEnter(k, c, me)
		p := &roomPresence{room: room, d: d, uid: c.userID, nick: me.nick, jid: c.jid, extra: me.extra}
		if was && prev.nick != me.nick {
			// A nick change (XEP-0045 7.6): the old nick leaves with 303.
			gone := *p
			gone.nick, gone.typ, gone.newNick, gone.codes = prev.nick, "unavailable", me.nick, []string{"303"}
			s.tell(k, others, &gone)
			gone.codes = []string{"303", "110"}
			c.send(s.occupantPresence(&gone, c, me.named(c.userID)), kindPresence)
		}
		if !was {
			for _, o := range others {
				op := &roomPresence{room: room, d: d, uid: o.c.userID, nick: o.nick, jid: o.c.jid, extra: o.extra}
				c.send(s.occupantPresence(op, c, me.named(c.userID)), kindPresence)
			}
			for _, o := range remote {
				op := &roomPresence{room: room, d: d, uid: o.User, nick: o.Nick, jid: o.JID, extra: o.Extra}
				c.send(s.occupantPresence(op, c, me.named(c.userID)), kindPresence)
			}
		}
		s.tell(k, others, p)
		p.id, p.codes = id, []string{"110"}
		if !d.Settings.WhoisModerators {
			p.codes = append(p.codes, "100")
		}
		if created {
			p.codes = append(p.codes, "201")
		}
		c.send(s.occupantPresence(p, c, me.named(c.userID)), kindPresence)
		if !was {
			s.sendRoomHistory(ctx, c, e, d, room, me.named(c.userID))
		}
	case "unavailable":
		others, prev, was := s.rooms.leave(k, c)
		p := &roomPresence{room: room, d: d, uid: c.userID, nick: prev.nick, jid: c.jid, typ: "unavailable"}
		if was {
			s.roomLeave(k, c)
			s.tell(k, others, p)
		}
		// leave() resolves on this answer even if the join was never seen.
		p.id, p.codes = id, []string{"110"}
		if p.nick == "" {
			p.nick = a.resource
		}
		c.send(s.occupantPresence(p, c, occupant{nick: p.nick}.named(c.userID)), kindPresence)
	}
}

// leaveRooms runs when a session ends.
func (s *Server) leaveRooms(c *conn) {
	for _, k := range s.rooms.roomsOf(c) {
		others, prev, _ := s.rooms.leave(k, c)
		d := &dialogs.Dialog{AppID: k.app, ID: k.id}
		if s.cfg.Dialogs != nil {
			ctx, cancel := s.ctx()
			if full, err := s.cfg.Dialogs.Dialog(ctx, k.app, k.id); err == nil {
				d = full
			}
			cancel()
		}
		s.roomLeave(k, c)
		s.tell(k, others, &roomPresence{room: d.RoomAddress(s.muc), d: d, uid: c.userID, nick: prev.nick, jid: c.jid, typ: "unavailable"})
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
	// A public room describes itself to anyone of its app before they join.
	if err != nil || !d.CanRead(c.userID) && !(d.Type == dialogs.Public && typ == "get" && string(ch.NS) == nsDiscoI) {
		return errorStanza("iq", id, to, c.jid, StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such room."})
	}
	appID := d.AppID
	room := d.RoomAddress(s.muc)
	switch {
	case a.resource != "" && typ == "get" && string(ch.NS) == nsPing:
		// MUC self-ping (XEP-0410): the service answers for the occupant;
		// not joined is not-acceptable, so the client knows to rejoin.
		if o, ok := s.rooms.occupantOf(roomKey{appID, d.ID}, c); ok && o.nick == a.resource {
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
		return iqResult(id, room, c.jid, s.roomInfo(d))
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
func (s *Server) sendRoomHistory(ctx context.Context, c *conn, e *wire.Element, d *dialogs.Dialog, room string, named bool) {
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
	n, since := s.roomHistory(d), time.Time{}
	if h := x.History; h != nil {
		if v, err := strconv.Atoi(h.MaxStanzas); err == nil && v >= 0 {
			n = min(v, dialogs.MaxRoomHistory)
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
		var nicks map[int64]string
		if named {
			nicks = s.rooms.nicksOf(roomKey{d.AppID, d.ID})
			for _, o := range s.roomRemote(roomKey{d.AppID, d.ID}) {
				if _, ok := nicks[o.User]; !ok {
					nicks[o.User] = o.Nick
				}
			}
		}
		if err == nil {
			stamp := func(m *history.Message) string {
				return `<delay xmlns="urn:xmpp:delay" from="` + xmlEsc(room) + `" stamp="` + time.Unix(m.DateSent, 0).UTC().Format("2006-01-02T15:04:05Z") + `"/>`
			}
			for i := len(msgs) - 1; i >= 0; i-- {
				m := &msgs[i]
				nick, ok := nicks[m.SenderID]
				if !ok {
					nick = strconv.FormatInt(m.SenderID, 10)
				}
				b := s.HistoryStanza(m, "groupchat", room+"/"+nick, c.jid, room)
				end := len(b) - len("</message>")
				c.send(append(append(b[:end:end], stamp(m)...), "</message>"...), kindMessage)
			}
		}
	}
	c.send(s.roomSubject(d, room, c, named, s.rooms.nicksOf(roomKey{d.AppID, d.ID})), kindMessage)
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

// joinPassword is the <password/> a join presence carries.
func joinPassword(e *wire.Element) string {
	var x struct {
		Password string `xml:"password"`
	}
	if ch, ok := e.Child("x", nsMUC); ok {
		xml.Unmarshal(e.Raw[ch.Start:ch.End], &x)
	}
	return x.Password
}
