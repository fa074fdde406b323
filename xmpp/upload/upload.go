// Package upload is HTTP File Upload (XEP-0363) at upload.<domain>: a client
// asks for a slot (name, size, type), PUTs the file to the slot's signed
// URL and shares the GET URL. Slots are files of package files, so the
// limits, the content checks and the storage are the REST API's; a file
// shared by URL is readable by whoever has its unguessable URL.
package upload

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/xmpp"
)

// NS is the protocol's namespace.
const NS = "urn:xmpp:http:upload:0"

const (
	nsDiscoInfo  = "http://jabber.org/protocol/disco#info"
	nsDiscoItems = "http://jabber.org/protocol/disco#items"
)

// Module serves upload slots.
type Module struct {
	files *files.Service
	base  string // the HTTP API's address as clients reach it
}

// New serves slots of fs, with URLs under base (e.g. https://chat.example.com).
func New(fs *files.Service, base string) *Module { return &Module{files: fs, base: base} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) { r.Service("upload", "HTTP File Upload", m.handle) }

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

func (m *Module) handle(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	ns, local := string(iq.Payload.NS), string(iq.Payload.Local)
	switch {
	case iq.Type == "get" && ns == nsDiscoInfo && local == "query":
		max := strconv.FormatInt(m.files.Limits().MaxSize, 10)
		return iq.Result(s, `<query xmlns="`+nsDiscoInfo+`"><identity category="store" type="file" name="HTTP File Upload"/>`+
			`<feature var="`+nsDiscoInfo+`"/><feature var="`+NS+`"/>`+
			`<x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>`+NS+`</value></field>`+
			`<field var="max-file-size"><value>`+max+`</value></field></x></query>`)
	case iq.Type == "get" && ns == nsDiscoItems && local == "query":
		return iq.Result(s, `<query xmlns="`+nsDiscoItems+`"/>`)
	case iq.Type == "get" && ns == NS && local == "request":
		return m.slot(ctx, s, iq)
	}
	return iq.Error(s, xmpp.ErrServiceUnavailable)
}

// slot answers a slot request (XEP-0363 4).
func (m *Module) slot(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	name, ct := iq.Attr("filename"), iq.Attr("content-type")
	size, err := strconv.ParseInt(iq.Attr("size"), 10, 64)
	if err != nil || size <= 0 || name == "" {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.BadRequest, Text: "Ask with a filename and a size in bytes."})
	}
	b, t, err := m.files.CreateSlot(ctx, s.App(), s.User(), name, ct, size, true)
	var r *files.Refusal
	switch {
	case errors.As(err, &r) && r.TooLarge:
		max := strconv.FormatInt(m.files.Limits().MaxSize, 10)
		return iq.ErrorWith(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: "The file " + r.Msg + "."},
			`<file-too-large xmlns="`+NS+`"><max-file-size>`+max+`</max-file-size></file-too-large>`)
	case errors.As(err, &r):
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: r.Field + " " + r.Msg})
	case err != nil:
		return iq.Error(s, xmpp.ErrInternal)
	}
	q := url.Values{"uid": {t.UID}, "expires": {strconv.FormatInt(t.Expires, 10)}, "size": {strconv.FormatInt(t.Size, 10)}, "token": {t.Token}}
	put := m.base + "/blobs/upload?" + q.Encode()
	if t.PutURL != "" {
		put = t.PutURL // straight to the bucket
	}
	get := m.base + "/blobs/" + b.UID + "/" + url.PathEscape(b.Name)
	return iq.Result(s, `<slot xmlns="`+NS+`"><put url="`+esc(put)+`"/><get url="`+esc(get)+`"/></slot>`)
}
