package rosters

// Type is a presence subscription stanza's type, or one of the two
// presence instructions a Result can carry (Available, Unavailable).
type Type string

// Subscription stanza types (RFC 6121 §3).
const (
	Subscribe    Type = "subscribe"
	Subscribed   Type = "subscribed"
	Unsubscribe  Type = "unsubscribe"
	Unsubscribed Type = "unsubscribed"
)

// Presence instructions in a Result's stanzas; never input to Outbound or
// Inbound.
const (
	// Available: send the current presence of each of From's available
	// resources to To (after an approval, RFC 6121 §3.1.5).
	Available Type = "available"
	// Unavailable: send presence of type unavailable from each of From's
	// available resources to To (a subscription ends, RFC 6121 §3.2.2,
	// §3.3.3).
	Unavailable Type = "unavailable"
)

func (t Type) subscription() bool {
	switch t {
	case Subscribe, Subscribed, Unsubscribe, Unsubscribed:
		return true
	}
	return false
}

// Transition is what one subscription stanza does to the owner's item for
// a contact.
type Transition struct {
	Before, After *Item // nil: no item (none yet, or removed)
	// Push: the change shows on the roster; push After (or its removal).
	Push bool
	// Route: for Outbound, the stanza goes on to the contact; for Inbound,
	// it is delivered to the owner's available resources.
	Route bool
	// Reply is answered to the contact on the owner's behalf (Inbound
	// only): Subscribed when the owner approved already or in advance.
	Reply Type
	// Share: the owner's current presence goes to the contact (a new
	// subscription from the contact, after any Route or Reply).
	Share bool
	// Withdraw: unavailable presence from the owner's resources goes to
	// the contact, before anything else (the contact's subscription ends).
	Withdraw bool
}

// Changed reports whether After differs from Before: the item is stored.
func (t Transition) Changed() bool { return !same(t.Before, t.After) }

func transition(before, after *Item) Transition {
	if after != nil && after.Hidden && !after.PendingIn {
		after = nil // a hidden item lives only as long as its request
	}
	return Transition{Before: before, After: after, Push: !same(before.visible(), after.visible())}
}

// start returns a copy of cur to change, or a new item for contact
// (on the roster unless hidden).
func start(cur *Item, contact string, hidden bool) *Item {
	if cur != nil {
		return cur.clone()
	}
	return &Item{JID: contact, Subscription: None, Hidden: hidden}
}

// Outbound applies a subscription stanza of typ that the owner sends to
// contact (RFC 6121 Appendix A.2; §3.1.2, §3.1.5, §3.2.2, §3.3.2, §3.4).
// cur is the owner's item for contact, nil when there is none. A type that
// is not a subscription type changes nothing.
func Outbound(cur *Item, contact string, typ Type) Transition {
	var it *Item
	t := func() Transition { return transition(cur, it) }
	switch typ {
	case Subscribe:
		// A.2.1: ask unless subscribed already; the request is routed
		// either way, so a contact who lost state can answer again.
		it = start(cur, contact, false)
		it.Hidden = false
		if !it.sub().To() {
			it.Ask = true
		}
		r := t()
		r.Route = true
		return r
	case Subscribed:
		it = start(cur, contact, false)
		switch {
		case it.sub().From():
			// §3.4: approved already; silently ignored.
			it = cur.clone()
			return t()
		case it.PendingIn:
			// A.2.2: the approval of a pending request.
			it.Subscription = subscription(it.sub().To(), true)
			it.PendingIn, it.Status, it.Approved, it.Hidden = false, "", false, false
			r := t()
			r.Route, r.Share = true, true
			return r
		default:
			// §3.4: a pre-approval, noted and not routed.
			it.Approved = true
			return t()
		}
	case Unsubscribe:
		// A.2.3: the owner's subscription (or request) ends. Routed
		// always, so a contact who lost state learns it.
		if cur == nil {
			return Transition{Route: true}
		}
		it = cur.clone()
		it.Subscription = subscription(false, it.sub().From())
		it.Ask = false
		r := t()
		r.Route = true
		return r
	case Unsubscribed:
		if cur == nil {
			return Transition{Route: true}
		}
		it = cur.clone()
		if it.Approved && !it.sub().From() && !it.PendingIn {
			// §3.4: withdrawing a pre-approval is not routed.
			it.Approved = false
			return t()
		}
		// A.2.4: cancels the contact's subscription or denies its request.
		wasFrom := it.sub().From()
		it.Subscription = subscription(it.sub().To(), false)
		it.PendingIn, it.Status, it.Approved = false, "", false
		r := t()
		r.Route, r.Withdraw = true, wasFrom
		return r
	}
	return Transition{Before: cur, After: cur}
}

// Inbound applies a subscription stanza of typ, with its status text,
// that contact sends to the owner (RFC 6121 Appendix A.3; §3.1.3, §3.1.6,
// §3.2.3, §3.3.3). cur is the owner's item for contact, nil when there is
// none. Stanzas that change nothing are not delivered (silently ignored).
func Inbound(cur *Item, contact string, typ Type, status string) Transition {
	var it *Item
	t := func() Transition { return transition(cur, it) }
	switch typ {
	case Subscribe:
		it = start(cur, contact, true)
		switch {
		case it.sub().From():
			// §3.1.3 (2): approved already; answered on the owner's behalf.
			it = cur.clone()
			r := t()
			r.Reply, r.Share = Subscribed, true
			return r
		case it.Approved:
			// §3.4: pre-approved; the subscription starts at once.
			it.Subscription = subscription(it.sub().To(), true)
			it.Approved, it.PendingIn, it.Status = false, false, ""
			r := t()
			r.Reply, r.Share = Subscribed, true
			return r
		case it.PendingIn:
			// One request is kept and delivered (§3.1.3): the first.
			it = cur.clone()
			return t()
		default:
			// A.3.1: pending in; delivered now to available resources,
			// and by Pending at the next login until answered.
			it.PendingIn, it.Status = true, status
			r := t()
			r.Route = true
			return r
		}
	case Subscribed:
		// A.3.2: only the answer to the owner's request counts.
		if cur == nil || !cur.Ask || cur.sub().To() {
			return Transition{Before: cur, After: cur}
		}
		it = cur.clone()
		it.Subscription = subscription(true, it.sub().From())
		it.Ask = false
		r := t()
		r.Route = true
		return r
	case Unsubscribe:
		// A.3.3: the contact's subscription, or request, ends.
		if cur == nil || !cur.sub().From() && !cur.PendingIn {
			return Transition{Before: cur, After: cur}
		}
		it = cur.clone()
		wasFrom := it.sub().From()
		it.Subscription = subscription(it.sub().To(), false)
		it.PendingIn, it.Status, it.Approved = false, "", false
		r := t()
		r.Route, r.Withdraw = true, wasFrom
		return r
	case Unsubscribed:
		// A.3.4: the owner's subscription ends or its request is denied.
		if cur == nil || !cur.sub().To() && !cur.Ask {
			return Transition{Before: cur, After: cur}
		}
		it = cur.clone()
		it.Subscription = subscription(false, it.sub().From())
		it.Ask = false
		r := t()
		r.Route = true
		return r
	}
	return Transition{Before: cur, After: cur}
}
