// Package version is XEP-0092 Software Version for the server.
package version

import (
	"context"

	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/xmpp"
)

// NS is the software-version namespace.
const NS = "jabber:iq:version"

// Module answers with Name and Version.
type Module struct {
	Name, Version string
}

// Register implements xmpp.Module.
func (m Module) Register(r *xmpp.Registry) {
	payload := `<query xmlns="` + NS + `"><name>` + string(xmltext.AppendEscaped(nil, m.Name)) +
		`</name><version>` + string(xmltext.AppendEscaped(nil, m.Version)) + `</version></query>`
	r.Feature(xmpp.ServerEntity, NS)
	r.HandleIQ("get", NS, "query", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		return iq.Result(s, payload)
	})
}
