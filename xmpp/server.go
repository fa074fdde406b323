// Package xmpp is Parley's client-to-server XMPP layer: listeners for
// STARTTLS, direct TLS and WebSocket (RFC 7395), stream negotiation, SASL,
// resource binding, the per-connection read loop and outbound queue, and
// routing between sessions.
//
// Negotiation runs on Parley's own element framer (package wire) rather than
// mellium's Session: the Session buffers past element boundaries (pipelined
// input after SASL is lost), splits large stanzas across WebSocket frames and
// holds two 4 KiB buffers plus a deep stack per idle connection. Parley uses
// mellium's sasl negotiator, its jid, stanza and stream packages, and keeps
// every connection at a few KiB while idle.
//
// Data flow. A stanza enters in conn.readLoop (conn.go) and is checked and
// dispatched by conn.handle (route.go): messages to routeMessage (1-1) or
// routeGroup (rooms, chat.go), presence to handlePresence, IQs to handleIQ.
// IQs to the server, to an account's bare JID and to a room are answered by
// the handler a module registered for their namespace and element
// (module.go: Registry); messages and presence run the modules' typed hooks
// (OnChat, OnRouted, OnPresence, subscriptions) after the core routed them.
// Everything leaves through a session's bounded outbound queue (queue.go),
// or, for a user on another node, through the cluster (cluster.go).
//
// The extensions are packages under xmpp/ (ping, version, carbons,
// clientstate, privacylists, lastactivity, pushes, moderation, mam), listed
// in xmpp/modules; the core keeps the chat model of dialogs and history
// (chat.go, live.go), the room presence of MUC (muc.go), offline storage
// and stream management, which are its queues.
package xmpp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/privacy"
)

// Config holds the XMPP layer's settings. Zero values take the defaults
// noted on each field.
type Config struct {
	Domain string      // served domain; user JIDs are <userId>-<appId>@Domain
	TLS    *tls.Config // certificates for STARTTLS, direct TLS and wss
	Auth   Authenticator
	// LoginGuard limits failed logins per account and address, shared with
	// the REST API; nil limits nothing beyond LoginRate.
	LoginGuard *accounts.LoginGuard
	Logger     *slog.Logger

	MaxStanza          int           // bytes; default 256 KiB
	MaxQueue           int           // outbound bytes pending per connection; default 4 MiB
	WriteTimeout       time.Duration // per batch; default 30 s
	NegotiationTimeout time.Duration // from accept to bound resource; default 30 s
	IdleTimeout        time.Duration // silence before the server pings; default 90 s
	PingTimeout        time.Duration // time to answer that ping; default 30 s
	StanzaTimeout      time.Duration // from a stanza's first byte to its last; default 60 s
	ConnRate           float64       // new connections per second per IP; 0 = unlimited
	ConnBurst          int
	LoginRate          float64 // SASL attempts per second per IP; 0 = unlimited
	LoginBurst         int
	// WSSecure marks plain-ws connections as secure (TLS terminated by a
	// proxy in front, or local use), so SASL is offered on them.
	WSSecure bool
	// AllowPlaintext offers SASL on 5222 without STARTTLS (load tests on
	// loopback only). Off by default.
	AllowPlaintext bool

	// Dialogs and History give messages the ConnectyCube chat model; nil
	// leaves Parley a plain router.
	Dialogs *dialogs.Service
	History *history.Archive
	// Archiving, when set, is asked before a 1-1 message is archived under
	// an app's archive-all policy (users' MAM preferences).
	Archiving interface {
		Refuses(ctx context.Context, appID, sender int64, senderJID string, recipient int64, recipientJID string) bool
	}
	// Modules are the extensions served besides those of the core (see
	// Module); each registers its IQ handlers and disco features.
	Modules []Module
	// MUCStrict drops the ConnectyCube SDK's MUC compatibility element
	// (spec 3.8) from join/leave presence.
	MUCStrict bool

	// Offline queues messages for users with no session; nil bounces them.
	Offline history.OfflineStore
	// OfflineMax bounds each user's offline queue (oldest dropped); default 1,000.
	OfflineMax int
	// Accounts answers last-activity questions and records logouts.
	Accounts *accounts.Service
	// Privacy enforces users' default privacy lists; nil enforces nothing.
	Privacy *privacy.Service
	// MaxSessionsPerUser bounds a user's bound and hibernated sessions on a
	// node; a new one beyond it replaces the oldest (conflict). Default 10.
	MaxSessionsPerUser int
	// ResumeTimeout is how long a broken stream-managed session waits to be
	// resumed (XEP-0198); default 5 minutes.
	ResumeTimeout time.Duration
}

func (c *Config) defaults() {
	if c.Domain == "" {
		c.Domain = "localhost"
	}
	if c.MaxStanza <= 0 {
		c.MaxStanza = 256 << 10
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 4 << 20
	}
	if c.MaxQueue < 2*c.MaxStanza {
		c.MaxQueue = 2 * c.MaxStanza
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.NegotiationTimeout <= 0 {
		c.NegotiationTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 90 * time.Second
	}
	if c.StanzaTimeout <= 0 {
		c.StanzaTimeout = time.Minute
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 30 * time.Second
	}
	if c.ConnBurst <= 0 {
		c.ConnBurst = 20
	}
	if c.ResumeTimeout <= 0 {
		c.ResumeTimeout = 5 * time.Minute
	}
	if c.MaxSessionsPerUser <= 0 {
		c.MaxSessionsPerUser = 10
	}
	if c.OfflineMax <= 0 {
		c.OfflineMax = defaultOfflineMax
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server accepts client connections and routes stanzas between sessions.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	reg     registry
	connLim *ipLimiter
	authLim *ipLimiter

	mu         sync.Mutex
	conns      map[*conn]struct{}
	listeners  []net.Listener
	https      []*http.Server
	closing    atomic.Bool
	wg         sync.WaitGroup
	stop       chan struct{}
	stopOnce   sync.Once
	muc        string // room domain
	rooms      rooms
	smMu       sync.Mutex
	smByID     map[string]*smState // resumable sessions by stream id
	cluster    Cluster             // nil on a single node
	crashed    atomic.Bool         // Crash: drop everything, clean nothing up
	known      knownUsers          // users known to exist (phantom recipients)
	loginLogAt atomic.Int64        // last refused-login log line (sampling)
	modules    Registry            // what the core and the modules answer
	rosterVer  bool                // roster versioning is announced
	policies   sync.Map            // app id -> appPolicy (archiving)
}

// NewServer builds a server; call the Listen methods to serve.
func NewServer(cfg Config, m *Metrics) *Server {
	cfg.defaults()
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: m,
		connLim: newIPLimiter(cfg.ConnRate, cfg.ConnBurst),
		authLim: newIPLimiter(cfg.LoginRate, cfg.LoginBurst),
		conns:   map[*conn]struct{}{},
		stop:    make(chan struct{}),
		muc:     "muc." + cfg.Domain,
		smByID:  map[string]*smState{},
	}
	s.reg.init()
	s.modules.core = s
	s.registerCore(&s.modules)
	for _, m := range cfg.Modules {
		m.Register(&s.modules)
	}
	s.rosterVer = s.modules.iq[iqKey{"get", nsRoster, "query"}] != nil // a roster module serves versions
	s.registerFallbacks(&s.modules)
	s.modules.seal([numEntities]string{
		ServerEntity:  `<identity category="server" type="im" name="Parley"/>`,
		AccountEntity: `<identity category="account" type="registered"/>`,
		RoomsEntity:   `<identity category="conference" type="text" name="Rooms"/>`,
	})
	go s.sweep()
	return s
}

// Domain is the served domain.
func (s *Server) Domain() string { return s.cfg.Domain }

// ListenC2S serves RFC 6120 client streams on addr, STARTTLS required.
func (s *Server) ListenC2S(addr string) (net.Addr, error) {
	return s.listenTCP(addr, transportTCP)
}

// ListenC2STLS serves client streams on addr with TLS from the first byte
// (XEP-0368).
func (s *Server) ListenC2STLS(addr string) (net.Addr, error) {
	if s.cfg.TLS == nil {
		return nil, errors.New("xmpp: direct TLS needs a certificate")
	}
	return s.listenTCP(addr, transportTLS)
}

func (s *Server) listenTCP(addr string, t transport) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var delay time.Duration
		for {
			nc, err := ln.Accept()
			if err != nil {
				if s.closing.Load() {
					return
				}
				// Out of descriptors and the like: back off, do not spin.
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
					delay = min(max(2*delay, 5*time.Millisecond), time.Second)
					time.Sleep(delay)
					continue
				}
				s.log.Error("xmpp: accept failed", "addr", addr, "err", err)
				return
			}
			delay = 0
			ip := addrIP(nc.RemoteAddr())
			if !s.connLim.allow(ip) {
				s.metrics.refused.Inc()
				nc.Close()
				continue
			}
			c := s.newConn(nc, t, ip, "")
			if c == nil {
				continue
			}
			go c.start()
		}
	}()
	return ln.Addr(), nil
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// newConn registers a connection; nil when the server is shutting down.
func (s *Server) newConn(nc net.Conn, t transport, ip netip.Addr, host string) *conn {
	c := &conn{srv: s, nc: nc, transport: t, ip: ip, wsHost: host, done: make(chan struct{})}
	c.lastRead.Store(time.Now().UnixNano())
	c.accepted = time.Now()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		nc.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.metrics.connections.WithLabelValues(t.String()).Inc()
	s.metrics.accepted.WithLabelValues(t.String()).Inc()
	return c
}

func (s *Server) dropConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.metrics.connections.WithLabelValues(c.transport.String()).Dec()
}

// sweep pings idle sessions and closes dead or stuck ones. One goroutine
// for all connections instead of a timer each keeps idle connections cheap.
func (s *Server) sweep() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var batch []*conn
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		s.mu.Lock()
		batch = batch[:0]
		for c := range s.conns {
			batch = append(batch, c)
		}
		s.mu.Unlock()
		for _, c := range batch {
			c.checkIdle(now)
		}
		clear(batch)
	}
}

// Shutdown stops accepting, closes every stream properly and waits for the
// connections to end or ctx to expire, after which the rest are cut.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for _, ln := range s.listeners {
		ln.Close()
	}
	https := s.https
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, h := range https {
		h.Close() // WebSocket connections are hijacked and unaffected
	}
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		for _, c := range conns {
			<-c.done
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range conns {
			c.nc.Close()
		}
		err = ctx.Err()
	}
	// Hibernated sessions end now: their unacknowledged messages go offline.
	s.smMu.Lock()
	var hib []*smState
	for _, st := range s.smByID {
		hib = append(hib, st)
	}
	s.smMu.Unlock()
	for _, st := range hib {
		st.mu.Lock()
		c, live := st.prevConn, st.conn != nil
		st.mu.Unlock()
		if !live && c != nil {
			s.expire(st, c)
		}
	}
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return err
}

// SessionCount is the number of bound sessions on this node.
func (s *Server) SessionCount() int { return s.reg.count() }

// SetOfflineMax changes the per-user offline bound (tests and operators).
func (s *Server) SetOfflineMax(n int) { s.cfg.OfflineMax = n }

// SetResumeTimeout changes how long broken sessions wait to be resumed.
func (s *Server) SetResumeTimeout(d time.Duration) { s.cfg.ResumeTimeout = d }
