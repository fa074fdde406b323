// Package clientstate is the Tigase mobile#v2 IQ the ConnectyCube SDK's
// markActive/markInactive send (spec 3.14): enable="true" marks the
// session inactive (it wants pushes while connected), "false" active.
// XEP-0352 CSI, a nonza, is read by the core; both set the same state.
package clientstate

import (
	"context"

	"github.com/parley-chat/parley/xmpp"
)

// NS is the Tigase mobile namespace.
const NS = "http://tigase.org/protocol/mobile#v2"

// Module answers mobile#v2.
type Module struct{}

// Register implements xmpp.Module.
func (Module) Register(r *xmpp.Registry) {
	r.HandleIQ("set", NS, "mobile", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		s.SetInactive(iq.Attr("enable") == "true")
		return iq.Result(s, "")
	})
}
