// Package roster is RFC 6121 rosters and presence subscriptions for
// standard XMPP clients, over package rosters: roster get (with versioning)
// and set, roster pushes to interested resources, subscription requests
// and answers (delivered later to users who were offline), presence
// broadcast to subscribers and probes of one's contacts at login.
// ConnectyCube SDK users who never touch rosters see no change.
package roster

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/wire"
)

// NS is the roster namespace.
const NS = "jabber:iq:roster"

// Module serves rosters.
type Module struct {
	rosters *rosters.Service
	core    xmpp.Core
	// interested: sessions that asked for the roster get pushes (RFC 6121
	// 2.1.6).
	interested sync.Map // xmpp.Session -> struct{}
}

// New returns the module over a rosters service.
func New(r *rosters.Service) *Module { return &Module{rosters: r} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.HandleIQ("get", NS, "query", m.get)
	r.HandleIQ("set", NS, "query", m.set)
	r.HandleSubscriptions(m.subscription)
	r.OnPresence(m.presence)
	r.OnSessionEnd(func(s xmpp.Session) { m.interested.Delete(s) })
}

func owner(s xmpp.Session) rosters.Owner { return rosters.Owner{AppID: s.App(), UserID: s.User()} }

func (m *Module) get(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	r, err := m.rosters.Get(ctx, owner(s), iq.Attr("ver"))
	if err != nil {
		return iq.Error(s, rosterError(err))
	}
	m.interested.Store(s, struct{}{})
	if r.Unchanged {
		return iq.Result(s, "") // RFC 6121 2.6.3: an empty result, pushes follow
	}
	var b strings.Builder
	b.WriteString(`<query xmlns="` + NS + `" ver="` + esc(r.Ver) + `">`)
	for i := range r.Items {
		writeItem(&b, &r.Items[i], false)
	}
	b.WriteString(`</query>`)
	return iq.Result(s, b.String())
}

type setQuery struct {
	Items []struct {
		JID          string   `xml:"jid,attr"`
		Name         string   `xml:"name,attr"`
		Subscription string   `xml:"subscription,attr"`
		Groups       []string `xml:"group"`
	} `xml:"item"`
}

func (m *Module) set(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	var q setQuery
	if xml.Unmarshal(iq.Raw(), &q) != nil || len(q.Items) != 1 {
		return iq.Error(s, xmpp.ErrBadRequest) // RFC 6121 2.3.3: exactly one item
	}
	it := q.Items[0]
	var res *rosters.Result
	var err error
	if it.Subscription == "remove" {
		res, err = m.rosters.Remove(ctx, owner(s), it.JID)
	} else {
		res, err = m.rosters.Set(ctx, owner(s), it.JID, it.Name, it.Groups)
	}
	if err != nil {
		return iq.Error(s, rosterError(err))
	}
	m.apply(res)
	return iq.Result(s, "")
}

// subscription takes subscribe, subscribed, unsubscribe and unsubscribed
// from a session.
func (m *Module) subscription(s xmpp.Session, to, typ string, e *wire.Element) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status := ""
	if ch, ok := e.Child("status", "jabber:client"); ok {
		status = innerText(e.Raw[ch.Start:ch.End])
	}
	res, err := m.rosters.Outbound(ctx, owner(s), to, rosters.Type(typ), status)
	if err != nil {
		if !errors.Is(err, rosters.ErrNoUser) {
			id, _ := e.Attr("id")
			b := errorPresence(id, to, s.JID(), rosterError(err))
			s.Send(b)
		}
		return
	}
	m.apply(res)
}

// presence shares a session's broadcast presence with the user's
// subscribers and, at login, probes the user's contacts and hands over the
// subscription requests that came while the user was away.
func (m *Module) presence(s xmpp.Session, available, initial bool, out []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items, err := m.rosters.Items(ctx, owner(s))
	if err != nil {
		return
	}
	for i := range items {
		it := &items[i]
		u, local := m.core.UserOf(it.JID)
		if !local {
			continue
		}
		if it.Subscription.From() {
			m.core.Deliver(u, "", wire.WithTo(out, it.JID))
		}
		if initial && it.Subscription.To() {
			m.core.SharePresence(u, s.JID())
		}
	}
	if initial {
		reqs, err := m.rosters.Pending(ctx, owner(s))
		if err != nil {
			return
		}
		for _, r := range reqs {
			s.Send(subscriptionStanza(r.From, s.Bare(), "subscribe", r.Status))
		}
	}
}

// apply sends what a roster change asks for: pushes to the owner's
// interested sessions, then the presence stanzas, in order.
func (m *Module) apply(res *rosters.Result) {
	for i := range res.Pushes {
		p := &res.Pushes[i]
		m.core.EachSession(xmpp.User{App: p.Owner.AppID, ID: p.Owner.UserID}, func(s xmpp.Session) {
			if _, ok := m.interested.Load(s); !ok {
				return
			}
			var b strings.Builder
			b.WriteString(`<iq xmlns="jabber:client" type="set" id="push` + strconv.FormatInt(int64(i), 10) + `-` + esc(p.Ver) + `" to="` + esc(s.JID()) + `">`)
			b.WriteString(`<query xmlns="` + NS + `" ver="` + esc(p.Ver) + `">`)
			writeItem(&b, &p.Item, p.Removed)
			b.WriteString(`</query></iq>`)
			s.Send([]byte(b.String()))
		})
	}
	for _, st := range res.Stanzas {
		to, local := m.core.UserOf(st.To)
		if !local {
			continue // other domains are not served
		}
		from, _ := m.core.UserOf(st.From)
		switch st.Type {
		case rosters.Available:
			m.core.SharePresence(from, st.To)
		case rosters.Unavailable:
			m.core.EachSession(from, func(s xmpp.Session) {
				m.core.Deliver(to, "", []byte(`<presence xmlns="jabber:client" type="unavailable" from="`+esc(s.JID())+`" to="`+esc(st.To)+`"/>`))
			})
		default:
			m.core.Deliver(to, "", subscriptionStanza(st.From, st.To, string(st.Type), st.Status))
		}
	}
}

func writeItem(b *strings.Builder, it *rosters.Item, removed bool) {
	b.WriteString(`<item jid="` + esc(it.JID) + `"`)
	if it.Name != "" {
		b.WriteString(` name="` + esc(it.Name) + `"`)
	}
	sub := string(it.Subscription)
	if sub == "" {
		sub = "none"
	}
	if removed {
		sub = "remove"
	}
	b.WriteString(` subscription="` + sub + `"`)
	if it.Ask && !removed {
		b.WriteString(` ask="subscribe"`)
	}
	if it.Approved && !removed {
		b.WriteString(` approved="true"`)
	}
	if len(it.Groups) == 0 {
		b.WriteString(`/>`)
		return
	}
	b.WriteString(`>`)
	for _, g := range it.Groups {
		b.WriteString(`<group>` + esc(g) + `</group>`)
	}
	b.WriteString(`</item>`)
}

func subscriptionStanza(from, to, typ, status string) []byte {
	b := `<presence xmlns="jabber:client" type="` + typ + `" from="` + esc(from) + `" to="` + esc(to) + `"`
	if status == "" {
		return []byte(b + `/>`)
	}
	return []byte(b + `><status>` + esc(status) + `</status></presence>`)
}

func errorPresence(id, from, to string, e xmpp.StanzaError) []byte {
	b := `<presence xmlns="jabber:client" type="error"`
	if id != "" {
		b += ` id="` + esc(id) + `"`
	}
	b += ` from="` + esc(from) + `" to="` + esc(to) + `"><error type="` + string(e.Type) + `"><` + string(e.Condition) +
		` xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>`
	if e.Text != "" {
		b += `<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">` + esc(e.Text) + `</text>`
	}
	return []byte(b + `</error></presence>`)
}

func innerText(raw []byte) string {
	var s struct {
		Text string `xml:",chardata"`
	}
	xml.Unmarshal(raw, &s)
	return strings.TrimSpace(s.Text)
}

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

func rosterError(err error) xmpp.StanzaError {
	if se, ok := xmpp.QuotaError(err); ok {
		return se
	}
	switch {
	case errors.Is(err, rosters.ErrNotFound):
		return xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "Not on your roster."}
	case errors.Is(err, rosters.ErrNoUser):
		return xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such user."}
	case errors.Is(err, rosters.ErrNotAcceptable):
		return xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: err.Error()}
	case errors.Is(err, rosters.ErrInvalid):
		return xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.BadRequest, Text: err.Error()}
	case errors.Is(err, rosters.ErrConflict):
		return xmpp.StanzaError{Type: stanza.Wait, Condition: stanza.Conflict, Text: "The roster changed meanwhile; try again."}
	}
	return xmpp.ErrInternal
}
