package xmpp

import (
	"context"
	"encoding/xml"
	"slices"
	"strconv"
	"strings"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/xmpp/wire"
)

// A room's life beyond messages: its disco#info (XEP-0045 6.4), subject
// (8.1), mediated invitations (7.8) and destruction (10.9). Each is a
// dialog operation by the requester, so the dialog rules decide.

// roomInfo answers disco#info of a room: features from its settings and
// the muc#roominfo form.
func (s *Server) roomInfo(d *dialogs.Dialog) string {
	var b strings.Builder
	b.WriteString(`<query xmlns="` + nsDiscoI + `"><identity category="conference" type="text" name="` + xmlEsc(d.Name) + `"/><feature var="` + nsMUC + `"/>`)
	feats := []string{"muc_persistent", "muc_membersonly", "muc_public", "muc_unmoderated", "muc_nonanonymous", "muc_unsecured"}
	if d.Type == dialogs.Public {
		feats[1], feats[3] = "muc_open", "muc_moderated"
	}
	if d.Settings.Hidden {
		feats[2] = "muc_hidden"
	}
	if d.Settings.WhoisModerators {
		feats[4] = "muc_semianonymous"
	}
	if d.Settings.Password != "" {
		feats[5] = "muc_passwordprotected"
	}
	feats = append(feats, s.modules.features[RoomEntity]...)
	for _, f := range feats {
		b.WriteString(`<feature var="` + xmlEsc(f) + `"/>`)
	}
	field := func(v, label, val string) {
		b.WriteString(`<field var="` + v + `" label="` + label + `"><value>` + xmlEsc(val) + `</value></field>`)
	}
	b.WriteString(`<x xmlns="` + nsData + `" type="result">`)
	field("FORM_TYPE", "", "http://jabber.org/protocol/muc#roominfo")
	field("muc#roominfo_description", "Description", d.Description)
	field("muc#roominfo_subject", "Subject", d.Settings.Subject)
	field("muc#roominfo_occupants", "Members", strconv.Itoa(len(d.Occupants)))
	field("muc#roomconfig_roomname", "Name", d.Name)
	field("muc#roomconfig_changesubject", "Members may change the subject", "0")
	b.WriteString(`</x></query>`)
	return b.String()
}

// roomSubject is the subject message that ends a join or announces a
// change, from the nick or id that set it as viewer sees it.
func (s *Server) roomSubject(d *dialogs.Dialog, room string, to *conn, named bool, nicks map[int64]string) []byte {
	from := room
	if by := d.Settings.SubjectBy; by != 0 {
		from = room + "/" + strconv.FormatInt(by, 10)
		if n, ok := nicks[by]; ok && named {
			from = room + "/" + n
		}
	}
	b := appendOpen(make([]byte, 0, 192+len(d.Settings.Subject)), "message", "groupchat", "", from, to.jid)
	b = append(b, `><subject>`...)
	b = append(b, xmlEsc(d.Settings.Subject)...)
	return append(b, `</subject></message>`...)
}

// changeSubject takes a groupchat <subject/> from c: the owner and admins
// may change it; those in the room on this node who chose nicks are told
// (the ConnectyCube SDK reads no subjects).
func (s *Server) changeSubject(ctx context.Context, c *conn, d *dialogs.Dialog, e *wire.Element) StanzaError {
	ch, _ := e.Child("subject", "")
	var subject string
	if xml.Unmarshal(e.Raw[ch.Start:ch.End], &subject) != nil {
		return errBadRequest
	}
	if !d.IsAdmin(c.userID) {
		return StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner and admins change its subject."}
	}
	st := d.Settings
	st.Subject, st.SubjectBy = strings.TrimSpace(subject), c.userID
	v, err := s.cfg.Dialogs.Update(ctx, c.appID, c.userID, d.ID, dialogs.Input{Settings: &st})
	if err != nil {
		return roomAdminError(err)
	}
	d = &v.Dialog
	k := roomKey{d.AppID, d.ID}
	room := d.RoomAddress(s.muc)
	s.showSubject(k, d, room)
	s.toRoomNodes(k, cluster.Occupancy{Room: room, Type: "subject"})
	return StanzaError{}
}

// showSubject sends the room's subject to the sessions in it on this node
// that chose nicks.
func (s *Server) showSubject(k roomKey, d *dialogs.Dialog, room string) {
	nicks := s.rooms.nicksOf(k)
	for o := range s.rooms.namedSessions(k) {
		o.send(s.roomSubject(d, room, o, true, nicks), kindMessage)
	}
}

// maxInvites bounds the invitations one message carries.
const maxInvites = 10

// invite relays mediated invitations (XEP-0045 7.8.2) and declines (7.8.3)
// sent to the room. Inviting to a members-only room makes the invitee a
// member, so only those who may add members (the owner and admins) invite
// there; in a public room any occupant may.
func (s *Server) invite(ctx context.Context, c *conn, d *dialogs.Dialog, e *wire.Element) StanzaError {
	var x struct {
		Invites []struct {
			To     string `xml:"to,attr"`
			Reason string `xml:"reason"`
		} `xml:"invite"`
		Decline *struct {
			To     string `xml:"to,attr"`
			Reason string `xml:"reason"`
		} `xml:"decline"`
	}
	ch, _ := e.Child("x", nsMUCUser)
	if xml.Unmarshal(e.Raw[ch.Start:ch.End], &x) != nil || len(x.Invites) > maxInvites || len(x.Invites) == 0 && x.Decline == nil {
		return StanzaError{stanza.Modify, stanza.BadRequest, "Send one to " + strconv.Itoa(maxInvites) + " <invite to=…/> or one <decline to=…/>."}
	}
	room := d.RoomAddress(s.muc)
	reason := func(r string) string {
		if r = strings.TrimSpace(r); r == "" {
			return ""
		}
		if rs := []rune(r); len(rs) > maxRoomStatus {
			r = string(rs[:maxRoomStatus])
		}
		return `<reason>` + xmlEsc(r) + `</reason>`
	}
	send := func(uid int64, payload string) {
		b := appendOpen(make([]byte, 0, 256), "message", "", "", room, s.userJID(d.AppID, uid))
		b = append(b, `><x xmlns="`+nsMUCUser+`">`...)
		b = append(b, payload...)
		b = append(b, `</x></message>`...)
		if k := (userKey{d.AppID, uid}); s.deliver(k, "", b, kindMessage) == 0 && s.cfg.Offline != nil {
			s.storeOffline(k, b) // an invitation waits for its invitee
		}
	}
	if x.Decline != nil {
		uid, ok := s.roomUser(c.appID, x.Decline.To)
		if !ok || !d.HasOccupant(uid) {
			return StanzaError{stanza.Cancel, stanza.ItemNotFound, "Decline to the member who invited you."}
		}
		send(uid, `<decline from="`+xmlEsc(c.bare)+`">`+reason(x.Decline.Reason)+`</decline>`)
		return StanzaError{}
	}
	if !d.CanRead(c.userID) || d.Type == dialogs.Private {
		return errNotOccupant
	}
	var uids []int64
	for _, inv := range x.Invites {
		uid, ok := s.roomUser(c.appID, inv.To)
		if !ok || !s.userExists(userKey{c.appID, uid}) {
			return StanzaError{stanza.Cancel, stanza.ItemNotFound, "Invite users of this app by JID: " + inv.To + " is not one."}
		}
		uids = append(uids, uid)
	}
	if d.Type != dialogs.Public {
		add := slices.DeleteFunc(slices.Clone(uids), d.HasOccupant)
		if len(add) > 0 {
			if _, err := s.cfg.Dialogs.Update(ctx, c.appID, c.userID, d.ID, dialogs.Input{PushOccupants: add}); err != nil {
				return roomAdminError(err)
			}
		}
	}
	for i, uid := range uids {
		pw := ""
		if d.Settings.Password != "" {
			pw = `<password>` + xmlEsc(d.Settings.Password) + `</password>`
		}
		send(uid, `<invite from="`+xmlEsc(c.bare)+`">`+reason(x.Invites[i].Reason)+`</invite>`+pw)
	}
	return StanzaError{}
}

// destroyRoom ends a room at its owner's request (XEP-0045 10.9): the
// dialog is deleted for everyone and those in the room are told why.
func (s *Server) destroyRoom(ctx context.Context, sess Session, d *dialogs.Dialog, iq *IQ, reason string) []byte {
	if sess.User() != d.OwnerID {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner destroys it."})
	}
	r, err := s.cfg.Dialogs.Delete(ctx, sess.App(), sess.User(), []string{d.ID}, true)
	if err != nil || len(r.Deleted) != 1 {
		return iq.Error(sess, roomAdminError(cmpErr(err, dialogs.ErrForbidden)))
	}
	if rs := []rune(reason); len(rs) > maxRoomStatus {
		reason = string(rs[:maxRoomStatus])
	}
	destroy := `<destroy>`
	if reason != "" {
		destroy += `<reason>` + xmlEsc(reason) + `</reason>`
	}
	destroy += `</destroy>`
	room := d.RoomAddress(s.muc)
	s.roomDestroyed(roomKey{d.AppID, d.ID}, d, room, destroy)
	if s.cluster != nil {
		k := roomKey{d.AppID, d.ID}
		s.toRoomNodes(k, cluster.Occupancy{Room: room, Type: "destroyed", Reason: destroy})
		ctx, cancel := s.ctx()
		s.cluster.DropRoom(ctx, k.app, k.id)
		cancel()
	}
	return iq.Result(sess, "")
}

// roomDestroyed tells the sessions in the room on this node that it is
// gone (destroy is the rendered <destroy/>).
func (s *Server) roomDestroyed(k roomKey, d *dialogs.Dialog, room, destroy string) {
	for _, o := range s.rooms.drain(k) {
		p := &roomPresence{room: room, d: d, uid: o.c.userID, nick: o.nick, typ: "unavailable", codes: []string{"110"}}
		b := s.occupantPresence(p, o.c, o.named(o.c.userID))
		o.c.send([]byte(strings.Replace(string(b), `</x></presence>`, destroy+`</x></presence>`, 1)), kindPresence)
	}
}

// routeOccupant relays a private message to room/nick (XEP-0045 7.5)
// between sessions in the room on this node: from the sender's nick (or id,
// for a viewer by ids), marked as MUC, and not archived.
func (s *Server) routeOccupant(c *conn, e *wire.Element, a address) {
	typ, _ := e.Attr("type")
	id, _ := e.Attr("id")
	to, _ := e.Attr("to")
	fail := func(se StanzaError) {
		if typ != "error" {
			c.send(errorStanza("message", id, to, c.jid, se), kindMessage)
		}
	}
	if typ == "groupchat" {
		fail(StanzaError{stanza.Modify, stanza.BadRequest, "Send groupchat messages to the room's bare JID."})
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	d, err := s.roomOf(ctx, c.appID, a.local)
	if err != nil {
		fail(chatError(err))
		return
	}
	k := roomKey{d.AppID, d.ID}
	me, ok := s.rooms.occupantOf(k, c)
	if !ok {
		fail(StanzaError{stanza.Modify, stanza.NotAcceptable, "Join the room to send private messages in it."})
		return
	}
	targets := s.rooms.withNick(k, a.resource)
	var remote []cluster.Occupant
	for _, o := range s.roomRemote(k) {
		if o.Nick == a.resource {
			remote = append(remote, o)
		}
	}
	var uid int64
	switch {
	case len(targets) > 0:
		uid = targets[0].c.userID
	case len(remote) > 0:
		uid = remote[0].User
	}
	if uid == 0 || s.groupBlocks(d.AppID, uid, c.userID) {
		fail(StanzaError{stanza.Cancel, stanza.ItemNotFound, "No one in the room has that nick."})
		return
	}
	room := d.RoomAddress(s.muc)
	render := func(to string, named bool) []byte {
		from := room + "/" + strconv.FormatInt(c.userID, 10)
		if named {
			from = room + "/" + me.nick
		}
		b := wire.WithTo(rewriteFrom(e, from, c.prefixes), to)
		if i := strings.LastIndex(string(b), "</message>"); i >= 0 {
			b = append(b[:i:i], `<x xmlns="`+nsMUCUser+`"/></message>`...)
		}
		return b
	}
	for _, t := range targets {
		t.c.send(render(t.c.jid, t.named(t.c.userID)), kindMessage)
	}
	for _, o := range remote {
		if i := strings.IndexByte(o.JID, '/'); i > 0 {
			s.sendRemote(d.AppID, []int64{o.User}, o.JID[i+1:], render(o.JID, occupant{nick: o.Nick}.named(o.User)), kindMessage, false)
		}
	}
}
