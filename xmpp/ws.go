package xmpp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// ListenWS serves RFC 7395 XMPP over WebSocket at the paths / and /ws.
// With useTLS the listener speaks wss; otherwise plain ws, which counts as
// secure only when the config says a TLS-terminating proxy is in front (or
// the use is local).
func (s *Server) ListenWS(addr string, useTLS bool) (net.Addr, error) {
	if useTLS && s.cfg.TLS == nil {
		return nil, errors.New("xmpp: wss needs a certificate")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.serveWS)
	mux.HandleFunc("/ws", s.serveWS)
	h := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          nil,
	}
	s.mu.Lock()
	s.https = append(s.https, h)
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	if useTLS {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	secure := useTLS || s.cfg.WSSecure
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		h.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, wsSecureKey{}, secure)
		}
		h.Serve(ln)
	}()
	return ln.Addr(), nil
}

type wsSecureKey struct{}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ip := addrIP(remoteAddr(r.RemoteAddr))
	if !s.connLim.allow(ip) {
		s.metrics.refused.Inc()
		http.Error(w, "too many connections", http.StatusTooManyRequests)
		return
	}
	wc, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{"xmpp"},
		// Authentication is in-band (SASL), not by cookie, so cross-origin
		// browser apps are welcome.
		OriginPatterns: []string{"*"},
	})
	if err != nil {
		return
	}
	if wc.Subprotocol() != "xmpp" {
		wc.Close(websocket.StatusProtocolError, "the xmpp subprotocol is required (RFC 7395)")
		return
	}
	// The connection lives past this handler: its context must too.
	nc := websocket.NetConn(context.Background(), wc, websocket.MessageText)
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c := s.newConn(nc, transportWS, ip, host)
	if c == nil {
		return
	}
	c.secure, _ = r.Context().Value(wsSecureKey{}).(bool)
	go c.start()
}

func remoteAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return &net.TCPAddr{}
	}
	return a
}
