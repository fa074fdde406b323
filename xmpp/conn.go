package xmpp

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/stream"

	"github.com/parley-chat/parley/xmpp/wire"
)

type transport uint8

const (
	transportTCP transport = iota // 5222, STARTTLS
	transportTLS                  // 5223, direct TLS
	transportWS                   // RFC 7395
)

func (t transport) String() string {
	switch t {
	case transportTLS:
		return "tls"
	case transportWS:
		return "websocket"
	}
	return "tcp"
}

// Read buffer bounds: a connection starts small and returns to small when
// idle; it grows (doubling) only while a large stanza is being read.
const minReadBuf = 512

// conn is one client connection: a reader goroutine that runs negotiation and
// then the read loop, and (once bound) one writer goroutine that drains the
// outbound queue.
type conn struct {
	srv       *Server
	nc        net.Conn
	transport transport
	ip        netip.Addr
	wsHost    string // WebSocket Host header, accepted as the stream's to
	secure    bool

	rbuf     []byte
	r, w     int
	lastN    int
	split    wire.Splitter
	prefixes []byte            // xmlns:p declarations of the stream header, re-declared on forwarded stanzas
	rootNS   map[string][]byte // the same, for the parser

	out      outQueue
	done     chan struct{}
	ended    sync.Once
	accepted time.Time
	lastRead atomic.Int64
	pingAt   atomic.Int64 // when the outstanding server ping was sent; 0 if none
	// partialAt is when the unit being read began arriving (0: none): a
	// client trickling one stanza forever is cut after StanzaTimeout.
	partialAt atomic.Int64
	bound     atomic.Bool
	closed    atomic.Bool
	// Stream management: the state (set at enable, moved on resume), whether
	// the client closed the stream itself, and whether a resumed stream
	// took this session over.
	sm         atomic.Pointer[smState]
	inactive   atomic.Bool // CSI or mobile#v2: no typing, counts as away
	cleanClose bool
	superseded atomic.Bool
	ending     atomic.Bool // replaced or kicked: no longer counts as a session
	// The session token the stream signed in with (0: the password) and
	// when it expires (unix nanoseconds): revocation and expiry end it.
	token, tokenExp atomic.Int64

	// Identity, fixed at bind.
	appID, userID int64
	resource      string
	jid           string // full JID
	bare          string

	mu        sync.Mutex
	available bool
	presence  []byte // last available presence broadcast, as sent to others
}

func (c *conn) framed() bool { return c.transport == transportWS }

// start runs negotiation on this goroutine, then hands the read loop to a
// fresh goroutine so the negotiation's deep stack is not kept while idle.
func (c *conn) start() {
	if c.transport == transportTLS {
		tc := tls.Server(c.nc, c.srv.cfg.TLS)
		c.nc.SetDeadline(time.Now().Add(c.srv.cfg.NegotiationTimeout))
		if err := tc.Handshake(); err != nil {
			c.end()
			return
		}
		c.nc.SetDeadline(time.Time{})
		c.nc = tc
		c.secure = true
	}
	if c.transport == transportWS && c.srv.cfg.WSSecure {
		c.secure = true
	}
	if c.transport == transportTCP && c.srv.cfg.AllowPlaintext {
		c.secure = true
	}
	c.split.Max = c.srv.cfg.MaxStanza
	c.rbuf = make([]byte, minReadBuf)
	if !c.negotiate() {
		c.end()
		return
	}
	go c.readLoop()
}

// next returns the next unit from the connection. The bytes are valid until
// the following call.
func (c *conn) next() (wire.Kind, []byte, error) {
	for {
		if c.w > c.r {
			n, kind, err := c.split.Next(c.rbuf[c.r:c.w])
			if err != nil {
				return 0, nil, err
			}
			if n > 0 {
				b := c.rbuf[c.r : c.r+n]
				c.r += n
				c.partialAt.Store(0)
				return kind, b, nil
			}
			if c.partialAt.Load() == 0 {
				c.partialAt.Store(time.Now().UnixNano()) // a unit has begun
			}
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
			c.shrink()
		}
		if c.w == len(c.rbuf) {
			if c.r > 0 {
				copy(c.rbuf, c.rbuf[c.r:c.w])
				c.w -= c.r
				c.r = 0
			} else {
				// A unit larger than the buffer: grow, but never far past the
				// stanza limit (the splitter refuses anything bigger).
				size := min(2*len(c.rbuf), c.srv.cfg.MaxStanza+4096)
				if size <= len(c.rbuf) {
					return 0, nil, wire.ErrTooLarge
				}
				nb := make([]byte, size)
				copy(nb, c.rbuf[:c.w])
				c.rbuf = nb
			}
		}
		n, err := c.nc.Read(c.rbuf[c.w:])
		if n > 0 {
			c.w += n
			c.lastN = n
			c.lastRead.Store(time.Now().UnixNano())
			c.pingAt.Store(0)
		}
		if err != nil && n == 0 {
			return 0, nil, err
		}
	}
}

// shrink halves an empty read buffer when the last read used little of it,
// so a connection that once read a large stanza does not keep the memory.
func (c *conn) shrink() {
	if len(c.rbuf) > minReadBuf && c.lastN < len(c.rbuf)/4 {
		c.rbuf = make([]byte, max(len(c.rbuf)/2, minReadBuf))
	}
}

// resetReader starts a new stream on the connection (after STARTTLS or
// SASL): buffered input is kept only when the restart allows it.
func (c *conn) resetReader(keep bool) {
	if !keep {
		c.r, c.w = 0, 0
	}
	c.split.Reset()
	c.split.Header = !c.framed()
}

// writeNow writes during negotiation, before the writer goroutine exists.
func (c *conn) writeNow(parts ...[]byte) error {
	return writeBatch(c.nc, c.framed(), parts, c.srv.cfg.WriteTimeout)
}

// send queues b for the client. When the queue is over its limit, the
// connection is closed as a slow consumer and false returned.
func (c *conn) send(b []byte, k stanzaKind) bool {
	if st := c.sm.Load(); st != nil && k != kindOther {
		return st.send(c.srv, b, k)
	}
	ok, overflow := c.out.push(b)
	if ok {
		c.srv.metrics.out[k].Inc()
		return true
	}
	if overflow {
		c.srv.metrics.drops.Inc()
		if c.closed.CompareAndSwap(false, true) {
			c.srv.metrics.slow.Inc()
			c.srv.log.Warn("xmpp: slow consumer disconnected", "jid", c.jid, "limit", c.srv.cfg.MaxQueue)
			c.nc.Close()
		}
	}
	return false
}

// waitRoom waits, at most d, until n more bytes fit both the outbound
// queue and the stream-management queue; false when the connection closed
// or the client did not make room in time.
func (c *conn) waitRoom(n int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if c.closed.Load() {
			return false
		}
		room := c.out.room(n)
		if st := c.sm.Load(); st != nil && room {
			st.mu.Lock()
			room = st.conn == c && (st.bytes == 0 || st.bytes+n <= c.srv.cfg.MaxQueue)
			st.mu.Unlock()
		}
		if room {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeLoop is the connection's only writer once it is bound.
func (c *conn) writeLoop() {
	var spare [][]byte
	for range c.out.kick {
		batch, closing := c.out.take(spare)
		if len(batch) > 0 {
			if err := writeBatch(c.nc, c.framed(), batch, c.srv.cfg.WriteTimeout); err != nil {
				c.nc.Close()
				c.out.close(nil)
				return
			}
		}
		clear(batch)
		if cap(batch) > 256 {
			batch = nil // a burst passed; do not keep its slice
		}
		spare = batch
		if closing {
			// Everything queued before close is out; let the client's own
			// close arrive for a moment, then cut.
			time.AfterFunc(2*time.Second, func() { c.nc.Close() })
			return
		}
	}
}

// closeStream ends the stream from our side: an optional stream error, then
// the stream close, then the connection.
func (c *conn) closeStream(errEl []byte) {
	if !c.closed.CompareAndSwap(false, true) {
		return
	}
	closing := c.closeTag()
	if errEl != nil {
		closing = append(append([]byte{}, errEl...), closing...)
		if c.framed() {
			// One element per WebSocket message.
			c.out.push(errEl)
			closing = c.closeTag()
		}
	}
	if c.bound.Load() {
		c.out.close(closing)
		return
	}
	c.writeNow(closing)
	c.nc.Close()
}

func (c *conn) closeTag() []byte {
	if c.framed() {
		return []byte(`<close xmlns="` + nsFraming + `"/>`)
	}
	return []byte(`</stream:stream>`)
}

// fail sends a stream error and closes.
func (c *conn) fail(cond stream.Error, text string) {
	c.srv.log.Debug("xmpp: stream error", "cond", cond.Err, "text", text, "jid", c.jid, "ip", c.ip)
	c.closeStream(streamError(cond, text))
}

// failRead maps a read error to the stream error it deserves.
func (c *conn) failRead(err error) {
	switch {
	case errors.Is(err, wire.ErrTooLarge):
		c.fail(stream.PolicyViolation, "stanza exceeds the maximum size of "+strconv.Itoa(c.srv.cfg.MaxStanza)+" bytes")
		c.drain()
	case errors.Is(err, wire.ErrTooDeep):
		c.fail(stream.PolicyViolation, "elements nested too deep")
	case errors.Is(err, wire.ErrRestricted):
		c.fail(stream.RestrictedXML, "")
	case errors.Is(err, wire.ErrSyntax):
		c.fail(stream.NotWellFormed, "")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.nc.Close()
	default:
		c.nc.Close()
	}
}

// drain discards what the client is still sending, for a moment, so that
// closing does not reset the connection before it reads our stream error.
func (c *conn) drain() {
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 16<<10)
	for total := 0; total < 8<<20; {
		n, err := c.nc.Read(buf)
		total += n
		if err != nil {
			return
		}
	}
}

// checkIdle is called by the server's sweeper about once a second.
func (c *conn) checkIdle(now time.Time) {
	cfg := &c.srv.cfg
	if !c.bound.Load() {
		if now.Sub(c.accepted) > cfg.NegotiationTimeout {
			c.nc.Close()
		}
		return
	}
	if at := c.partialAt.Load(); at != 0 && now.Sub(time.Unix(0, at)) > cfg.StanzaTimeout {
		c.fail(stream.PolicyViolation, "a stanza took longer than "+cfg.StanzaTimeout.String()+" to arrive")
		return
	}
	if exp := c.tokenExp.Load(); exp != 0 && now.UnixNano() >= exp && !c.ending.Load() {
		c.srv.endSession(c, stream.NotAuthorized, "the session token expired")
		return
	}
	if at := c.pingAt.Load(); at != 0 {
		if now.Sub(time.Unix(0, at)) > cfg.PingTimeout {
			c.fail(stream.ConnectionTimeout, "no answer to ping")
		}
		return
	}
	if now.Sub(time.Unix(0, c.lastRead.Load())) > cfg.IdleTimeout {
		c.pingAt.Store(now.UnixNano())
		c.send(iqPing(c.srv.cfg.Domain, c.jid, "srv-ping-"+strconv.FormatInt(now.Unix(), 36)), kindIQ)
	}
}

func iqPing(from, to, id string) []byte {
	b := appendOpen(make([]byte, 0, 160), "iq", "get", id, from, to)
	return append(b, `><ping xmlns="urn:xmpp:ping"/></iq>`...)
}

// shutdown closes the stream for a server stop.
func (c *conn) shutdown() {
	if c.bound.Load() {
		c.fail(stream.SystemShutdown, "server is shutting down")
		return
	}
	c.nc.Close()
}

// end releases everything; runs once, from the reader goroutine.
func (c *conn) end() {
	c.ended.Do(func() {
		c.closed.Store(true)
		// A WebSocket close waits for the peer's close frame: not here.
		go c.nc.Close()
		if c.bound.Load() && !c.superseded.Load() && !c.srv.crashed.Load() && !c.srv.hibernate(c) {
			c.srv.finalize(c, c.sm.Load())
		}
		c.out.close(nil)
		c.srv.dropConn(c)
		close(c.done)
	})
}
