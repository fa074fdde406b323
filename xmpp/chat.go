package xmpp

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/quota"
	"github.com/parley-chat/parley/xmpp/wire"
)

// Namespaces of the message extensions the chat model reads.
const (
	nsMarkers = "urn:xmpp:chat-markers:0"
	nsCorrect = "urn:xmpp:message-correct:0"
	nsDelete  = "urn:xmpp:message-delete:0"
	nsRetract = "urn:xmpp:message-retract:1"
)

// chatMessage is what Parley reads out of a <message/>.
type chatMessage struct {
	typ, id     string
	body        string
	hasBody     bool
	extra       *wire.Child // <extraParams/>
	save        bool
	dialogID    string
	attachments []map[string]string
	custom      map[string]any
	markerKind  string // history.Delivered or history.Read
	markerID    string
	replaceID   string
	removeID    string
	typing      bool
	// postedDialog is the dialog the chat model filed the message in.
	postedDialog string
	// stanzaID is the <stanza-id/> (XEP-0359) of a message the archive
	// stored: its id is the message's _id in the REST API and in MAM.
	stanzaID string
}

const nsSID = "urn:xmpp:sid:0"

// stripStanzaIDs drops the stanza ids a client put into its message: only
// the archive that stores a message assigns them (XEP-0359 3.3), so a
// client cannot pass off its own.
func stripStanzaIDs(raw []byte, e *wire.Element) []byte {
	out := make([]byte, 0, len(raw))
	prev := 0
	for _, ch := range e.Children {
		if string(ch.Local) == "stanza-id" && string(ch.NS) == nsSID {
			out = append(out, raw[prev:ch.Start]...)
			prev = ch.End
		}
	}
	return append(out, raw[prev:]...)
}

// archived sets the stanza id a stored message carries when relayed; by is
// the archive's owner (the recipient's bare JID, or the room's).
func (m *chatMessage) archived(p *history.Posted, by string) {
	if p.Stored {
		m.stanzaID = `<stanza-id xmlns="` + nsSID + `" id="` + xmlEsc(p.Message.ID) + `" by="` + xmlEsc(by) + `"/>`
	}
}

// content reports a message that is stored and counted: text or files.
func (m *chatMessage) content() bool {
	return (m.hasBody || len(m.attachments) > 0) && m.replaceID == "" && m.removeID == "" && m.markerKind == ""
}

// readChat extracts the chat model's parts of e.
func readChat(e *wire.Element) *chatMessage {
	m := &chatMessage{}
	m.typ, _ = e.Attr("type")
	m.id, _ = e.Attr("id")
	for i := range e.Children {
		ch := &e.Children[i]
		local, ns := string(ch.Local), string(ch.NS)
		switch {
		case local == "body" && ns == nsClient:
			m.body, m.hasBody = innerText(e.Raw[ch.Start:ch.End]), true
		case local == "extraParams":
			m.extra = ch
			m.readExtra(e.Raw[ch.Start:ch.End])
		case ns == nsMarkers && (local == "received" || local == "displayed"):
			m.markerKind = history.Delivered
			if local == "displayed" {
				m.markerKind = history.Read
			}
			m.markerID = attrOf(e.Raw[ch.Start:ch.End], "id")
		case ns == nsCorrect && local == "replace":
			m.replaceID = attrOf(e.Raw[ch.Start:ch.End], "id")
		case ns == nsDelete && local == "remove", ns == nsRetract && local == "retract":
			// The SDK's remove and XEP-0424 retraction are one thing here:
			// delete for everyone, by the author (or a room moderator).
			m.removeID = attrOf(e.Raw[ch.Start:ch.End], "id")
		case ns == nsChatSt:
			m.typing = true
		}
	}
	return m
}

// readExtra decodes extraParams: save_to_history and dialog_id steer the
// server, attachments become attribute maps, anything else is kept as a
// string or, when it has children, a nested map.
func (m *chatMessage) readExtra(raw []byte) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	if _, err := d.Token(); err != nil { // <extraParams>
		return
	}
	for {
		t, err := d.Token()
		if err != nil {
			return
		}
		start, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		name := start.Name.Local
		if name == "attachment" {
			a := map[string]string{}
			for _, at := range start.Attr {
				a[at.Name.Local] = at.Value
			}
			m.attachments = append(m.attachments, a)
			d.Skip()
			continue
		}
		v, err := decodeValue(d)
		if err != nil {
			return
		}
		switch name {
		case "save_to_history":
			s, _ := v.(string)
			m.save = s == "1" || s == "true"
		case "dialog_id":
			m.dialogID, _ = v.(string)
		case "date_sent", "moduleIdentifier":
			// Stamped by the server / routing only.
		default:
			if m.custom == nil {
				m.custom = map[string]any{}
			}
			if v != "" {
				m.custom[name] = v
			}
		}
	}
}

// decodeValue reads the rest of an element: its text, or a map of its
// children.
func decodeValue(d *xml.Decoder) (any, error) {
	var text strings.Builder
	var kids map[string]any
	for {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			text.Write(t)
		case xml.StartElement:
			v, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			if kids == nil {
				kids = map[string]any{}
			}
			kids[t.Name.Local] = v
		case xml.EndElement:
			if kids != nil {
				return kids, nil
			}
			return strings.TrimSpace(text.String()), nil
		}
	}
}

// innerText returns the unescaped text content of a simple element.
func innerText(raw []byte) string {
	i := bytes.IndexByte(raw, '>')
	if i < 0 || raw[i-1] == '/' {
		return ""
	}
	j := bytes.LastIndex(raw, []byte("</"))
	if j <= i {
		return ""
	}
	inner := raw[i+1 : j]
	if bytes.Contains(inner, []byte("<![CDATA[")) {
		var s struct {
			Text string `xml:",chardata"`
		}
		xml.Unmarshal(raw, &s)
		return s.Text
	}
	return wire.Unescape(inner)
}

// attrOf reads one attribute of an element's start tag.
func attrOf(raw []byte, name string) string {
	d := xml.NewDecoder(bytes.NewReader(raw))
	t, err := d.Token()
	if err != nil {
		return ""
	}
	if s, ok := t.(xml.StartElement); ok {
		for _, a := range s.Attr {
			if a.Name.Local == name {
				return a.Value
			}
		}
	}
	return ""
}

const extraOpen, extraClose = `<extraParams xmlns="jabber:client">`, `</extraParams>`

// relayBytes copies e for relaying: from replaced, jabber:client explicit,
// extra appended inside extraParams (which is created when missing), and
// the message's stanza id, if the archive stored it, as its last child.
func relayBytes(e *wire.Element, from string, prefixes []byte, m *chatMessage, extra string) []byte {
	out := rewriteFrom(e, from, prefixes)
	tail := m.stanzaID
	if extra == "" && tail == "" || e.SelfClosing {
		return out
	}
	// Offsets in out are those of e.Raw shifted by the rewritten start tag.
	shift := len(out) - len(e.Raw)
	end := bytes.LastIndex(out, []byte("</"))
	if end < 0 {
		return out
	}
	// One allocation of the final size: this runs for every relayed message.
	b := make([]byte, 0, len(out)+len(extra)+len(extraOpen)+len(extraClose)+len(tail))
	switch {
	case extra == "":
		b = append(b, out[:end]...)
	case m.extra != nil && bytes.HasSuffix(e.Raw[m.extra.Start:m.extra.End], []byte("/>")):
		at := m.extra.End - 2 + shift
		b = append(append(append(append(b, out[:at]...), '>'), extra...), extraClose...)
		b = append(b, out[at+2:end]...)
	case m.extra != nil:
		at := bytes.LastIndex(e.Raw[:m.extra.End], []byte("</")) + shift
		b = append(append(append(b, out[:at]...), extra...), out[at:end]...)
	default:
		b = append(append(append(append(b, out[:end]...), extraOpen...), extra...), extraClose...)
	}
	b = append(b, tail...)
	return append(b, out[end:]...)
}

func elem(name, text string) string {
	return "<" + name + ">" + xmlEsc(text) + "</" + name + ">"
}

func (s *Server) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

var errNotOccupant = StanzaError{stanza.Auth, stanza.Forbidden, "Not occupant"}

// chatError maps a history or dialogs error to a stanza error.
func chatError(err error) StanzaError {
	switch {
	case errors.Is(err, history.ErrForbidden), errors.Is(err, dialogs.ErrForbidden):
		return StanzaError{stanza.Auth, stanza.Forbidden, "You are not allowed to do this."}
	case errors.Is(err, history.ErrNotFound), errors.Is(err, dialogs.ErrNotFound):
		return StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such dialog or message."}
	case errors.Is(err, history.ErrInvalid):
		return errBadRequest
	case errors.Is(err, dialogs.ErrBlocked):
		return errBlocked
	case errors.Is(err, dialogs.ErrNoSuchUser):
		return errNoSuchUser
	}
	if se, ok := QuotaError(err); ok {
		return se
	}
	var fr *files.Refusal
	if errors.As(err, &fr) {
		return StanzaError{stanza.Modify, stanza.NotAcceptable, fr.Field + " " + fr.Msg}
	}
	return errInternal
}

// chatToUser applies the chat model to a 1-1 message before it is relayed
// and returns what to add to extraParams, or ok false when it must not be
// relayed (an error was sent back).
func (s *Server) chatToUser(c *conn, e *wire.Element, m *chatMessage, to userKey) (extra string, stored, ok bool) {
	defer func() {
		if m.dialogID == "" && m.postedDialog != "" {
			m.dialogID = m.postedDialog
		}
	}()
	if s.cfg.History == nil || (m.typ != "chat" && m.typ != "normal" && m.typ != "") {
		return "", false, true
	}
	ctx, cancel := s.ctx()
	defer cancel()
	refuse := func(se StanzaError) (string, bool, bool) {
		c.send(errorStanza("message", m.id, "", c.jid, se), kindMessage)
		return "", false, false
	}
	acts := m.markerKind != "" && m.markerID != "" || m.replaceID != "" || m.removeID != ""
	var pair *dialogs.Dialog // loaded once, handed on to Send
	if acts || m.content() && m.dialogID != "" {
		d, se, ok := s.pairDialog(ctx, c, to, m)
		if !ok {
			return refuse(se)
		}
		m.dialogID, pair = "", d
		if d != nil {
			m.dialogID = d.ID
		}
	}
	switch {
	case m.markerKind != "" && m.markerID != "":
		// Receipts are relayed as sent; a failure to record one (no dialog
		// of the two) is not the sender's problem.
		if m.dialogID != "" {
			s.cfg.History.Receipt(ctx, c.appID, c.userID, m.dialogID, m.markerKind, []string{m.markerID})
		}
		return "", false, true
	case m.dialogID == "" && (m.replaceID != "" || m.removeID != ""):
		return refuse(errNoSuchMessage)
	case m.replaceID != "":
		if _, _, err := s.cfg.History.Edit(ctx, c.appID, c.userID, m.dialogID, m.replaceID, m.body); err != nil {
			return refuse(chatError(err))
		}
		return "", false, true
	case m.removeID != "":
		_, notFound, wrong, err := s.cfg.History.Delete(ctx, c.appID, c.userID, m.dialogID, []string{m.removeID}, true)
		if err == nil && len(notFound) > 0 {
			err = history.ErrNotFound
		}
		if err != nil || len(wrong) > 0 {
			return refuse(chatError(cmpErr(err, history.ErrForbidden)))
		}
		return "", false, true
	case !m.content():
		return "", false, true
	}
	posted, err := s.cfg.History.Send(ctx, c.appID, c.userID, history.Post{
		ID: m.id, DialogID: m.dialogID, Dialog: pair, RecipientID: to.user, Body: m.body,
		Attachments: m.attachments, Custom: m.custom, Save: s.archives(c, to, m),
	})
	if err != nil {
		c.send(errorStanza("message", m.id, "", c.jid, chatError(err)), kindMessage)
		return "", false, false
	}
	if posted.Duplicate {
		return "", true, false
	}
	m.postedDialog = posted.Dialog.ID
	m.archived(posted, s.userJID(to.app, to.user))
	return s.stamp(m, posted), posted.Stored, true
}

// QuotaError is the stanza error for a limit a user reached (a rate: wait;
// a cap: modify), with the message that names the limit and its setting.
func QuotaError(err error) (StanzaError, bool) {
	var qe *quota.Error
	if !errors.As(err, &qe) {
		return StanzaError{}, false
	}
	typ := stanza.Modify
	if qe.Rate {
		typ = stanza.Wait
	}
	return StanzaError{typ, stanza.PolicyViolation, qe.Msg}, true
}

// archives reports whether a content message is stored: when its sender
// asks (save_to_history, ConnectyCube's rule) or when the app archives
// every message (what MAM clients expect) and neither party's preferences
// refuse a 1-1 message. The stanza id is the message's key, so a message
// without one is stored only under archive-all, with an id the server
// gives it; to is the recipient of a 1-1 message (zero for a room).
func (s *Server) archives(c *conn, to userKey, m *chatMessage) bool {
	if m.save && m.id != "" {
		return true
	}
	if !s.archiveAll(c.appID) {
		return false
	}
	if to.user != 0 && s.cfg.Archiving != nil {
		ctx, cancel := s.ctx()
		refused := s.cfg.Archiving.Refuses(ctx, c.appID, c.userID, c.bare, to.user, s.userJID(to.app, to.user))
		cancel()
		if refused {
			return false
		}
	}
	if m.id == "" {
		m.id = dialogs.NewID(time.Now())
	}
	return true
}

// archiveAll reads an app's archiving policy, cached for a while: it is
// asked for every message.
func (s *Server) archiveAll(app int64) bool {
	if s.cfg.Accounts == nil {
		return false
	}
	now := time.Now().UnixNano()
	if v, ok := s.policies.Load(app); ok {
		if p := v.(appPolicy); p.until > now {
			return p.all
		}
	}
	ctx, cancel := s.ctx()
	defer cancel()
	a, err := s.cfg.Accounts.App(ctx, app)
	all := err == nil && a.ArchiveAll
	s.policies.Store(app, appPolicy{all: all, until: now + int64(30*time.Second)})
	return all
}

type appPolicy struct {
	all   bool
	until int64
}

var errNoSuchMessage = StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such message."}

// pairDialog is the dialog a 1-1 message from c to `to` acts in. Content,
// edits and removals belong to the pair's private dialog (a dialog_id naming
// any other dialog is refused); a marker may name any dialog both can read
// (the SDK sends read status for group messages 1-1 to their sender).
// Without a dialog_id it is the pair's private dialog, "" when they have
// none: message ids are only unique within a dialog, so nothing is ever
// looked up across dialogs.
func (s *Server) pairDialog(ctx context.Context, c *conn, to userKey, m *chatMessage) (*dialogs.Dialog, StanzaError, bool) {
	marker := m.markerKind != ""
	if m.dialogID == "" {
		d, err := s.cfg.Dialogs.Private(ctx, c.appID, c.userID, to.user)
		if err != nil {
			if errors.Is(err, dialogs.ErrNotFound) {
				return nil, StanzaError{}, true
			}
			return nil, errInternal, false
		}
		return d, StanzaError{}, true
	}
	d, err := s.cfg.Dialogs.Dialog(ctx, c.appID, m.dialogID)
	if err != nil {
		return nil, chatError(err), false
	}
	switch {
	case marker && d.CanRead(c.userID) && d.CanRead(to.user):
	case !marker && d.Type == dialogs.Private && d.HasOccupant(c.userID) && d.HasOccupant(to.user):
	default:
		return nil, StanzaError{stanza.Auth, stanza.Forbidden, "dialog_id names a dialog this message does not belong to."}, false
	}
	return d, StanzaError{}, true
}

func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// stamp is the extraParams a relayed content message gains.
func (s *Server) stamp(m *chatMessage, p *history.Posted) string {
	var b strings.Builder
	if m.dialogID == "" {
		b.WriteString(elem("dialog_id", p.Dialog.ID))
	}
	b.WriteString(elem("date_sent", strconv.FormatInt(p.Message.DateSent, 10)))
	return b.String()
}

// routeGroup handles a message to a room: the dialog's occupants get it from
// room/<sender id>, with no join needed.
func (s *Server) routeGroup(c *conn, e *wire.Element, local string) {
	m := readChat(e)
	fail := func(se StanzaError) {
		if m.typ != "error" {
			to, _ := e.Attr("to")
			c.send(errorStanza("message", m.id, to, c.jid, se), kindMessage)
		}
	}
	ctx, cancel := s.ctx()
	defer cancel()
	d, err := s.roomOf(ctx, c.appID, local)
	if err != nil {
		fail(chatError(err))
		return
	}
	appID := d.AppID
	if _, ok := e.Child("x", nsMUCUser); ok && m.typ != "groupchat" && m.typ != "error" {
		if se := s.invite(ctx, c, d, e); se.Condition != "" {
			fail(se)
		}
		return
	}
	if !d.CanPost(c.userID) {
		switch {
		case d.HasOccupant(c.userID):
			fail(StanzaError{stanza.Auth, stanza.Forbidden, "You have no voice in this room."})
		case d.Type == dialogs.Broadcast:
			fail(errNotOccupant)
		default:
			// XEP-0045 7.4: a message from outside the room is not acceptable.
			fail(StanzaError{stanza.Modify, stanza.NotAcceptable, "Not occupant"})
		}
		return
	}
	if _, ok := e.Child("subject", ""); ok && m.typ == "groupchat" && !m.content() {
		if se := s.changeSubject(ctx, c, d, e); se.Condition != "" {
			fail(se)
		}
		return
	}
	if d.Type == dialogs.Private && s.cfg.Dialogs.Refuses(ctx, appID, c.userID, d.PeerOf(c.userID)) {
		fail(errBlocked) // the room address of a private dialog is no way around a block
		return
	}
	extra := ""
	switch {
	case m.replaceID != "":
		if _, _, err := s.cfg.History.Edit(ctx, appID, c.userID, d.ID, m.replaceID, m.body); err != nil {
			fail(chatError(err))
			return
		}
	case m.removeID != "":
		_, notFound, wrong, err := s.cfg.History.Delete(ctx, appID, c.userID, d.ID, []string{m.removeID}, true)
		if err == nil && len(notFound) > 0 {
			err = history.ErrNotFound
		}
		if err != nil || len(wrong) > 0 {
			fail(chatError(cmpErr(err, history.ErrForbidden)))
			return
		}
	case m.content():
		m.dialogID = ""
		posted, err := s.cfg.History.Send(ctx, appID, c.userID, history.Post{ID: m.id, DialogID: d.ID, Dialog: d, Body: m.body,
			Attachments: m.attachments, Custom: m.custom, Save: s.archives(c, userKey{}, m)})
		if err != nil {
			fail(chatError(err))
			return
		}
		if posted.Duplicate {
			return
		}
		extra = s.stamp(m, posted)
		m.archived(posted, d.RoomAddress(s.muc))
	}
	room := d.RoomAddress(s.muc)
	k := roomKey{d.AppID, d.ID}
	out := roomCopies{b: relayBytes(e, room+"/"+strconv.FormatInt(c.userID, 10), c.prefixes, m, extra), room: k}
	if o, ok := s.rooms.occupantOf(k, c); ok && o.named(c.userID) {
		// Sessions that chose nicks see the sender's; the SDK sees its id.
		out.named = s.rooms.namedSessions(k)
		out.nb = relayBytes(e, room+"/"+o.nick, c.prefixes, m, extra)
	}
	if m.typing && !m.content() {
		var to []int64
		for _, uid := range d.Recipients() {
			if uid != c.userID && !s.groupBlocks(d.AppID, uid, c.userID) {
				to = append(to, uid)
				s.reg.each(userKey{d.AppID, uid}, func(o *conn) {
					if !o.inactive.Load() {
						o.send(out.of(o), kindMessage)
					}
				})
			}
		}
		if s.cluster != nil {
			s.sendRemoteAs(d.AppID, to, "", out.delivery(kindMessage, true))
		}
		return
	}
	s.fanOutFrom(d, c.userID, out, kindMessage)
	if m.content() {
		s.routed(&Routed{From: c, Room: d, Type: "groupchat", ID: m.id, DialogID: d.ID, Body: m.body, Custom: m.custom})
	}
}

// roomCopies is a room message as each session sees it: b names the sender
// by user id; nb, when set, by nick, for the named sessions.
type roomCopies struct {
	b, nb []byte
	named map[*conn]struct{}
	room  roomKey
}

// delivery is the copies for other nodes, which pick for their sessions.
func (rc roomCopies) delivery(k stanzaKind, typing bool) cluster.Delivery {
	return cluster.Delivery{Kind: uint8(k), Typing: typing, Data: rc.b, Named: rc.nb, NamedApp: rc.room.app, NamedDialog: rc.room.id}
}

func (rc roomCopies) of(o *conn) []byte {
	if rc.nb != nil {
		if _, ok := rc.named[o]; ok {
			return rc.nb
		}
	}
	return rc.b
}

// fanOutFrom is fanOut that skips members whose privacy list blocks the
// sender in groups: their copies are silently not delivered.
func (s *Server) fanOutFrom(d *dialogs.Dialog, sender int64, rc roomCopies, k stanzaKind) {
	if rc.nb == nil && (s.cfg.Privacy == nil || d.Type == dialogs.Broadcast) {
		s.fanOut(d, rc.b, k)
		return
	}
	to := make([]int64, 0, len(d.Recipients()))
	for _, uid := range d.Recipients() {
		if s.cfg.Privacy == nil || d.Type == dialogs.Broadcast || !s.groupBlocks(d.AppID, uid, sender) {
			to = append(to, uid)
		}
	}
	for _, uid := range to {
		s.reg.each(userKey{d.AppID, uid}, func(o *conn) { o.send(rc.of(o), k) })
	}
	if s.cluster != nil {
		s.sendRemoteAs(d.AppID, to, "", rc.delivery(k, false))
	}
}

// toUsers queues b to every session of the users, here and on other nodes
// (one delivery per node).
func (s *Server) toUsers(app int64, users []int64, b []byte, k stanzaKind) {
	for _, uid := range users {
		s.reg.each(userKey{app, uid}, func(o *conn) { o.send(b, k) })
	}
	if s.cluster != nil {
		s.sendRemote(app, users, "", b, k, false)
	}
}

// fanOut queues b to every online resource of every occupant (every user
// of the app for a broadcast dialog).
func (s *Server) fanOut(d *dialogs.Dialog, b []byte, k stanzaKind) {
	if d.Type == dialogs.Broadcast {
		s.reg.eachApp(d.AppID, func(o *conn) { o.send(b, k) })
		return
	}
	s.toUsers(d.AppID, d.Recipients(), b, k)
}
