// Package pep is the Personal Eventing Protocol (XEP-0163): each account is
// a publish-subscribe service (the XEP-0060 subset PEP needs) whose nodes,
// created on first publish, carry avatars (XEP-0084), bookmarks (XEP-0402),
// OMEMO device lists and bundles (XEP-0384), nick, mood and tune. Nodes and
// items are package pubsub's; notifications go to the owner's sessions and
// to the contacts subscribed to the owner's presence, and the last item of
// each contact's nodes reaches a session when it comes online.
package pep

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/xmpp"
)

// Namespaces.
const (
	NS      = "http://jabber.org/protocol/pubsub"
	NSOwner = "http://jabber.org/protocol/pubsub#owner"
	NSEvent = "http://jabber.org/protocol/pubsub#event"
)

// maxLoginEvents bounds the last items sent to a session coming online.
const maxLoginEvents = 500

// Module serves PEP.
type Module struct {
	nodes    *pubsub.Service
	rosters  *rosters.Service
	core     xmpp.Core
	accounts *accounts.Service // with files: the avatar follows the profile's
	files    *files.Service
}

// New serves the nodes of ps; rs tells who is subscribed to whose presence.
func New(ps *pubsub.Service, rs *rosters.Service) *Module { return &Module{nodes: ps, rosters: rs} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	own := func(h func(context.Context, xmpp.Session, xmpp.User, *xmpp.IQ) []byte) xmpp.IQHandler {
		return func(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
			return h(ctx, s, xmpp.User{App: s.App(), ID: s.User()}, iq)
		}
	}
	for _, typ := range []string{"get", "set"} {
		r.HandleIQ(typ, NS, "pubsub", own(m.pubsub))
		r.HandleAccountIQ(typ, NS, "pubsub", m.pubsub)
		r.HandleIQ(typ, NSOwner, "pubsub", own(m.owner))
		r.HandleAccountIQ(typ, NSOwner, "pubsub", m.owner)
	}
	r.Identity(xmpp.AccountEntity, "pubsub", "pep")
	feats := []string{NS, "#publish", "#publish-options", "#auto-create", "#retrieve-items", "#retract-items", "#delete-nodes",
		"#config-node", "#persistent-items", "#last-published", "#access-open", "#access-presence", "#access-whitelist", "#item-ids"}
	for i := 1; i < len(feats); i++ {
		feats[i] = NS + feats[i]
	}
	r.Feature(xmpp.AccountEntity, feats...)
	r.OnPresence(m.presence)
}

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

func itoa(n int) string { return strconv.Itoa(n) }

func owner(u xmpp.User) pubsub.Owner { return pubsub.Owner{AppID: u.App, UserID: u.ID} }

type form struct {
	Fields []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"field"`
}

// options reads publish-options or a configuration form.
func (f *form) options() pubsub.Options {
	var o pubsub.Options
	if f == nil {
		return o
	}
	for _, fl := range f.Fields {
		if len(fl.Values) == 0 {
			continue
		}
		switch v := fl.Values[0]; fl.Var {
		case "pubsub#access_model":
			o.Access = v
		case "pubsub#max_items":
			if v == "max" {
				o.MaxItems = -1
			} else if n, err := strconv.Atoi(v); err == nil && n > 0 {
				o.MaxItems = n
			}
		}
	}
	return o
}

type request struct {
	Publish *struct {
		Node string `xml:"node,attr"`
		Item *struct {
			ID    string `xml:"id,attr"`
			Inner []byte `xml:",innerxml"`
		} `xml:"item"`
	} `xml:"publish"`
	Options *struct {
		X *form `xml:"jabber:x:data x"`
	} `xml:"publish-options"`
	Items *struct {
		Node  string `xml:"node,attr"`
		Max   string `xml:"max_items,attr"`
		Items []struct {
			ID string `xml:"id,attr"`
		} `xml:"item"`
	} `xml:"items"`
	Retract *struct {
		Node   string `xml:"node,attr"`
		Notify string `xml:"notify,attr"`
		Items  []struct {
			ID string `xml:"id,attr"`
		} `xml:"item"`
	} `xml:"retract"`
	Delete *struct {
		Node string `xml:"node,attr"`
	} `xml:"delete"`
	Configure *struct {
		Node string `xml:"node,attr"`
		X    *form  `xml:"jabber:x:data x"`
	} `xml:"configure"`
}

func fail(s xmpp.Session, iq *xmpp.IQ, err error) []byte {
	var r *pubsub.Refusal
	switch {
	case errors.As(err, &r):
		cond := stanza.NotAcceptable
		switch r.Condition {
		case "bad-request":
			cond = stanza.BadRequest
		case "policy-violation":
			cond = stanza.PolicyViolation
		case "conflict":
			cond = stanza.Conflict
			return iq.ErrorWith(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: cond, Text: r.Msg}, `<precondition-not-met xmlns="`+NS+`#errors"/>`)
		}
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: cond, Text: r.Msg})
	case errors.Is(err, pubsub.ErrNotFound):
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such node or item."})
	}
	return iq.Error(s, xmpp.ErrInternal)
}

// payload is the one element an item carries.
func payload(inner []byte) (string, bool) {
	p := bytes.TrimSpace(inner)
	if len(p) == 0 || p[0] != '<' {
		return "", false
	}
	d := xml.NewDecoder(bytes.NewReader(p))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return string(p), err.Error() == "EOF" && roots == 1
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func (m *Module) pubsub(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ) []byte {
	var q request
	if xml.Unmarshal(iq.Raw(), &q) != nil {
		return iq.Error(s, xmpp.ErrBadRequest)
	}
	mine := u.App == s.App() && u.ID == s.User()
	switch {
	case iq.Type == "get" && q.Items != nil:
		return m.items(ctx, s, u, iq, q.Items.Node, q.Items.Max, q.Items.Items)
	case iq.Type == "set" && !mine:
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "Only the owner publishes to a personal node."})
	case iq.Type == "set" && q.Publish != nil:
		it := pubsub.Item{}
		var raw []byte
		if q.Publish.Item != nil {
			it.ID, raw = q.Publish.Item.ID, q.Publish.Item.Inner
		}
		p, ok := payload(raw)
		if !ok {
			return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.BadRequest, Text: "Publish one item with one payload element."})
		}
		it.Payload = p
		var o *form
		if q.Options != nil {
			o = q.Options.X
		}
		n, it, err := m.nodes.Publish(ctx, owner(u), q.Publish.Node, it, o.options(), q.Options != nil)
		if err != nil {
			return fail(s, iq, err)
		}
		m.notify(ctx, u, n, `<items node="`+esc(n.Name)+`"><item id="`+esc(it.ID)+`">`+it.Payload+`</item></items>`)
		if n.Name == nsAvatarMeta {
			m.avatarPublished(ctx, u, it.Payload)
		}
		return iq.Result(s, `<pubsub xmlns="`+NS+`"><publish node="`+esc(n.Name)+`"><item id="`+esc(it.ID)+`"/></publish></pubsub>`)
	case iq.Type == "set" && q.Retract != nil && len(q.Retract.Items) == 1:
		n, err := m.nodes.Node(ctx, owner(u), q.Retract.Node)
		if err == nil {
			err = m.nodes.Retract(ctx, owner(u), q.Retract.Node, q.Retract.Items[0].ID)
		}
		if err != nil {
			return fail(s, iq, err)
		}
		if q.Retract.Notify == "true" || q.Retract.Notify == "1" {
			m.notify(ctx, u, n, `<items node="`+esc(n.Name)+`"><retract id="`+esc(q.Retract.Items[0].ID)+`"/></items>`)
		}
		return iq.Result(s, "")
	}
	return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.FeatureNotImplemented, Text: "Not served on personal nodes."})
}

// may reports whether viewer may read owner u's node n.
func (m *Module) may(ctx context.Context, viewer xmpp.Session, u xmpp.User, n *pubsub.Node) bool {
	if viewer.App() != u.App {
		return false
	}
	if viewer.User() == u.ID {
		return true
	}
	switch n.Access {
	case pubsub.Open:
		return true
	case pubsub.Presence:
		return m.subscribed(ctx, u, xmpp.User{App: viewer.App(), ID: viewer.User()})
	}
	return false
}

// subscribed reports whether who is subscribed to u's presence.
func (m *Module) subscribed(ctx context.Context, u, who xmpp.User) bool {
	items, err := m.rosters.Items(ctx, rosters.Owner{AppID: u.App, UserID: u.ID})
	if err != nil {
		return false
	}
	jid := m.core.UserJID(who)
	for i := range items {
		if items[i].JID == jid && items[i].Subscription.From() {
			return true
		}
	}
	return false
}

func (m *Module) items(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ, node, max string, want []struct {
	ID string `xml:"id,attr"`
}) []byte {
	n, err := m.nodes.Node(ctx, owner(u), node)
	if err != nil {
		return fail(s, iq, err)
	}
	if !m.may(ctx, s, u, n) {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.NotAuthorized, Text: "Subscribe to the owner's presence to see this node."})
	}
	var ids []string
	for _, w := range want {
		ids = append(ids, w.ID)
	}
	limit, _ := strconv.Atoi(max)
	items, err := m.nodes.Items(ctx, owner(u), node, ids, limit)
	if err != nil {
		return fail(s, iq, err)
	}
	var b strings.Builder
	b.WriteString(`<pubsub xmlns="` + NS + `"><items node="` + esc(node) + `">`)
	for i := len(items) - 1; i >= 0; i-- { // oldest first, as XEP-0060 lists them
		b.WriteString(`<item id="` + esc(items[i].ID) + `">` + items[i].Payload + `</item>`)
	}
	b.WriteString(`</items></pubsub>`)
	return iq.Result(s, b.String())
}

// owner serves pubsub#owner: node deletion and configuration.
func (m *Module) owner(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ) []byte {
	if u.App != s.App() || u.ID != s.User() {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "Only the owner manages a personal node."})
	}
	var q request
	if xml.Unmarshal(iq.Raw(), &q) != nil {
		return iq.Error(s, xmpp.ErrBadRequest)
	}
	switch {
	case iq.Type == "set" && q.Delete != nil:
		n, err := m.nodes.Node(ctx, owner(u), q.Delete.Node)
		if err == nil {
			err = m.nodes.Delete(ctx, owner(u), q.Delete.Node)
		}
		if err != nil {
			return fail(s, iq, err)
		}
		m.notify(ctx, u, n, `<delete node="`+esc(n.Name)+`"/>`)
		return iq.Result(s, "")
	case iq.Type == "get" && q.Configure != nil:
		n, err := m.nodes.Node(ctx, owner(u), q.Configure.Node)
		if err != nil {
			return fail(s, iq, err)
		}
		return iq.Result(s, `<pubsub xmlns="`+NSOwner+`"><configure node="`+esc(n.Name)+`"><x xmlns="jabber:x:data" type="form">`+
			`<field var="FORM_TYPE" type="hidden"><value>http://jabber.org/protocol/pubsub#node_config</value></field>`+
			`<field var="pubsub#access_model" type="list-single"><value>`+esc(n.Access)+`</value>`+
			`<option><value>open</value></option><option><value>presence</value></option><option><value>whitelist</value></option></field>`+
			`<field var="pubsub#max_items" type="text-single"><value>`+strconv.Itoa(n.MaxItems)+`</value></field>`+
			`<field var="pubsub#persist_items" type="boolean"><value>1</value></field></x></configure></pubsub>`)
	case iq.Type == "set" && q.Configure != nil:
		if _, err := m.nodes.Configure(ctx, owner(u), q.Configure.Node, q.Configure.X.options()); err != nil {
			return fail(s, iq, err)
		}
		return iq.Result(s, "")
	}
	return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.FeatureNotImplemented, Text: "Not served on personal nodes."})
}

// event renders a notification from the owner's bare JID.
func (m *Module) event(from, to, inner string) []byte {
	return []byte(`<message xmlns="jabber:client" type="headline" from="` + esc(from) + `" to="` + esc(to) + `"><event xmlns="` + NSEvent + `">` + inner + `</event></message>`)
}

// notify tells the owner's sessions and, for nodes others may read, the
// contacts subscribed to the owner's presence.
func (m *Module) notify(ctx context.Context, u xmpp.User, n *pubsub.Node, inner string) {
	from := m.core.UserJID(u)
	m.core.Deliver(u, "", m.event(from, from, inner))
	if n.Access == pubsub.Whitelist {
		return
	}
	items, err := m.rosters.Items(ctx, rosters.Owner{AppID: u.App, UserID: u.ID})
	if err != nil {
		return
	}
	for i := range items {
		if !items[i].Subscription.From() {
			continue
		}
		if c, local := m.core.UserOf(items[i].JID); local && c.App == u.App {
			m.core.Deliver(c, "", m.event(from, items[i].JID, inner))
		}
	}
}

// presence sends a session coming online the last item of each node of
// its own and of the contacts it is subscribed to (XEP-0163 6.1).
func (m *Module) presence(s xmpp.Session, available, initial bool, _ []byte) {
	if !available || !initial {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	me := xmpp.User{App: s.App(), ID: s.User()}
	owners := []xmpp.User{me}
	if items, err := m.rosters.Items(ctx, rosters.Owner{AppID: me.App, UserID: me.ID}); err == nil {
		for i := range items {
			if items[i].Subscription.To() {
				if c, local := m.core.UserOf(items[i].JID); local && c.App == me.App {
					owners = append(owners, c)
				}
			}
		}
	}
	sent := 0
	for _, u := range owners {
		nodes, err := m.nodes.Nodes(ctx, owner(u))
		if err != nil {
			continue
		}
		for i := range nodes {
			n := &nodes[i]
			if sent >= maxLoginEvents || !m.may(ctx, s, u, n) {
				continue
			}
			last, err := m.nodes.Items(ctx, owner(u), n.Name, nil, 1)
			if err != nil || len(last) == 0 {
				continue
			}
			from := m.core.UserJID(u)
			s.Send(m.event(from, s.JID(), `<items node="`+esc(n.Name)+`"><item id="`+esc(last[0].ID)+`">`+last[0].Payload+`</item></items>`))
			sent++
		}
	}
}
