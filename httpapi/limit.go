package httpapi

import (
	"net"
	"net/netip"
	"sync"
)

// ConnLimit is a cap on the connections one client address holds open.
type ConnLimit struct {
	PerIP int // <= 0: no cap
	// Exempt, when set, names addresses without a cap (e.g. loopback, where
	// a local proxy or the operator's tools connect from).
	Exempt func(netip.Addr) bool
	// Refused, when set, is called for each connection closed over the cap.
	Refused func(netip.Addr)
}

// LimitListener applies lim to ln: a connection over the cap is closed as
// soon as it is accepted, so a few addresses cannot use up the server's
// sockets (or hold them open with slow requests).
func LimitListener(ln net.Listener, lim ConnLimit) net.Listener {
	if lim.PerIP <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, lim: lim, open: map[netip.Addr]int{}}
}

type limitListener struct {
	net.Listener
	lim  ConnLimit
	mu   sync.Mutex
	open map[netip.Addr]int // only addresses with open connections: bounded by them
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteAddr(c)
		if l.lim.Exempt != nil && l.lim.Exempt(ip) {
			return c, nil
		}
		l.mu.Lock()
		ok := l.open[ip] < l.lim.PerIP
		if ok {
			l.open[ip]++
		}
		l.mu.Unlock()
		if ok {
			return &limitConn{Conn: c, l: l, ip: ip}, nil
		}
		if l.lim.Refused != nil {
			l.lim.Refused(ip) // counted before the client can see the close
		}
		c.Close()
	}
}

func (l *limitListener) release(ip netip.Addr) {
	l.mu.Lock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
	l.mu.Unlock()
}

func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr().Unmap()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	ip   netip.Addr
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}
