// Package carbons is XEP-0280 Message Carbons: a session that enables them
// gets a copy of the chat messages its user's other resources send, and of
// those addressed to another one of its user's full JIDs.
//
// A message sent to the bare JID already reaches every resource, so it
// gets no received carbon (the ConnectyCube SDK mis-parses received
// carbons, spec 3.5); <private/> and <no-copy/> opt a message out.
package carbons

import (
	"context"
	"sync"

	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/wire"
)

// Namespaces.
const (
	NS        = "urn:xmpp:carbons:2"
	nsForward = "urn:xmpp:forward:0"
	nsHints   = "urn:xmpp:hints"
)

// Module keeps which sessions enabled carbons.
type Module struct {
	core    xmpp.Core
	enabled sync.Map // xmpp.Session -> struct{}
}

// New returns the carbons module.
func New() *Module { return &Module{} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.Feature(xmpp.ServerEntity, NS)
	r.HandleIQ("set", NS, "enable", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		m.enabled.Store(s, struct{}{})
		return iq.Result(s, "")
	})
	r.HandleIQ("set", NS, "disable", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		m.enabled.Delete(s)
		return iq.Result(s, "")
	})
	r.OnSessionEnd(func(s xmpp.Session) { m.enabled.Delete(s) })
	r.OnChat(m.copy)
}

func (m *Module) on(s xmpp.Session) bool { _, ok := m.enabled.Load(s); return ok }

// copy sends the sent and received carbons of a routed chat message.
func (m *Module) copy(from xmpp.Session, to xmpp.User, resource string, e *wire.Element, out []byte) {
	if noCopy(e) {
		return
	}
	m.core.EachSession(xmpp.User{App: from.App(), ID: from.User()}, func(o xmpp.Session) {
		if o != from && m.on(o) {
			o.Send(carbon("sent", from.Bare(), o.JID(), out))
		}
	})
	if resource == "" {
		return
	}
	bare := m.core.UserJID(to)
	m.core.EachSession(to, func(o xmpp.Session) {
		if o.Resource() != resource && m.on(o) {
			o.Send(carbon("received", bare, o.JID(), out))
		}
	})
}

func noCopy(e *wire.Element) bool {
	_, private := e.Child("private", NS)
	_, nocopy := e.Child("no-copy", nsHints)
	return private || nocopy
}

// carbon wraps a relayed message for another resource of the same user.
func carbon(kind, bare, to string, inner []byte) []byte {
	b := make([]byte, 0, len(inner)+256)
	b = append(b, `<message xmlns="jabber:client" type="chat" from="`...)
	b = xmltext.AppendEscaped(b, bare)
	b = append(b, `" to="`...)
	b = xmltext.AppendEscaped(b, to)
	b = append(b, `"><`+kind+` xmlns="`+NS+`"><forwarded xmlns="`+nsForward+`">`...)
	b = append(b, inner...)
	return append(b, `</forwarded></`+kind+`></message>`...)
}
