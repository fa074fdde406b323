package xmpp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"strings"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmpp/stream"

	"github.com/parley-chat/parley/xmpp/wire"
)

// maxAuthFailures is how many failed SASL attempts a stream gets before it
// is closed (RFC 6120 6.4.5 asks for a small number of retries).
const maxAuthFailures = 3

// negotiate runs stream negotiation up to a bound resource. It reports false
// when the connection should end.
func (c *conn) negotiate() bool {
	authed := false
	failures := 0
	c.resetReader(false)
	var p wire.Parser
	var e wire.Element
	for {
		if !c.openStream(&p, &e, authed) {
			return false
		}
	restart:
		for {
			kind, b, err := c.next()
			if err != nil {
				c.failRead(err)
				return false
			}
			switch kind {
			case wire.KindSpace:
				continue
			case wire.KindStreamClose:
				c.closeStream(nil)
				return false
			case wire.KindStreamOpen:
				c.fail(stream.NotWellFormed, "")
				return false
			}
			p.DefaultNS = []byte(nsClient)
			p.Prefixes = c.rootNS
			if err := p.Parse(b, &e); err != nil {
				c.fail(stream.NotWellFormed, "")
				return false
			}
			local, ns := string(e.Local), string(e.NS)
			switch {
			case c.framed() && local == "close" && ns == nsFraming:
				c.closeStream(nil)
				return false
			case local == "starttls" && ns == nsTLS && !c.secure && c.transport == transportTCP:
				if !c.startTLS() {
					return false
				}
				c.resetReader(false)
				break restart
			case local == "auth" && ns == nsSASL && c.secure && !authed:
				ok, keep := c.authenticate(&p, &e)
				if !keep {
					return false
				}
				if ok {
					authed = true
					// The client may pipeline its new stream header: keep it.
					c.resetReader(true)
					break restart
				}
				failures++
				if failures >= maxAuthFailures {
					c.fail(stream.PolicyViolation, "too many failed authentication attempts")
					return false
				}
			case authed && local == "resume" && ns == nsSM:
				if c.resume(&e) {
					return true
				}
			case authed && local == "iq" && ns == nsClient:
				if child, ok := e.Child("bind", nsBind); ok {
					return c.bind(&e, child)
				}
				if _, ok := e.Child("session", nsSession); ok {
					id, _ := e.Attr("id")
					c.writeNow(iqResult(id, c.srv.cfg.Domain, "", ""))
					continue
				}
				c.fail(stream.NotAuthorized, "bind a resource first")
				return false
			case !c.secure && !authed:
				c.fail(stream.PolicyViolation, "STARTTLS is required")
				return false
			default:
				c.fail(stream.NotAuthorized, "")
				return false
			}
		}
	}
}

// openStream reads the client's stream header (or RFC 7395 <open/>), checks
// it and answers with ours and the features for the current state.
func (c *conn) openStream(p *wire.Parser, e *wire.Element, authed bool) bool {
	var kind wire.Kind
	var b []byte
	var err error
	for {
		kind, b, err = c.next()
		if err != nil {
			if errors.Is(err, wire.ErrSyntax) || errors.Is(err, wire.ErrRestricted) {
				c.writeNow(c.header(""))
			}
			c.failRead(err)
			return false
		}
		if kind != wire.KindSpace {
			break
		}
	}
	id := randomID(16)
	p.DefaultNS = nil
	p.Prefixes = nil
	if c.framed() {
		if kind != wire.KindElement || p.Parse(b, e) != nil || string(e.Local) != "open" || string(e.NS) != nsFraming {
			c.writeNow(c.header(id))
			c.fail(stream.InvalidNamespace, "expected an RFC 7395 <open/>")
			return false
		}
	} else {
		if kind != wire.KindStreamOpen {
			c.writeNow(c.header(id))
			c.fail(stream.NotWellFormed, "expected a stream header")
			return false
		}
		// Parse the header start tag as an empty element.
		if i := strings.LastIndex(string(b), "<"); i > 0 {
			b = b[i:]
		}
		hdr := append(append(make([]byte, 0, len(b)+1), b[:len(b)-1]...), "/>"...)
		if err := p.Parse(hdr, e); err != nil || string(e.Local) != "stream" || string(e.NS) != nsStream {
			c.writeNow(c.header(id))
			c.fail(stream.InvalidNamespace, "expected a stream header in "+nsStream)
			return false
		}
		if ns, ok := e.Attr("xmlns"); ok && ns != nsClient {
			c.writeNow(c.header(id))
			c.fail(stream.InvalidNamespace, "this port serves jabber:client")
			return false
		}
		c.prefixes, c.rootNS = nil, nil
		for _, a := range e.Attrs {
			name := string(a.Name)
			if strings.HasPrefix(name, "xmlns:") && name != "xmlns:stream" {
				if c.rootNS == nil {
					c.rootNS = map[string][]byte{}
				}
				c.rootNS[name[6:]] = []byte(wire.Unescape(a.Value))
				c.prefixes = append(c.prefixes, e.Raw[a.Start:a.End]...)
			}
		}
	}
	if v, ok := e.Attr("version"); !ok || !strings.HasPrefix(v, "1.") {
		c.writeNow(c.header(id))
		c.fail(stream.UnsupportedVersion, "version 1.0 is required")
		return false
	}
	if to, _ := e.Attr("to"); !c.servesHost(to) {
		c.writeNow(c.header(id))
		c.fail(stream.HostUnknown, "this server serves "+c.srv.cfg.Domain)
		return false
	}
	hdr := c.header(id)
	feats := c.features(authed)
	if c.framed() {
		return c.writeNow(hdr, feats) == nil
	}
	return c.writeNow(append(hdr, feats...)) == nil
}

// servesHost reports whether a stream's `to` names this server. Over
// WebSocket the ConnectyCube SDK sends the URL's host name (spec 1.1), so the
// Host the client connected to is accepted as well.
func (c *conn) servesHost(to string) bool {
	if to == "" {
		return true
	}
	if strings.EqualFold(to, c.srv.cfg.Domain) {
		return true
	}
	return c.framed() && c.wsHost != "" && strings.EqualFold(to, c.wsHost)
}

func (c *conn) header(id string) []byte {
	if id == "" {
		id = randomID(16)
	}
	if c.framed() {
		return []byte(`<open xmlns="` + nsFraming + `" id="` + id + `" from="` + xmlEsc(c.srv.cfg.Domain) + `" version="1.0" xml:lang="en"/>`)
	}
	return []byte(`<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="` + nsStream + `" id="` + id + `" from="` + xmlEsc(c.srv.cfg.Domain) + `" version="1.0" xml:lang="en">`)
}

func (c *conn) features(authed bool) []byte {
	b := []byte(`<stream:features xmlns:stream="` + nsStream + `">`)
	switch {
	case !c.secure:
		b = append(b, `<starttls xmlns="`+nsTLS+`"><required/></starttls>`...)
	case !authed:
		b = append(b, `<mechanisms xmlns="`+nsSASL+`">`...)
		for _, m := range mechanismNames {
			b = append(b, "<mechanism>"+m+"</mechanism>"...)
		}
		b = append(b, `</mechanisms>`...)
	default:
		b = append(b, `<bind xmlns="`+nsBind+`"/><session xmlns="`+nsSession+`"><optional/></session><sm xmlns="`+nsSM+`"/><csi xmlns="`+nsCSI+`"/>`...)
		if c.srv.rosterVer {
			b = append(b, `<ver xmlns="urn:xmpp:features:rosterver"/>`...) // RFC 6121 2.6
		}
	}
	return append(b, `</stream:features>`...)
}

func (c *conn) startTLS() bool {
	if c.srv.cfg.TLS == nil {
		c.writeNow([]byte(`<failure xmlns="` + nsTLS + `"/>`))
		c.closeStream(nil)
		return false
	}
	if c.writeNow([]byte(`<proceed xmlns="`+nsTLS+`"/>`)) != nil {
		return false
	}
	tc := tls.Server(c.nc, c.srv.cfg.TLS)
	c.nc.SetDeadline(time.Now().Add(c.srv.cfg.NegotiationTimeout))
	if err := tc.Handshake(); err != nil {
		c.nc.Close()
		return false
	}
	c.nc.SetDeadline(time.Time{})
	c.nc = tc
	c.secure = true
	return true
}

// authenticate runs one SASL exchange started by <auth/>. ok reports
// success; keep is false when the connection must end.
func (c *conn) authenticate(p *wire.Parser, e *wire.Element) (ok, keep bool) {
	mech, _ := e.Attr("mechanism")
	failure := func(cond, text string) (bool, bool) {
		c.srv.metrics.loginFail.Inc()
		b := `<failure xmlns="` + nsSASL + `"><` + cond + `/>`
		if text != "" {
			b += `<text xml:lang="en">` + xmlEsc(text) + `</text>`
		}
		return false, c.writeNow([]byte(b+`</failure>`)) == nil
	}
	if !c.srv.authLim.allow(c.ip) {
		return failure("temporary-auth-failure", "too many login attempts, slow down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := authResult{guard: c.srv.cfg.LoginGuard, ip: c.ip}
	m, known := newMechanism(ctx, mech, c.srv.cfg.Auth, &res)
	if !known {
		return failure("invalid-mechanism", "")
	}
	var n *sasl.Negotiator
	if mech == "PLAIN" {
		n = sasl.NewServer(m, plainPermissions(ctx, c.srv.cfg.Auth, &res))
	} else {
		n = sasl.NewServer(m, nil)
	}
	data, present, err := saslPayload(e)
	if err != nil {
		return failure("incorrect-encoding", "")
	}
	if !present {
		// No initial response: ask for it with an empty challenge.
		if c.writeNow([]byte(`<challenge xmlns="`+nsSASL+`"/>`)) != nil {
			return false, false
		}
		if data, ok = c.saslResponse(p, e); !ok {
			return failure("aborted", "")
		}
	}
	for {
		more, resp, err := n.Step(data)
		if res.limited > 0 {
			c.srv.loginRefused(c, res.limited)
			return failure("temporary-auth-failure", "too many failed logins, retry in "+res.limited.String())
		}
		if err != nil {
			return failure("not-authorized", "")
		}
		if !more {
			if res.userID == 0 {
				return failure("not-authorized", "")
			}
			c.appID, c.userID = res.appID, res.userID
			c.token.Store(res.session)
			if !res.expires.IsZero() {
				c.tokenExp.Store(res.expires.UnixNano())
			}
			c.srv.metrics.loginOK.Inc()
			b := `<success xmlns="` + nsSASL + `"`
			if len(resp) > 0 {
				b += `>` + base64.StdEncoding.EncodeToString(resp) + `</success>`
			} else {
				b += `/>`
			}
			return true, c.writeNow([]byte(b)) == nil
		}
		if c.writeNow([]byte(`<challenge xmlns="`+nsSASL+`">`+base64.StdEncoding.EncodeToString(resp)+`</challenge>`)) != nil {
			return false, false
		}
		if data, ok = c.saslResponse(p, e); !ok {
			return failure("aborted", "")
		}
	}
}

// saslResponse reads the client's next <response/>; false on <abort/> or
// anything else.
func (c *conn) saslResponse(p *wire.Parser, e *wire.Element) ([]byte, bool) {
	for {
		kind, b, err := c.next()
		if err != nil {
			return nil, false
		}
		if kind == wire.KindSpace {
			continue
		}
		if kind != wire.KindElement || p.Parse(b, e) != nil || string(e.NS) != nsSASL || string(e.Local) != "response" {
			return nil, false
		}
		data, _, err := saslPayload(e)
		return data, err == nil
	}
}

// saslPayload decodes the base64 text of <auth/> or <response/>. present is
// false for an element with no text at all; "=" is an empty response.
func saslPayload(e *wire.Element) (data []byte, present bool, err error) {
	if e.SelfClosing {
		return nil, false, nil
	}
	end := strings.LastIndex(string(e.Raw), "</")
	text := strings.TrimSpace(wire.Unescape(e.Raw[e.TagEnd+1 : end]))
	if text == "" {
		return nil, false, nil
	}
	if text == "=" {
		return []byte{}, true, nil
	}
	text = strings.Join(strings.Fields(text), "")
	data, err = base64.StdEncoding.DecodeString(text)
	return data, true, err
}

// bind answers the resource binding IQ and registers the session.
func (c *conn) bind(e *wire.Element, child wire.Child) bool {
	id, _ := e.Attr("id")
	var req struct {
		Resource string `xml:"resource"`
	}
	xml.Unmarshal(e.Raw[child.Start:child.End], &req)
	c.bare = c.srv.userJID(c.appID, c.userID)
	res := strings.TrimSpace(req.Resource)
	if !c.srv.acceptableResource(res) {
		res = ""
	}
	// The writer must run before the session is reachable by others, and the
	// bind result must be the first thing queued.
	c.out.init(c.srv.cfg.MaxQueue)
	go c.writeLoop()
	for tries := 0; ; tries++ {
		if res == "" || tries > 0 {
			res = "parley-" + randomID(15)
		}
		c.resource = res
		c.jid = c.bare + "/" + res
		result := iqResult(id, "", "", `<bind xmlns="`+nsBind+`"><jid>`+xmlEsc(c.jid)+`</jid></bind>`)
		if c.srv.bind(c, result) {
			break
		}
		if tries > 5 {
			c.fail(stream.InternalServerError, "")
			return false
		}
	}
	return true
}

// acceptableResource decides whether a client's requested resource can be
// honoured: long enough and distinctive enough that it can never be a
// substring of another JID (the ConnectyCube SDK drops messages whose from
// contains its own resource, spec 4).
func (s *Server) acceptableResource(r string) bool {
	if len(r) < 12 || len(r) > 128 {
		return false
	}
	if strings.Contains(s.cfg.Domain, r) || strings.Contains(s.muc, r) {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c < 0x21 || c == '/' || c == '@' || c >= 0x7f {
			return false
		}
	}
	// Must hold a character that ids and hex never contain.
	return strings.IndexFunc(r, func(c rune) bool { return c > 'f' && c <= 'z' || c > 'F' && c <= 'Z' }) >= 0
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(idEncoding.EncodeToString(b))
}

func xmlEsc(s string) string { return string(wire.AppendEscaped(nil, s)) }
