// Package privacylists is XEP-0016 Privacy Lists and XEP-0191 Blocking
// Command as the ConnectyCube SDK uses them: the user's lists are managed
// here; package privacy decides, and the core enforces the user's default
// list on every delivery path.
package privacylists

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/xmpp"
)

// Namespaces.
const (
	NSPrivacy  = "jabber:iq:privacy"
	NSBlocking = "urn:xmpp:blocking"
)

// Module serves the lists kept by a privacy.Service.
type Module struct {
	lists *privacy.Service
	core  xmpp.Core
}

// New returns the module over lists.
func New(lists *privacy.Service) *Module { return &Module{lists: lists} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.Feature(xmpp.ServerEntity, NSPrivacy, NSBlocking)
	r.HandleIQ("get", NSPrivacy, "query", m.privacyIQ)
	r.HandleIQ("set", NSPrivacy, "query", m.privacyIQ)
	r.HandleIQ("get", NSBlocking, "blocklist", m.blockingIQ)
	r.HandleIQ("set", NSBlocking, "block", m.blockingIQ)
	r.HandleIQ("set", NSBlocking, "unblock", m.blockingIQ)
}

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

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
func (m *Module) privacyIQ(ctx context.Context, c xmpp.Session, iq *xmpp.IQ) []byte {
	p, typ := m.lists, iq.Type
	var q privacyQuery
	if err := xml.Unmarshal(iq.Raw(), &q); err != nil {
		return iq.Error(c, xmpp.ErrBadRequest)
	}
	fail := func(err error) []byte {
		if se, ok := xmpp.QuotaError(err); ok {
			return iq.Error(c, se)
		}
		switch {
		case errors.Is(err, privacy.ErrNotFound):
			return iq.Error(c, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such privacy list."})
		case errors.Is(err, privacy.ErrInvalid):
			return iq.Error(c, xmpp.ErrBadRequest)
		}
		return iq.Error(c, xmpp.ErrInternal)
	}
	if typ == "get" {
		switch {
		case len(q.Lists) > 1:
			return iq.Error(c, xmpp.ErrBadRequest)
		case len(q.Lists) == 1:
			l, err := p.Get(ctx, c.App(), c.User(), q.Lists[0].Name)
			if err != nil {
				return fail(err)
			}
			return iq.Result(c, `<query xmlns="`+NSPrivacy+`">`+listXML(l)+`</query>`)
		}
		names, def, err := p.Names(ctx, c.App(), c.User())
		if err != nil {
			return fail(err)
		}
		var b strings.Builder
		b.WriteString(`<query xmlns="` + NSPrivacy + `">`)
		if def != "" {
			b.WriteString(`<default name="` + esc(def) + `"/>`)
		}
		for _, n := range names {
			b.WriteString(`<list name="` + esc(n) + `"/>`)
		}
		b.WriteString(`</query>`)
		return iq.Result(c, b.String())
	}
	var err error
	switch {
	case q.Default != nil:
		err = p.SetDefault(ctx, c.App(), c.User(), q.Default.Name)
	case q.Active != nil:
		// Only default lists are enforced (the SDK never sets an active
		// one); accept the choice without effect.
	case len(q.Lists) == 1 && len(q.Lists[0].Items) == 0:
		err = p.Delete(ctx, c.App(), c.User(), q.Lists[0].Name)
	case len(q.Lists) == 1:
		l := &privacy.List{Name: q.Lists[0].Name}
		for _, it := range q.Lists[0].Items {
			order, perr := strconv.Atoi(it.Order)
			if perr != nil || order < 0 {
				return iq.Error(c, xmpp.ErrBadRequest)
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
		err = p.Set(ctx, c.App(), c.User(), l)
	default:
		return iq.Error(c, xmpp.ErrBadRequest)
	}
	if err != nil {
		return fail(err)
	}
	m.core.PrivacyChanged(xmpp.User{App: c.App(), ID: c.User()})
	return iq.Result(c, "")
}

// kindOrder lists children in the XEP's order.
var kindOrder = []privacy.Kind{privacy.Message, privacy.PresenceIn, privacy.PresenceOut, privacy.IQ}

func listXML(l *privacy.List) string {
	var b strings.Builder
	b.WriteString(`<list name="` + esc(l.Name) + `">`)
	for _, it := range l.Items {
		b.WriteString(`<item`)
		if it.Type != "" {
			b.WriteString(` type="` + esc(it.Type) + `" value="` + esc(it.Value) + `"`)
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
func (m *Module) blockingIQ(ctx context.Context, c xmpp.Session, iq *xmpp.IQ) []byte {
	p, typ := m.lists, iq.Type
	var q struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	}
	if err := xml.Unmarshal(iq.Raw(), &q); err != nil {
		return iq.Error(c, xmpp.ErrBadRequest)
	}
	var jids []string
	for _, it := range q.Items {
		if _, err := jid.Parse(it.JID); it.JID == "" || err != nil {
			return iq.Error(c, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.JIDMalformed, Text: "Malformed JID."})
		}
		jids = append(jids, it.JID)
	}
	var err error
	switch local := string(iq.Payload.Local); {
	case typ == "get" && local == "blocklist":
		list, err := p.Blocked(ctx, c.App(), c.User())
		if err != nil {
			return iq.Error(c, xmpp.ErrInternal)
		}
		var b strings.Builder
		b.WriteString(`<blocklist xmlns="` + NSBlocking + `">`)
		for _, j := range list {
			b.WriteString(`<item jid="` + esc(j) + `"/>`)
		}
		b.WriteString(`</blocklist>`)
		return iq.Result(c, b.String())
	case typ == "set" && local == "block" && len(jids) > 0:
		err = p.Block(ctx, c.App(), c.User(), jids)
	case typ == "set" && local == "unblock":
		err = p.Unblock(ctx, c.App(), c.User(), jids)
	default:
		return iq.Error(c, xmpp.ErrBadRequest)
	}
	if err != nil {
		se, ok := xmpp.QuotaError(err)
		if !ok {
			se = xmpp.ErrInternal
		}
		return iq.Error(c, se)
	}
	m.core.PrivacyChanged(xmpp.User{App: c.App(), ID: c.User()})
	return iq.Result(c, "")
}
