// Package private is Private XML Storage (XEP-0049): a user stores XML
// documents for itself on the server (bookmarks in older clients, client
// settings), one per namespace and element, in package privatexml.
package private

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/xmpp"
)

// NS is the protocol's namespace.
const NS = "jabber:iq:private"

// Module serves private storage.
type Module struct{ docs *privatexml.Storage }

// New serves documents of docs.
func New(docs *privatexml.Storage) *Module { return &Module{docs: docs} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	for _, typ := range []string{"get", "set"} {
		r.HandleIQ(typ, NS, "query", m.handle)
		r.HandleAccountIQ(typ, NS, "query", func(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ) []byte {
			if u.App != s.App() || u.ID != s.User() {
				return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.Forbidden, Text: "Private storage is the owner's only."})
			}
			return m.handle(ctx, s, iq)
		})
	}
	r.Feature(xmpp.ServerEntity, NS)
}

// payload finds the one element inside <query/>: its namespace, name and
// bytes (well-formed: the stanza passed the server's parser).
func payload(raw []byte) (ns, local string, doc []byte, err error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth := 0
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			return "", "", nil, errors.New("no element")
		}
		if err != nil {
			return "", "", nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			depth++
			if depth == 2 {
				if err := d.Skip(); err != nil {
					return "", "", nil, err
				}
				return se.Name.Space, se.Name.Local, raw[off:d.InputOffset()], nil
			}
		}
	}
}

func (m *Module) handle(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	ns, local, doc, err := payload(iq.Raw())
	switch {
	case err != nil || ns == "":
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.BadRequest, Text: "Name the document by one element with its own xmlns."})
	case !bytes.HasPrefix(doc, []byte("<"+local)):
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.BadRequest, Text: "Give the stored element a default xmlns, not a prefix."})
	case ns == NS || ns == "jabber:client" || ns == "jabber:server":
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: "That namespace cannot be stored."})
	}
	o := privatexml.Owner{AppID: s.App(), UserID: s.User()}
	key := privatexml.Key(ns, local)
	if iq.Type == "set" {
		var r *privatexml.Refusal
		switch err := m.docs.Put(ctx, o, key, string(doc)); {
		case errors.As(err, &r):
			return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: r.Msg})
		case err != nil:
			return iq.Error(s, xmpp.ErrInternal)
		}
		return iq.Result(s, "")
	}
	stored, err := m.docs.Get(ctx, o, key)
	if err != nil {
		return iq.Error(s, xmpp.ErrInternal)
	}
	if stored == "" {
		stored = string(doc) // nothing stored: the empty element asked for
	}
	return iq.Result(s, `<query xmlns="`+NS+`">`+stored+`</query>`)
}
