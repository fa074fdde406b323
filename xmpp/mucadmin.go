package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/dialogs"
)

// Room administration (XEP-0045 9 and 10) on the dialog rules: members are
// the dialog's occupants, the owner and admins are the dialog's, and a
// change is a dialog update by the requester, so REST and XMPP can never
// disagree about who is in a room.

const (
	nsMUCAdmin = "http://jabber.org/protocol/muc#admin"
	nsMUCOwner = "http://jabber.org/protocol/muc#owner"
	nsData     = "jabber:x:data"
)

func (s *Server) registerRoomAdmin(r *Registry) {
	r.HandleRoomIQ("set", nsMUCAdmin, "query", s.roomAdmin)
	r.HandleRoomIQ("get", nsMUCOwner, "query", s.roomConfigForm)
	r.HandleRoomIQ("set", nsMUCOwner, "query", s.roomConfigure)
}

// roomAdmin changes affiliations (member, none, outcast) and kicks (role
// none), as XEP-0045 9.1-9.6 and 8.2 ask.
func (s *Server) roomAdmin(ctx context.Context, sess Session, d *dialogs.Dialog, iq *IQ) []byte {
	var q struct {
		Items []struct {
			JID         string `xml:"jid,attr"`
			Nick        string `xml:"nick,attr"`
			Affiliation string `xml:"affiliation,attr"`
			Role        string `xml:"role,attr"`
			Reason      string `xml:"reason"`
		} `xml:"item"`
	}
	if xml.Unmarshal(iq.Raw(), &q) != nil || len(q.Items) == 0 {
		return iq.Error(sess, errBadRequest)
	}
	c := sess.(*conn)
	var in dialogs.Input
	var kicks []ousted
	for _, it := range q.Items {
		uid, ok := s.roomUser(c.appID, it.JID)
		if it.JID == "" {
			uid, ok = s.rooms.userOfNick(roomKey{d.AppID, d.ID}, it.Nick)
			if !ok {
				uid, ok = s.roomUser(c.appID, it.Nick) // the SDK's nick: a user id
			}
		}
		if !ok {
			return iq.Error(sess, StanzaError{stanza.Modify, stanza.JIDMalformed, "Name a user of this app by JID or by nick (user id)."})
		}
		switch {
		case it.Affiliation == "member":
			in.PushOccupants = append(in.PushOccupants, uid)
		case it.Affiliation == "none":
			in.PullOccupants = append(in.PullOccupants, uid)
			kicks = append(kicks, ousted{uid, "321"})
		case it.Affiliation == "outcast":
			in.PullOccupants = append(in.PullOccupants, uid)
			kicks = append(kicks, ousted{uid, "301"})
		case it.Role == "none":
			kicks = append(kicks, ousted{uid, "307"})
		default:
			return iq.Error(sess, errFeatureNotImpl)
		}
	}
	if !d.IsAdmin(c.userID) {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner and admins do this."})
	}
	if len(in.PushOccupants)+len(in.PullOccupants) > 0 {
		v, err := s.cfg.Dialogs.Update(ctx, c.appID, c.userID, d.ID, in)
		if err != nil {
			return iq.Error(sess, roomAdminError(err))
		}
		d = &v.Dialog
	}
	room := d.RoomAddress(s.muc)
	for _, r := range kicks {
		s.removeOccupant(d, room, r.uid, r.code)
	}
	return iq.Result(sess, "")
}

func roomAdminError(err error) StanzaError {
	if errors.Is(err, dialogs.ErrForbidden) {
		return StanzaError{stanza.Auth, stanza.Forbidden, "Not allowed (the owner cannot be removed)."}
	}
	return chatError(err)
}

// roomUser reads a user JID (bare or full) or a bare user id.
func (s *Server) roomUser(app int64, who string) (int64, bool) {
	if i := strings.IndexByte(who, '/'); i >= 0 && strings.Contains(who[:i], "@") {
		who = who[:i]
	}
	if !strings.Contains(who, "@") {
		uid, err := strconv.ParseInt(who, 10, 64)
		return uid, err == nil && uid > 0
	}
	a := s.resolve(who)
	return a.user.user, a.kind == addrUser && a.user.app == app
}

// ousted is an occupant put out of a room and the status code saying why:
// 307 kicked, 301 banned, 321 no longer a member.
type ousted struct {
	uid  int64
	code string
}

// removeOccupant ends a user's presence in a room on this node: the user's
// sessions get unavailable with the code, and the others see them go.
func (s *Server) removeOccupant(d *dialogs.Dialog, room string, uid int64, code string) {
	k := roomKey{d.AppID, d.ID}
	s.reg.each(userKey{d.AppID, uid}, func(o *conn) {
		others, prev, was := s.rooms.leave(k, o)
		if !was {
			return
		}
		p := &roomPresence{room: room, d: d, uid: uid, nick: prev.nick, jid: o.jid, typ: "unavailable", codes: []string{"110", code}}
		o.send(s.occupantPresence(p, o, prev.named(uid)), kindPresence)
		p.codes = []string{code}
		for _, x := range others {
			x.c.send(s.occupantPresence(p, x.c, x.named(x.c.userID)), kindPresence)
		}
	})
}

// roomConfigForm answers the owner's request for the configuration form
// (XEP-0045 10.2) with the dialog's settings.
func (s *Server) roomConfigForm(_ context.Context, sess Session, d *dialogs.Dialog, iq *IQ) []byte {
	if !d.IsAdmin(sess.User()) {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner and admins configure it."})
	}
	field := func(v, typ, label, val string) string {
		return `<field var="` + v + `" type="` + typ + `" label="` + label + `"><value>` + xmlEsc(val) + `</value></field>`
	}
	members := "1"
	if d.Type == dialogs.Public {
		members = "0"
	}
	form := `<query xmlns="` + nsMUCOwner + `"><x xmlns="` + nsData + `" type="form"><title>Room configuration</title>` +
		field("FORM_TYPE", "hidden", "", "http://jabber.org/protocol/muc#roomconfig") +
		field("muc#roomconfig_roomname", "text-single", "Name", d.Name) +
		field("muc#roomconfig_roomdesc", "text-single", "Description", d.Description) +
		field("muc#roomconfig_persistentroom", "boolean", "Persistent (a room is a dialog)", "1") +
		field("muc#roomconfig_membersonly", "boolean", "Members only (group dialogs; public dialogs are open)", members) +
		field("muc#roomconfig_publicroom", "boolean", "Listed", "1") +
		field("muc#roomconfig_whois", "list-single", "Who may see real JIDs", "anyone") +
		`</x></query>`
	return iq.Result(sess, form)
}

// roomConfigure takes the submitted form: name and description change the
// dialog; an empty submission (an instant room) and the settings a dialog
// fixes by its type are accepted as they are.
func (s *Server) roomConfigure(ctx context.Context, sess Session, d *dialogs.Dialog, iq *IQ) []byte {
	var q struct {
		X *struct {
			Type   string `xml:"type,attr"`
			Fields []struct {
				Var    string   `xml:"var,attr"`
				Values []string `xml:"value"`
			} `xml:"field"`
		} `xml:"jabber:x:data x"`
	}
	if xml.Unmarshal(iq.Raw(), &q) != nil {
		return iq.Error(sess, errBadRequest)
	}
	if !d.IsAdmin(sess.User()) {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner and admins configure it."})
	}
	if q.X == nil || q.X.Type == "cancel" {
		return iq.Result(sess, "")
	}
	var in dialogs.Input
	for _, f := range q.X.Fields {
		if len(f.Values) == 0 {
			continue
		}
		v := f.Values[0]
		switch f.Var {
		case "muc#roomconfig_roomname":
			in.Name = &v
		case "muc#roomconfig_roomdesc":
			in.Description = &v
		}
	}
	if in.Name == nil && in.Description == nil {
		return iq.Result(sess, "")
	}
	if _, err := s.cfg.Dialogs.Update(ctx, sess.App(), sess.User(), d.ID, in); err != nil {
		return iq.Error(sess, roomAdminError(err))
	}
	return iq.Result(sess, "")
}
