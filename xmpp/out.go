package xmpp

import (
	"strconv"

	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"

	"github.com/parley-chat/parley/xmpp/wire"
)

// Namespaces used on the wire.
const (
	nsClient  = "jabber:client"
	nsStream  = "http://etherx.jabber.org/streams"
	nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsPing    = "urn:xmpp:ping"
	nsDiscoI  = "http://jabber.org/protocol/disco#info"
	nsDiscoIt = "http://jabber.org/protocol/disco#items"
	nsRoster  = "jabber:iq:roster"
	nsVersion = "jabber:iq:version"
	nsChatSt  = "http://jabber.org/protocol/chatstates"
)

var streamUndefined = stream.UndefinedCondition

// legacyCodes are the XEP-0086 numeric codes; the ConnectyCube SDK reads only
// the code attribute and the <text> of an error.
var legacyCodes = map[stanza.Condition]int{
	stanza.BadRequest:            400,
	stanza.NotAuthorized:         401,
	stanza.Forbidden:             403,
	stanza.ItemNotFound:          404,
	stanza.RemoteServerNotFound:  404,
	stanza.RecipientUnavailable:  404,
	stanza.NotAllowed:            405,
	stanza.NotAcceptable:         406,
	stanza.PolicyViolation:       406,
	stanza.Conflict:              409,
	stanza.InternalServerError:   500,
	stanza.ResourceConstraint:    500,
	stanza.FeatureNotImplemented: 501,
	stanza.ServiceUnavailable:    503,
}

// StanzaError describes an error to send back for a stanza.
type StanzaError struct {
	Type      stanza.ErrorType
	Condition stanza.Condition
	Text      string
}

var (
	errServiceUnavailable = StanzaError{stanza.Cancel, stanza.ServiceUnavailable, "Service not available."}
	errBadRequest         = StanzaError{stanza.Modify, stanza.BadRequest, "Malformed stanza."}
	errRemoteServer       = StanzaError{stanza.Cancel, stanza.RemoteServerNotFound, "Remote domains are not served here."}
	errNotAllowed         = StanzaError{stanza.Cancel, stanza.NotAllowed, "Not allowed."}
	errFeatureNotImpl     = StanzaError{stanza.Cancel, stanza.FeatureNotImplemented, "Not implemented."}
	errInternal           = StanzaError{stanza.Wait, stanza.InternalServerError, "Internal server error, try again."}
	errNoSuchUser         = StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such user."}
)

// Errors modules answer with.
var (
	ErrBadRequest         = errBadRequest
	ErrServiceUnavailable = errServiceUnavailable
	ErrInternal           = errInternal
)

// appendOpen writes `<name xmlns="jabber:client" type=.. id=.. from=.. to=..`
// leaving the start tag open.
func appendOpen(dst []byte, name, typ, id, from, to string) []byte {
	dst = append(dst, '<')
	dst = append(dst, name...)
	dst = append(dst, ` xmlns="jabber:client"`...)
	dst = appendAttr(dst, "type", typ)
	dst = appendAttr(dst, "id", id)
	dst = appendAttr(dst, "from", from)
	dst = appendAttr(dst, "to", to)
	return dst
}

func appendAttr(dst []byte, name, val string) []byte {
	if val == "" {
		return dst
	}
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	dst = wire.AppendEscaped(dst, val)
	return append(dst, '"')
}

// errorStanza builds the error reply to a stanza named name with id, sent
// from `from` (the original recipient) to `to` (the original sender).
func errorStanza(name, id, from, to string, e StanzaError) []byte {
	return errorStanzaApp(name, id, from, to, e, "")
}

// errorStanzaApp is errorStanza with an application-specific condition
// element (RFC 6120 8.3.4): raw XML its caller built with escaped values.
func errorStanzaApp(name, id, from, to string, e StanzaError, app string) []byte {
	b := make([]byte, 0, 256+len(app))
	b = appendOpen(b, name, "error", id, from, to)
	b = append(b, `><error type="`...)
	b = append(b, e.Type...)
	b = append(b, '"')
	if code, ok := legacyCodes[e.Condition]; ok {
		b = append(b, ` code="`...)
		b = strconv.AppendInt(b, int64(code), 10)
		b = append(b, '"')
	}
	b = append(b, `><`...)
	b = append(b, e.Condition...)
	b = append(b, ` xmlns="`+nsStanzas+`"/>`...)
	if e.Text != "" {
		b = append(b, `<text xmlns="`+nsStanzas+`">`...)
		b = wire.AppendEscaped(b, e.Text)
		b = append(b, `</text>`...)
	}
	b = append(b, app...)
	b = append(b, `</error></`...)
	b = append(b, name...)
	return append(b, '>')
}

// iqResult builds an IQ result with an optional raw payload.
func iqResult(id, from, to, payload string) []byte {
	b := make([]byte, 0, 128+len(payload))
	b = appendOpen(b, "iq", "result", id, from, to)
	if payload == "" {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = append(b, payload...)
	return append(b, "</iq>"...)
}

// streamError builds a stream error; the stream prefix is declared on the
// element itself so a WebSocket frame parses on its own.
func streamError(cond stream.Error, text string) []byte {
	b := []byte(`<stream:error xmlns:stream="` + nsStream + `"><` + cond.Err + ` xmlns="` + nsStreams + `"/>`)
	if text != "" {
		b = append(b, `<text xmlns="`+nsStreams+`">`...)
		b = wire.AppendEscaped(b, text)
		b = append(b, `</text>`...)
	}
	return append(b, `</stream:error>`...)
}

// rewriteFrom copies a client's stanza with `from` replaced by the sender's
// full JID and the jabber:client namespace made explicit, so the copy stands
// alone in any stream (a WebSocket frame included). Everything else is the
// client's own bytes.
func rewriteFrom(e *wire.Element, from string, streamPrefixes []byte) []byte {
	b := make([]byte, 0, len(e.Raw)+len(from)+40)
	b = append(b, '<')
	b = append(b, e.Name...)
	hasXMLNS := false
	for i := range e.Attrs {
		if string(e.Attrs[i].Name) == "xmlns" {
			hasXMLNS = true
		}
	}
	if !hasXMLNS {
		b = append(b, ` xmlns="jabber:client"`...)
	}
	b = append(b, streamPrefixes...)
	b = appendAttr(b, "from", from)
	for i := range e.Attrs {
		if string(e.Attrs[i].Name) != "from" {
			b = append(b, e.Raw[e.Attrs[i].Start:e.Attrs[i].End]...)
		}
	}
	return append(b, e.Raw[e.TagEnd:]...)
}
