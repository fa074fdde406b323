package xmpp

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/internal/xmltext"
)

// This file implements httpapi.Live: changes made over REST reach connected
// clients in the same stanzas a client would have sent.

// toDialog sends b to a dialog's occupants: from the room (as from/<uid>)
// for group dialogs, from uid's JID to the others for private ones.
func (s *Server) toDialog(d *dialogs.Dialog, uid int64, build func(typ, from, to string) []byte) {
	if d.Type == dialogs.Private {
		for _, o := range d.Occupants {
			if o != uid {
				b := build("chat", s.userJID(d.AppID, uid), s.userJID(d.AppID, o))
				s.reg.each(userKey{d.AppID, o}, func(c *conn) { c.send(b, kindMessage) })
			}
		}
		return
	}
	room := d.RoomAddress(s.muc)
	s.fanOutFrom(d, uid, roomCopies{b: build("groupchat", room+"/"+strconv.FormatInt(uid, 10), room)}, kindMessage)
}

func dialogExtra(d *dialogs.Dialog, more string) string {
	return `<extraParams xmlns="jabber:client">` + elem("dialog_id", d.ID) + more + `</extraParams>`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// customXML renders stored custom keys back into extraParams children.
func customXML(v map[string]any) string {
	var b strings.Builder
	for _, k := range sortedKeys(v) {
		if !xmltext.ValidName(k) {
			continue
		}
		switch t := v[k].(type) {
		case map[string]any:
			b.WriteString("<" + k + ">" + customXML(t) + "</" + k + ">")
		default:
			b.WriteString(elem(k, toText(t)))
		}
	}
	return b.String()
}

func toText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	return strings.Trim(strings.TrimSpace(stringify(v)), `"`)
}

func stringify(v any) string {
	switch t := v.(type) {
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// Message implements httpapi.Live: a REST message with send_to_chat=1.
func (s *Server) Message(m *history.Message, d *dialogs.Dialog) {
	extra := storedExtra(m, true)
	s.toDialog(d, m.SenderID, func(typ, from, to string) []byte {
		return stanzaOf(m, extra, typ, from, to, "")
	})
}

// HistoryStanza implements Core.
func (s *Server) HistoryStanza(m *history.Message, typ, from, to, by string) []byte {
	return stanzaOf(m, storedExtra(m, false), typ, from, to, by)
}

// storedExtra renders a stored message's extraParams children.
func storedExtra(m *history.Message, save bool) string {
	var extra strings.Builder
	extra.WriteString(elem("dialog_id", m.DialogID))
	if save {
		extra.WriteString(elem("save_to_history", "1"))
	}
	extra.WriteString(elem("date_sent", strconv.FormatInt(m.DateSent, 10)))
	for _, a := range m.Attachments {
		extra.WriteString("<attachment")
		for _, k := range sortedKeys(a) {
			if xmltext.ValidName(k) {
				extra.WriteString(" " + k + `="` + xmlEsc(a[k]) + `"`)
			}
		}
		extra.WriteString("/>")
	}
	extra.WriteString(customXML(m.Custom))
	return extra.String()
}

// stanzaOf builds the <message/> of a stored message; by, when set, adds
// its stanza-id (XEP-0359).
func stanzaOf(m *history.Message, extra, typ, from, to, by string) []byte {
	b := appendOpen(make([]byte, 0, 256+len(m.Body)+len(extra)), "message", typ, m.ID, from, to)
	b = append(b, '>')
	if m.Body != "" {
		b = append(b, elem("body", m.Body)...)
	}
	b = append(b, `<extraParams xmlns="jabber:client">`+extra+`</extraParams>`...)
	if by != "" {
		b = append(b, `<stanza-id xmlns="`+nsSID+`" id="`+xmlEsc(m.ID)+`" by="`+xmlEsc(by)+`"/>`...)
	}
	return append(b, "</message>"...)
}

// Read implements httpapi.Live: a displayed marker to each sender.
func (s *Server) Read(reader int64, d *dialogs.Dialog, msgs []history.Message) {
	for _, m := range msgs {
		if m.SenderID == reader {
			continue
		}
		b := appendOpen(make([]byte, 0, 256), "message", "chat", dialogs.NewID(time.Now()), s.userJID(d.AppID, reader), s.userJID(d.AppID, m.SenderID))
		b = append(b, `><displayed xmlns="`+nsMarkers+`" id="`+xmlEsc(m.ID)+`"/>`+dialogExtra(d, "")+`</message>`...)
		s.reg.each(userKey{d.AppID, m.SenderID}, func(c *conn) { c.send(b, kindMessage) })
	}
}

// Removed implements httpapi.Live: a <remove/> per deleted message.
func (s *Server) Removed(by int64, d *dialogs.Dialog, ids []string) {
	for _, id := range ids {
		s.toDialog(d, by, func(typ, from, to string) []byte {
			b := appendOpen(make([]byte, 0, 256), "message", typ, dialogs.NewID(time.Now()), from, to)
			return append(b, `>`+removal(id)+dialogExtra(d, "")+`</message>`...)
		})
	}
}

// removal tells clients a message was deleted for everyone, in the
// ConnectyCube SDK's form and as a XEP-0424 retraction for standard clients.
func removal(id string) string {
	id = xmlEsc(id)
	return `<remove xmlns="` + nsDelete + `" id="` + id + `"/><retract xmlns="` + nsRetract + `" id="` + id + `"/>`
}

// Reaction implements httpapi.Live, in the format of spec 3.7.
func (s *Server) Reaction(uid int64, d *dialogs.Dialog, m *history.Message, add, remove string) {
	var r strings.Builder
	r.WriteString(`<reactions user_id="` + strconv.FormatInt(uid, 10) + `" message_id="` + xmlEsc(m.ID) + `">`)
	if add != "" {
		r.WriteString(`<reaction add="true" type="` + xmlEsc(add) + `"/>`)
	}
	if remove != "" {
		r.WriteString(`<reaction remove="true" type="` + xmlEsc(remove) + `"/>`)
	}
	r.WriteString(`</reactions>`)
	s.toDialog(d, uid, func(typ, from, to string) []byte {
		b := appendOpen(make([]byte, 0, 256), "message", typ, dialogs.NewID(time.Now()), from, to)
		return append(b, ">"+dialogExtra(d, "")+r.String()+"</message>"...)
	})
}

// System implements httpapi.Live: a SystemNotifications headline.
func (s *Server) System(appID, from, to int64, id string, ext map[string]string) {
	var x strings.Builder
	x.WriteString(elem("moduleIdentifier", "SystemNotifications"))
	for _, k := range sortedKeys(ext) {
		if xmltext.ValidName(k) && k != "moduleIdentifier" {
			x.WriteString(elem(k, ext[k]))
		}
	}
	b := appendOpen(make([]byte, 0, 256), "message", "headline", id, s.userJID(appID, from), s.userJID(appID, to))
	b = append(b, `><extraParams xmlns="jabber:client">`+x.String()+`</extraParams></message>`...)
	s.reg.each(userKey{appID, to}, func(c *conn) { c.send(b, kindMessage) })
}
