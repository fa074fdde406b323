package xmpp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley/xmpp"
)

type echoModule struct{}

func (echoModule) Register(r *xmpp.Registry) {
	r.Feature(xmpp.ServerEntity, "urn:test:echo")
	r.HandleIQ("get", "urn:test:echo", "echo", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		return iq.Result(s, `<echo xmlns="urn:test:echo">`+s.Bare()+`</echo>`)
	})
}

// A module's IQ handler answers requests to the server and its feature is
// in the server's disco#info, which lists exactly what was registered.
func TestModulesRegisterHandlersAndFeatures(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.Modules = append(c.Modules, echoModule{}) })
	alice, _ := e.user("alice", "alice-password")
	c := e.login(viaTLS, alice, "alice-password")
	c.send(`<iq type="get" id="e1"><echo xmlns="urn:test:echo"/></iq>`)
	if got := c.readUntil(`id="e1"`); !strings.Contains(got, `<echo xmlns="urn:test:echo">`+alice+`@localhost</echo>`) {
		t.Fatalf("echo: %s", got)
	}
	c.send(`<iq type="get" id="d1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	got := c.readUntil(`id="d1"`)
	for _, f := range []string{"urn:test:echo", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:sm:3", "jabber:iq:privacy", "urn:xmpp:blocking"} {
		if !strings.Contains(got, `var="`+f+`"`) {
			t.Errorf("disco#info lacks %s: %s", f, got)
		}
	}
	c.send(`<iq type="set" id="e2"><echo xmlns="urn:test:echo"/></iq>`) // only get is registered
	if got := c.readUntil(`id="e2"`); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("unregistered type: %s", got)
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("two handlers for one request were accepted")
		}
	}()
	var r xmpp.Registry
	echoModule{}.Register(&r)
	echoModule{}.Register(&r)
}
