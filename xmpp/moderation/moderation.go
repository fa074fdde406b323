// Package moderation is XEP-0425 Message Moderation: a room's moderator
// (the dialog's owner or an admin) retracts someone's message. It is the
// same delete-for-everyone as the REST delete with force and the SDK's
// remove: the message leaves the archive, and every occupant is told with a
// XEP-0424 retraction (moderated, with the reason) and the SDK's <remove/>.
package moderation

import (
	"context"
	"errors"
	"strconv"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/xmpp"
)

// Namespaces.
const (
	NS        = "urn:xmpp:message-moderate:1"
	nsRetract = "urn:xmpp:message-retract:1"
	nsDelete  = "urn:xmpp:message-delete:0"
)

// Module moderates room messages in an archive.
type Module struct {
	archive *history.Archive
	core    xmpp.Core
}

// New returns the module over archive.
func New(archive *history.Archive) *Module { return &Module{archive: archive} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.Feature(xmpp.RoomEntity, NS)
	r.HandleRoomIQ("set", NS, "moderate", m.moderate)
}

func (m *Module) moderate(ctx context.Context, s xmpp.Session, d *dialogs.Dialog, iq *xmpp.IQ) []byte {
	id := iq.Attr("id")
	if id == "" {
		return iq.Error(s, xmpp.ErrBadRequest)
	}
	if !d.IsAdmin(s.User()) {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "Only the room's owner and admins moderate."})
	}
	_, notFound, wrong, err := m.archive.Delete(ctx, s.App(), s.User(), d.ID, []string{id}, true)
	switch {
	case err != nil && !errors.Is(err, history.ErrNotFound):
		return iq.Error(s, xmpp.ErrInternal)
	case err != nil || len(notFound) > 0:
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such message in this room."})
	case len(wrong) > 0:
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "Not allowed."})
	}
	room := m.core.RoomJID(d)
	reason := ""
	if raw := iq.Raw(); len(raw) > 0 {
		reason = childText(raw, "reason")
	}
	b := make([]byte, 0, 512)
	b = append(b, `<message xmlns="jabber:client" type="groupchat" id="`...)
	b = append(b, dialogs.NewID(timeNow())...)
	b = append(b, `" from="`...)
	b = xmltext.AppendEscaped(b, room)
	b = append(b, `"><retract xmlns="`+nsRetract+`" id="`...)
	b = xmltext.AppendEscaped(b, id)
	b = append(b, `"><moderated xmlns="`+NS+`" by="`...)
	b = xmltext.AppendEscaped(b, room+"/"+strconv.FormatInt(s.User(), 10))
	b = append(b, `"/>`...)
	if reason != "" {
		b = append(b, `<reason>`...)
		b = xmltext.AppendEscaped(b, reason)
		b = append(b, `</reason>`...)
	}
	b = append(b, `</retract><remove xmlns="`+nsDelete+`" id="`...)
	b = xmltext.AppendEscaped(b, id)
	b = append(b, `"/><extraParams xmlns="jabber:client"><dialog_id>`...)
	b = xmltext.AppendEscaped(b, d.ID)
	b = append(b, `</dialog_id></extraParams></message>`...)
	m.core.ToRoom(d, b)
	return iq.Result(s, "")
}
