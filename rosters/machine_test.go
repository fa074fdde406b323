package rosters

import (
	"strings"
	"testing"
)

const contact = "5-1@localhost"

// item builds an item from the notation of RFC 6121 Appendix A: "none",
// "to", "from" or "both", then "+out" (pending out), "+in" (pending in),
// "+approved", "+hidden"; "absent" is no item.
func item(state string) *Item {
	if state == "absent" {
		return nil
	}
	parts := strings.Split(state, "+")
	it := &Item{JID: contact, Name: "Romeo", Groups: []string{"Friends"}, Subscription: Subscription(parts[0]), Rev: 7}
	for _, p := range parts[1:] {
		switch p {
		case "out":
			it.Ask = true
		case "in":
			it.PendingIn, it.Status = true, "let me in"
		case "approved":
			it.Approved = true
		case "hidden":
			it.Hidden, it.Name, it.Groups = true, "", nil
		default:
			panic("unknown state part " + p)
		}
	}
	return it
}

// state is the notation of item's state.
func state(it *Item) string {
	if it == nil {
		return "absent"
	}
	s := string(it.sub())
	if it.Ask {
		s += "+out"
	}
	if it.PendingIn {
		s += "+in"
	}
	if it.Approved {
		s += "+approved"
	}
	if it.Hidden {
		s += "+hidden"
	}
	return s
}

// effects words a transition's outcome besides the state.
func effects(t Transition) string {
	var e []string
	if t.Push {
		e = append(e, "push")
	}
	if t.Route {
		e = append(e, "route")
	}
	if t.Reply != "" {
		e = append(e, "reply "+string(t.Reply))
	}
	if t.Share {
		e = append(e, "share")
	}
	if t.Withdraw {
		e = append(e, "withdraw")
	}
	return strings.Join(e, ",")
}

type row struct {
	from, to, effects string
}

// TestOutbound checks RFC 6121 Appendix A.2 (and §3.4 pre-approval): the
// user's server processing the user's outbound subscription stanzas.
func TestOutbound(t *testing.T) {
	tables := map[Type][]row{
		Subscribe: { // A.2.1; the request is routed in every state (§3.1.2)
			{"absent", "none+out", "push,route"},
			{"none", "none+out", "push,route"},
			{"none+out", "none+out", "route"},
			{"none+in+hidden", "none+out+in", "push,route"}, // now on the roster
			{"none+in", "none+out+in", "push,route"},
			{"none+out+in", "none+out+in", "route"},
			{"to", "to", "route"},
			{"to+in", "to+in", "route"},
			{"from", "from+out", "push,route"},
			{"from+out", "from+out", "route"},
			{"both", "both", "route"},
			{"none+approved", "none+out+approved", "push,route"},
		},
		Subscribed: { // A.2.2 and §3.4
			{"absent", "none+approved", "push"}, // pre-approval: noted, not routed
			{"none", "none+approved", "push"},
			{"none+out", "none+out+approved", "push"},
			{"none+approved", "none+approved", ""},
			{"none+in", "from", "push,route,share"},
			{"none+in+hidden", "from", "push,route,share"},
			{"none+out+in", "from+out", "push,route,share"},
			{"to", "to+approved", "push"},
			{"to+in", "both", "push,route,share"},
			{"from", "from", ""}, // §3.4: ignored
			{"from+out", "from+out", ""},
			{"both", "both", ""},
		},
		Unsubscribe: { // A.2.3; routed in every state (§3.3.2)
			{"absent", "absent", "route"},
			{"none", "none", "route"},
			{"none+out", "none", "push,route"},
			{"none+in", "none+in", "route"},
			{"none+in+hidden", "none+in+hidden", "route"},
			{"none+out+in", "none+in", "push,route"},
			{"to", "none", "push,route"},
			{"to+in", "none+in", "push,route"},
			{"from", "from", "route"},
			{"from+out", "from", "push,route"},
			{"both", "from", "push,route"},
		},
		Unsubscribed: { // A.2.4 and §3.4
			{"absent", "absent", "route"},
			{"none", "none", "route"},
			{"none+out", "none+out", "route"},
			{"none+in", "none", "route"}, // a denial; pending in is not on the roster
			{"none+in+hidden", "absent", "route"},
			{"none+out+in", "none+out", "route"},
			{"to", "to", "route"},
			{"to+in", "to", "route"},
			{"from", "none", "push,route,withdraw"},
			{"from+out", "none+out", "push,route,withdraw"},
			{"both", "to", "push,route,withdraw"},
			{"none+approved", "none", "push"}, // withdrawn pre-approval: not routed
			{"to+approved", "to", "push"},
		},
	}
	for typ, rows := range tables {
		for _, r := range rows {
			t.Run(string(typ)+"/"+r.from, func(t *testing.T) {
				cur := item(r.from)
				tr := Outbound(cur, contact, typ)
				if got := state(tr.After); got != r.to {
					t.Errorf("state %s, want %s", got, r.to)
				}
				if got := effects(tr); got != r.effects {
					t.Errorf("effects %q, want %q", got, r.effects)
				}
				checkInvariants(t, cur, tr)
			})
		}
	}
}

// TestInbound checks RFC 6121 Appendix A.3 (and §3.1.3, §3.4): the user's
// server processing inbound subscription stanzas from the contact.
func TestInbound(t *testing.T) {
	tables := map[Type][]row{
		Subscribe: { // A.3.1
			{"absent", "none+in+hidden", "route"}, // kept for the request only
			{"none", "none+in", "route"},
			{"none+out", "none+out+in", "route"},
			{"none+in", "none+in", ""}, // one request is kept and delivered
			{"none+in+hidden", "none+in+hidden", ""},
			{"none+out+in", "none+out+in", ""},
			{"to", "to+in", "route"},
			{"to+in", "to+in", ""},
			{"from", "from", "reply subscribed,share"}, // §3.1.3 (2)
			{"from+out", "from+out", "reply subscribed,share"},
			{"both", "both", "reply subscribed,share"},
			{"none+approved", "from", "push,reply subscribed,share"}, // §3.4
			{"none+out+approved", "from+out", "push,reply subscribed,share"},
			{"to+approved", "both", "push,reply subscribed,share"},
		},
		Subscribed: { // A.3.2
			{"absent", "absent", ""},
			{"none", "none", ""},
			{"none+out", "to", "push,route"},
			{"none+in", "none+in", ""},
			{"none+out+in", "to+in", "push,route"},
			{"to", "to", ""},
			{"to+in", "to+in", ""},
			{"from", "from", ""},
			{"from+out", "both", "push,route"},
			{"both", "both", ""},
		},
		Unsubscribe: { // A.3.3
			{"absent", "absent", ""},
			{"none", "none", ""},
			{"none+out", "none+out", ""},
			{"none+in", "none", "route"},
			{"none+in+hidden", "absent", "route"}, // the request is withdrawn
			{"none+out+in", "none+out", "route"},
			{"to", "to", ""},
			{"to+in", "to", "route"},
			{"from", "none", "push,route,withdraw"},
			{"from+out", "none+out", "push,route,withdraw"},
			{"both", "to", "push,route,withdraw"},
			{"none+approved", "none+approved", ""},
		},
		Unsubscribed: { // A.3.4
			{"absent", "absent", ""},
			{"none", "none", ""},
			{"none+out", "none", "push,route"},
			{"none+in", "none+in", ""},
			{"none+in+hidden", "none+in+hidden", ""},
			{"none+out+in", "none+in", "push,route"},
			{"to", "none", "push,route"},
			{"to+in", "none+in", "push,route"},
			{"from", "from", ""},
			{"from+out", "from", "push,route"},
			{"both", "from", "push,route"},
		},
	}
	for typ, rows := range tables {
		for _, r := range rows {
			t.Run(string(typ)+"/"+r.from, func(t *testing.T) {
				cur := item(r.from)
				tr := Inbound(cur, contact, typ, "let me in")
				if got := state(tr.After); got != r.to {
					t.Errorf("state %s, want %s", got, r.to)
				}
				if got := effects(tr); got != r.effects {
					t.Errorf("effects %q, want %q", got, r.effects)
				}
				checkInvariants(t, cur, tr)
			})
		}
	}
}

// checkInvariants: the transition keeps name, groups and revision,
// leaves no state RFC 6121 does not have, and applying the same stanza
// again changes nothing (the service relies on that to be safe without
// transactions).
func checkInvariants(t *testing.T, cur *Item, tr Transition) {
	t.Helper()
	if tr.Before != cur {
		t.Errorf("Before is not the item given")
	}
	a := tr.After
	if a == nil {
		return
	}
	if cur != nil && !cur.Hidden && (a.Name != cur.Name || len(a.Groups) != len(cur.Groups) || a.Rev != cur.Rev) {
		t.Errorf("name, groups or revision changed: %+v", a)
	}
	if a.Subscription == "" || a.JID != contact {
		t.Errorf("item %+v", a)
	}
	switch {
	case a.PendingIn && a.sub().From():
		t.Errorf("pending in while subscribed from: %s", state(a))
	case a.Ask && a.sub().To():
		t.Errorf("pending out while subscribed to: %s", state(a))
	case a.Approved && (a.sub().From() || a.PendingIn):
		t.Errorf("pre-approved with a subscription or request from the contact: %s", state(a))
	case a.Hidden && !a.PendingIn:
		t.Errorf("hidden without a request: %s", state(a))
	case a.PendingIn != (a.Status != ""):
		t.Errorf("status %q with pending in %v", a.Status, a.PendingIn)
	}
}

func TestIdempotent(t *testing.T) {
	states := []string{"absent", "none", "none+out", "none+in", "none+in+hidden", "none+out+in", "to", "to+in",
		"from", "from+out", "both", "none+approved", "none+out+approved", "to+approved"}
	for _, typ := range []Type{Subscribe, Subscribed, Unsubscribe, Unsubscribed} {
		for _, s := range states {
			for dir, apply := range map[string]func(*Item) Transition{
				"out": func(it *Item) Transition { return Outbound(it, contact, typ) },
				"in":  func(it *Item) Transition { return Inbound(it, contact, typ, "let me in") },
			} {
				once := apply(item(s))
				twice := apply(once.After)
				if twice.Changed() || twice.Push || state(twice.After) != state(once.After) {
					t.Errorf("%s %s from %s: %s then %s (push %v)", dir, typ, s, state(once.After), state(twice.After), twice.Push)
				}
			}
		}
	}
}

func TestOriginalUntouched(t *testing.T) {
	cur := item("none+in")
	Outbound(cur, contact, Subscribed)
	Inbound(cur, contact, Unsubscribe, "")
	if state(cur) != "none+in" || cur.Status != "let me in" {
		t.Fatalf("the item given changed: %+v", cur)
	}
}

func TestOtherTypesChangeNothing(t *testing.T) {
	for _, typ := range []Type{"", "probe", Available, Unavailable, "error"} {
		cur := item("none+out")
		for _, tr := range []Transition{Outbound(cur, contact, typ), Inbound(cur, contact, typ, "")} {
			if tr.Changed() || tr.Push || tr.Route || tr.Reply != "" || tr.Share || tr.Withdraw {
				t.Errorf("type %q: %+v", typ, tr)
			}
		}
	}
}

func TestNormalizeJID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Romeo@Example.NET/Orchard", "romeo@example.net"},
		{"5-1@localhost", "5-1@localhost"},
		{"example.net", "example.net"},
		{"example.net/res", "example.net"},
		{"JULIET@ÉXAMPLE.com", "juliet@éxample.com"},
		{"Ñandú@example.com/x y", "ñandú@example.com"},
		{"", ""},
		{"@example.net", ""},
		{"romeo@", ""},
		{"a@b@c", ""},
		{"ro meo@example.net", ""},
		{"ro<meo@example.net", ""},
		{"romeo@example.net\x00", ""},
		{strings.Repeat("a", 3072), ""},
	} {
		got, err := NormalizeJID(c.in)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("NormalizeJID(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
