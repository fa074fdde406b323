package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strconv"
	"strings"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/cluster"
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
	r.HandleRoomIQ("get", nsMUCAdmin, "query", s.roomList)
	r.HandleRoomIQ("get", nsMUCOwner, "query", s.roomConfigForm)
	r.HandleRoomIQ("set", nsMUCOwner, "query", s.roomConfigure)
}

// maxAdminItems bounds the changes one muc#admin request makes.
const maxAdminItems = 100

// roomAdmin changes affiliations (member, admin, none, outcast) and roles
// (kick, voice, moderator), as XEP-0045 8 and 9 ask, as dialog updates:
// admin and moderator make a dialog admin, a revoked voice is kept in the
// room settings.
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
	if xml.Unmarshal(iq.Raw(), &q) != nil || len(q.Items) == 0 || len(q.Items) > maxAdminItems {
		return iq.Error(sess, StanzaError{stanza.Modify, stanza.BadRequest, "Send 1 to " + strconv.Itoa(maxAdminItems) + " items."})
	}
	c := sess.(*conn)
	var in dialogs.Input
	var kicks []ousted
	var changed []int64
	st := d.Settings
	st.Voiceless, st.Banned = slices.Clone(st.Voiceless), slices.Clone(st.Banned)
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
			if slices.Contains(d.Admins, uid) {
				in.PullAdmins = append(in.PullAdmins, uid)
			}
			changed = append(changed, uid)
		case it.Affiliation == "admin", it.Role == "moderator":
			in.PushOccupants = append(in.PushOccupants, uid)
			in.PushAdmins = append(in.PushAdmins, uid)
			changed = append(changed, uid)
		case it.Role == "visitor":
			if d.IsAdmin(uid) {
				return iq.Error(sess, StanzaError{stanza.Cancel, stanza.NotAllowed, "The owner and admins keep their voice."})
			}
			if !slices.Contains(st.Voiceless, uid) {
				st.Voiceless = append(st.Voiceless, uid)
			}
			in.Settings, changed = &st, append(changed, uid)
		case it.Role == "participant":
			st.Voiceless = slices.DeleteFunc(st.Voiceless, func(v int64) bool { return v == uid })
			if !d.HasOccupant(uid) {
				in.PushOccupants = append(in.PushOccupants, uid) // voice in a public room: a subscriber
			}
			if slices.Contains(d.Admins, uid) {
				in.PullAdmins = append(in.PullAdmins, uid)
			}
			in.Settings, changed = &st, append(changed, uid)
		case it.Affiliation == "none":
			in.PullOccupants = append(in.PullOccupants, uid)
			st.Banned = slices.DeleteFunc(st.Banned, func(v int64) bool { return v == uid })
			in.Settings = &st
			kicks = append(kicks, ousted{uid, "321"})
		case it.Affiliation == "outcast":
			if uid == d.OwnerID {
				return iq.Error(sess, StanzaError{stanza.Cancel, stanza.NotAllowed, "The owner cannot be banned."})
			}
			in.PullOccupants = append(in.PullOccupants, uid)
			if !slices.Contains(st.Banned, uid) {
				st.Banned = append(st.Banned, uid)
			}
			in.Settings = &st
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
	if len(in.PushOccupants)+len(in.PullOccupants)+len(in.PushAdmins)+len(in.PullAdmins) > 0 || in.Settings != nil {
		v, err := s.cfg.Dialogs.Update(ctx, c.appID, c.userID, d.ID, in)
		if err != nil {
			return iq.Error(sess, roomAdminError(err))
		}
		d = &v.Dialog
	}
	room := d.RoomAddress(s.muc)
	for _, r := range kicks {
		s.oust(d, room, r.uid, r.code)
	}
	for _, uid := range changed {
		s.occupantChanged(d, room, uid)
		s.toRoomNodes(roomKey{d.AppID, d.ID}, cluster.Occupancy{Room: room, Type: "changed", Occupant: cluster.Occupant{User: uid}})
	}
	return iq.Result(sess, "")
}

// occupantChanged tells those in the room a user's new affiliation or
// role, for the user's sessions on this node.
func (s *Server) occupantChanged(d *dialogs.Dialog, room string, uid int64) {
	k := roomKey{d.AppID, d.ID}
	for _, o := range s.sessionsOf(userKey{d.AppID, uid}) {
		me, ok := s.rooms.occupantOf(k, o)
		if !ok {
			continue
		}
		others, _, _ := s.rooms.join(k, o, me)
		p := &roomPresence{room: room, d: d, uid: uid, nick: me.nick, jid: o.jid, extra: me.extra}
		s.tell(k, others, p)
		p.codes = []string{"110"}
		o.send(s.occupantPresence(p, o, me.named(uid)), kindPresence)
	}
}

// roomList answers a request for a list by affiliation or role (XEP-0045
// 9.5, 10.5): members, admins, the owner, moderators, or those silenced.
func (s *Server) roomList(_ context.Context, sess Session, d *dialogs.Dialog, iq *IQ) []byte {
	var q struct {
		Item struct {
			Affiliation string `xml:"affiliation,attr"`
			Role        string `xml:"role,attr"`
		} `xml:"item"`
	}
	if xml.Unmarshal(iq.Raw(), &q) != nil {
		return iq.Error(sess, errBadRequest)
	}
	if !d.IsAdmin(sess.User()) && !d.HasOccupant(sess.User()) {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only members see the room's lists."})
	}
	var b strings.Builder
	b.WriteString(`<query xmlns="` + nsMUCAdmin + `">`)
	item := func(uid int64, aff, role string) {
		b.WriteString(`<item jid="` + xmlEsc(s.userJID(d.AppID, uid)) + `" affiliation="` + aff + `" role="` + role + `"/>`)
	}
	switch it := q.Item; {
	case it.Affiliation == "owner":
		item(d.OwnerID, "owner", "moderator")
	case it.Affiliation == "admin", it.Role == "moderator":
		for _, a := range d.Admins {
			item(a, "admin", "moderator")
		}
		if it.Role == "moderator" {
			item(d.OwnerID, "owner", "moderator")
		}
	case it.Affiliation == "member":
		for _, m := range d.Occupants {
			if !d.IsAdmin(m) {
				item(m, "member", "participant")
			}
		}
	case it.Role == "visitor":
		for _, m := range d.Settings.Voiceless {
			item(m, "member", "visitor")
		}
	case it.Affiliation == "outcast":
		for _, m := range d.Settings.Banned {
			item(m, "outcast", "none")
		}
	default:
		return iq.Error(sess, StanzaError{stanza.Modify, stanza.BadRequest, "Ask for one affiliation or role."})
	}
	b.WriteString(`</query>`)
	return iq.Result(sess, b.String())
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

// oust puts a user out of a room on every node.
func (s *Server) oust(d *dialogs.Dialog, room string, uid int64, code string) {
	s.removeOccupant(d, room, uid, code)
	s.toRoomNodes(roomKey{d.AppID, d.ID}, cluster.Occupancy{Room: room, Type: "ousted", Occupant: cluster.Occupant{User: uid}, Codes: []string{code}})
}

// removeOccupant ends a user's presence in a room on this node: the user's
// sessions get unavailable with the code, and the others see them go.
func (s *Server) removeOccupant(d *dialogs.Dialog, room string, uid int64, code string) {
	k := roomKey{d.AppID, d.ID}
	for _, o := range s.sessionsOf(userKey{d.AppID, uid}) {
		others, prev, was := s.rooms.leave(k, o)
		if !was {
			continue
		}
		s.roomLeave(k, o)
		p := &roomPresence{room: room, d: d, uid: uid, nick: prev.nick, jid: o.jid, typ: "unavailable", codes: []string{"110", code}}
		o.send(s.occupantPresence(p, o, prev.named(uid)), kindPresence)
		p.codes = []string{code}
		s.tell(k, others, p)
	}
}

// roomConfigForm answers the owner's request for the configuration form
// (XEP-0045 10.2) with the dialog's settings. What the dialog's type fixes
// (members-only for group dialogs, open and moderated for public ones) is
// shown and may be submitted unchanged.
func (s *Server) roomConfigForm(_ context.Context, sess Session, d *dialogs.Dialog, iq *IQ) []byte {
	if !d.IsAdmin(sess.User()) {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner and admins configure it."})
	}
	var b strings.Builder
	field := func(v, typ, label string, vals ...string) {
		b.WriteString(`<field var="` + v + `" type="` + typ + `" label="` + xmlEsc(label) + `">`)
		for _, val := range vals {
			b.WriteString(`<value>` + xmlEsc(val) + `</value>`)
		}
		if v == "muc#roomconfig_whois" {
			b.WriteString(`<option label="Moderators"><value>moderators</value></option><option label="Anyone"><value>anyone</value></option>`)
		}
		b.WriteString(`</field>`)
	}
	st := &d.Settings
	whois := "anyone"
	if st.WhoisModerators {
		whois = "moderators"
	}
	b.WriteString(`<query xmlns="` + nsMUCOwner + `"><x xmlns="` + nsData + `" type="form"><title>Room configuration</title>`)
	field("FORM_TYPE", "hidden", "", nsRoomConfig)
	field("muc#roomconfig_roomname", "text-single", "Name", d.Name)
	field("muc#roomconfig_roomdesc", "text-single", "Description", d.Description)
	field("muc#roomconfig_persistentroom", "boolean", "Persistent (a room is a dialog)", "1")
	field("muc#roomconfig_membersonly", "boolean", "Members only (a group dialog; a public one is open)", boolValue(d.Type != dialogs.Public))
	field("muc#roomconfig_moderatedroom", "boolean", "Only members may speak (public dialogs)", boolValue(d.Type == dialogs.Public))
	field("muc#roomconfig_publicroom", "boolean", "Listed in the directory", boolValue(!st.Hidden))
	field("muc#roomconfig_passwordprotectedroom", "boolean", "Password asked of non-members", boolValue(st.Password != ""))
	field("muc#roomconfig_roomsecret", "text-private", "Password", st.Password)
	field("muc#roomconfig_whois", "list-single", "Who may see real JIDs", whois)
	field("muc#roomconfig_historylength", "text-single", "Messages sent on join", strconv.Itoa(s.roomHistory(d)))
	field("muc#roomconfig_changesubject", "boolean", "Members may change the subject", "0")
	b.WriteString(`</x></query>`)
	return iq.Result(sess, b.String())
}

const nsRoomConfig = "http://jabber.org/protocol/muc#roomconfig"

func boolValue(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

func formBool(v string) bool { return v == "1" || v == "true" }

// roomConfigure takes the submitted form into the dialog (name and
// description) and its room settings; an empty submission (an instant
// room) or a cancel leaves the room as it is. A value the dialog's type
// fixes cannot be changed here.
func (s *Server) roomConfigure(ctx context.Context, sess Session, d *dialogs.Dialog, iq *IQ) []byte {
	var q struct {
		X *struct {
			Type   string `xml:"type,attr"`
			Fields []struct {
				Var    string   `xml:"var,attr"`
				Values []string `xml:"value"`
			} `xml:"field"`
		} `xml:"jabber:x:data x"`
		Destroy *struct {
			Reason string `xml:"reason"`
		} `xml:"destroy"`
	}
	if xml.Unmarshal(iq.Raw(), &q) != nil {
		return iq.Error(sess, errBadRequest)
	}
	if q.Destroy != nil {
		return s.destroyRoom(ctx, sess, d, iq, q.Destroy.Reason)
	}
	if !d.IsAdmin(sess.User()) {
		return iq.Error(sess, StanzaError{stanza.Auth, stanza.Forbidden, "Only the room's owner and admins configure it."})
	}
	if q.X == nil || q.X.Type == "cancel" {
		return iq.Result(sess, "")
	}
	in := dialogs.Input{}
	st := d.Settings
	st.Voiceless, st.Banned = slices.Clone(st.Voiceless), slices.Clone(st.Banned)
	protect := st.Password != ""
	fixed := func(v string, want bool) StanzaError {
		return StanzaError{stanza.Modify, stanza.NotAcceptable, v + " follows the dialog's type: " + boolValue(want) + " here (a group dialog is members-only, a public one open)."}
	}
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
		case "muc#roomconfig_membersonly":
			if formBool(v) != (d.Type != dialogs.Public) {
				return iq.Error(sess, fixed(f.Var, d.Type != dialogs.Public))
			}
		case "muc#roomconfig_moderatedroom":
			if formBool(v) != (d.Type == dialogs.Public) {
				return iq.Error(sess, fixed(f.Var, d.Type == dialogs.Public))
			}
		case "muc#roomconfig_persistentroom":
			if !formBool(v) {
				return iq.Error(sess, StanzaError{stanza.Modify, stanza.NotAcceptable, "Rooms are dialogs and always persistent."})
			}
		case "muc#roomconfig_publicroom":
			st.Hidden = !formBool(v)
		case "muc#roomconfig_passwordprotectedroom":
			protect = formBool(v)
		case "muc#roomconfig_roomsecret":
			st.Password = v
		case "muc#roomconfig_whois":
			st.WhoisModerators = v == "moderators"
		case "muc#roomconfig_historylength", "muc#maxhistoryfetch":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > dialogs.MaxRoomHistory {
				return iq.Error(sess, StanzaError{stanza.Modify, stanza.NotAcceptable, "History length is 0 to " + strconv.Itoa(dialogs.MaxRoomHistory) + "."})
			}
			st.History = n
		}
	}
	if !protect {
		st.Password = ""
	} else if st.Password == "" {
		return iq.Error(sess, StanzaError{stanza.Modify, stanza.NotAcceptable, "A password-protected room needs muc#roomconfig_roomsecret."})
	}
	in.Settings = &st
	if _, err := s.cfg.Dialogs.Update(ctx, sess.App(), sess.User(), d.ID, in); err != nil {
		return iq.Error(sess, roomAdminError(err))
	}
	return iq.Result(sess, "")
}

// roomHistory is how many messages a join without <history/> gets.
func (s *Server) roomHistory(d *dialogs.Dialog) int {
	if d.Settings.History > 0 {
		return d.Settings.History
	}
	return defaultRoomHistory
}
