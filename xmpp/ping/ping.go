// Package ping is XEP-0199 XMPP Ping for requests to the server: the
// answer is an empty result. (The server's own keepalive pings of idle
// clients belong to the core.)
package ping

import (
	"context"

	"github.com/parley-chat/parley/xmpp"
)

// NS is the ping namespace.
const NS = "urn:xmpp:ping"

// Module answers pings.
type Module struct{}

// Register implements xmpp.Module.
func (Module) Register(r *xmpp.Registry) {
	r.Feature(xmpp.ServerEntity, NS)
	r.HandleIQ("get", NS, "ping", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		return iq.Result(s, "")
	})
}
