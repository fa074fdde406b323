package xmpp

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/xmpp/wire"
)

const (
	nsPrivacy  = "jabber:iq:privacy"
	nsBlocking = "urn:xmpp:blocking"
)

var errBlocked = StanzaError{stanza.Cancel, stanza.ServiceUnavailable, "Blocked by a privacy list."}

type privacyQuery struct {
	Default *struct {
		Name string `xml:"name,attr"`
	} `xml:"default"`
	Active *struct {
		Name string `xml:"name,attr"`
	} `xml:"active"`
	Lists []struct {
		Name  string `xml:"name,attr"`
		Items []struct {
			Type        string    `xml:"type,attr"`
			Value       string    `xml:"value,attr"`
			Action      string    `xml:"action,attr"`
			Order       string    `xml:"order,attr"`
			Message     *struct{} `xml:"message"`
			PresenceIn  *struct{} `xml:"presence-in"`
			PresenceOut *struct{} `xml:"presence-out"`
			IQ          *struct{} `xml:"iq"`
		} `xml:"item"`
	} `xml:"list"`
}

// privacyIQ answers XEP-0016 requests on the user's own lists.
func (s *Server) privacyIQ(c *conn, e *wire.Element, typ, id string) []byte {
	p := s.cfg.Privacy
	if p == nil {
		return errorStanza("iq", id, "", c.jid, errServiceUnavailable)
	}
	ch := e.Children[0]
	var q privacyQuery
	if err := xml.Unmarshal(e.Raw[ch.Start:ch.End], &q); err != nil {
		return errorStanza("iq", id, "", c.jid, errBadRequest)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	fail := func(err error) []byte {
		if se, ok := quotaError(err); ok {
			return errorStanza("iq", id, "", c.jid, se)
		}
		switch {
		case errors.Is(err, privacy.ErrNotFound):
			return errorStanza("iq", id, "", c.jid, StanzaError{stanza.Cancel, stanza.ItemNotFound, "No such privacy list."})
		case errors.Is(err, privacy.ErrInvalid):
			return errorStanza("iq", id, "", c.jid, errBadRequest)
		}
		return errorStanza("iq", id, "", c.jid, errInternal)
	}
	if typ == "get" {
		switch {
		case len(q.Lists) > 1:
			return errorStanza("iq", id, "", c.jid, errBadRequest)
		case len(q.Lists) == 1:
			l, err := p.Get(ctx, c.appID, c.userID, q.Lists[0].Name)
			if err != nil {
				return fail(err)
			}
			return iqResult(id, "", c.jid, `<query xmlns="`+nsPrivacy+`">`+listXML(l)+`</query>`)
		}
		names, def, err := p.Names(ctx, c.appID, c.userID)
		if err != nil {
			return fail(err)
		}
		var b strings.Builder
		b.WriteString(`<query xmlns="` + nsPrivacy + `">`)
		if def != "" {
			b.WriteString(`<default name="` + xmlEsc(def) + `"/>`)
		}
		for _, n := range names {
			b.WriteString(`<list name="` + xmlEsc(n) + `"/>`)
		}
		b.WriteString(`</query>`)
		return iqResult(id, "", c.jid, b.String())
	}
	var err error
	switch {
	case q.Default != nil:
		err = p.SetDefault(ctx, c.appID, c.userID, q.Default.Name)
	case q.Active != nil:
		// Only default lists are enforced (the SDK never sets an active
		// one); accept the choice without effect.
	case len(q.Lists) == 1 && len(q.Lists[0].Items) == 0:
		err = p.Delete(ctx, c.appID, c.userID, q.Lists[0].Name)
	case len(q.Lists) == 1:
		l := &privacy.List{Name: q.Lists[0].Name}
		for _, it := range q.Lists[0].Items {
			order, perr := strconv.Atoi(it.Order)
			if perr != nil || order < 0 {
				return errorStanza("iq", id, "", c.jid, errBadRequest)
			}
			item := privacy.Item{Type: it.Type, Value: it.Value, Action: it.Action, Order: order}
			for k, on := range map[privacy.Kind]bool{privacy.Message: it.Message != nil, privacy.PresenceIn: it.PresenceIn != nil,
				privacy.PresenceOut: it.PresenceOut != nil, privacy.IQ: it.IQ != nil} {
				if on {
					item.Kinds = append(item.Kinds, k)
				}
			}
			l.Items = append(l.Items, item)
		}
		err = p.Set(ctx, c.appID, c.userID, l)
	default:
		return errorStanza("iq", id, "", c.jid, errBadRequest)
	}
	if err != nil {
		return fail(err)
	}
	s.privacyChanged(c)
	return iqResult(id, "", c.jid, "")
}

// kindOrder lists children in the XEP's order.
var kindOrder = []privacy.Kind{privacy.Message, privacy.PresenceIn, privacy.PresenceOut, privacy.IQ}

func listXML(l *privacy.List) string {
	var b strings.Builder
	b.WriteString(`<list name="` + xmlEsc(l.Name) + `">`)
	for _, it := range l.Items {
		b.WriteString(`<item`)
		if it.Type != "" {
			b.WriteString(` type="` + xmlEsc(it.Type) + `" value="` + xmlEsc(it.Value) + `"`)
		}
		b.WriteString(` action="` + it.Action + `" order="` + strconv.Itoa(it.Order) + `"`)
		if len(it.Kinds) == 0 {
			b.WriteString(`/>`)
			continue
		}
		b.WriteString(`>`)
		for _, k := range kindOrder {
			for _, x := range it.Kinds {
				if x == k {
					b.WriteString("<" + string(k) + "/>")
				}
			}
		}
		b.WriteString(`</item>`)
	}
	b.WriteString(`</list>`)
	return b.String()
}

// blockingIQ serves XEP-0191 over the default privacy list.
func (s *Server) blockingIQ(c *conn, e *wire.Element, typ, id string) []byte {
	p := s.cfg.Privacy
	if p == nil {
		return errorStanza("iq", id, "", c.jid, errServiceUnavailable)
	}
	ch := e.Children[0]
	var q struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	}
	if err := xml.Unmarshal(e.Raw[ch.Start:ch.End], &q); err != nil {
		return errorStanza("iq", id, "", c.jid, errBadRequest)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	var jids []string
	for _, it := range q.Items {
		if it.JID == "" || s.resolve(it.JID).kind == addrBad {
			return errorStanza("iq", id, "", c.jid, StanzaError{stanza.Modify, stanza.JIDMalformed, "Malformed JID."})
		}
		jids = append(jids, it.JID)
	}
	var err error
	switch local := string(ch.Local); {
	case typ == "get" && local == "blocklist":
		list, err := p.Blocked(ctx, c.appID, c.userID)
		if err != nil {
			return errorStanza("iq", id, "", c.jid, errInternal)
		}
		var b strings.Builder
		b.WriteString(`<blocklist xmlns="` + nsBlocking + `">`)
		for _, j := range list {
			b.WriteString(`<item jid="` + xmlEsc(j) + `"/>`)
		}
		b.WriteString(`</blocklist>`)
		return iqResult(id, "", c.jid, b.String())
	case typ == "set" && local == "block" && len(jids) > 0:
		err = p.Block(ctx, c.appID, c.userID, jids)
	case typ == "set" && local == "unblock":
		err = p.Unblock(ctx, c.appID, c.userID, jids)
	default:
		return errorStanza("iq", id, "", c.jid, errBadRequest)
	}
	if err != nil {
		se, ok := quotaError(err)
		if !ok {
			se = errInternal
		}
		return errorStanza("iq", id, "", c.jid, se)
	}
	s.privacyChanged(c)
	return iqResult(id, "", c.jid, "")
}

// blocked reports whether a 1-1 message between c and the user k is refused
// by either side's default list.
func (s *Server) blocked(c *conn, k userKey, to string) bool {
	if s.cfg.Privacy == nil {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.cfg.Privacy.Between(ctx, k.app, c.userID, k.user, c.bare, to, false)
}

// refuses reports whether user k refuses kind (directed presence, IQs)
// from c's user, or c's user blocks k mutually.
func (s *Server) refuses(c *conn, k userKey, kind privacy.Kind) bool {
	if s.cfg.Privacy == nil || k.user == c.userID {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.cfg.Privacy.Refuses(ctx, k.app, c.userID, k.user, kind)
}

// groupBlocks reports whether member refuses group traffic from sender.
func (s *Server) groupBlocks(app, member, sender int64) bool {
	if s.cfg.Privacy == nil || member == sender {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.cfg.Privacy.BlocksInbound(ctx, app, member, privacy.Target{UserID: sender, JID: s.userJID(app, sender), InRoom: true}, privacy.Message)
}
