package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/httpapi"
)

// httpLimits are the REST and admin servers' limits, so a client cannot
// hold them open.
type httpLimits struct {
	readHeaderTimeout, readTimeout time.Duration
	writeTimeout, idleTimeout      time.Duration
	maxConnsPerIP                  int
	maxBody                        int64
}

func (l *httpLimits) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.DurationVar(&l.readHeaderTimeout, "http-read-header-timeout", 10*time.Second, "time a client has to send a request's headers")
	f.DurationVar(&l.readTimeout, "http-read-timeout", 30*time.Second, "time a client has to send a whole request, body included")
	f.DurationVar(&l.writeTimeout, "http-write-timeout", 60*time.Second, "time to handle a request and write its answer")
	f.DurationVar(&l.idleTimeout, "http-idle-timeout", 60*time.Second, "how long a kept-alive connection may wait for its next request")
	f.IntVar(&l.maxConnsPerIP, "http-max-conns-per-ip", 64, "open HTTP connections per client address, loopback exempt (0: unlimited)")
	f.Int64Var(&l.maxBody, "http-max-body", httpapi.DefaultMaxBody, "largest request body, bytes (413 beyond)")
}

// server is an http.Server for h with the limits.
func (l *httpLimits) server(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h,
		ReadHeaderTimeout: l.readHeaderTimeout, ReadTimeout: l.readTimeout,
		WriteTimeout: l.writeTimeout, IdleTimeout: l.idleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}

func loginGuardFlags(cmd *cobra.Command, c *accounts.LoginGuardConfig) {
	d := accounts.DefaultLoginGuardConfig()
	f := cmd.Flags()
	f.IntVar(&c.AccountFreeFailures, "login-fail-free", d.AccountFreeFailures, "failed logins an account takes (REST and SASL) before it is locked out")
	f.IntVar(&c.IPFreeFailures, "login-fail-free-ip", d.IPFreeFailures, "failed logins one client address (IPv6: its /64) takes before it is locked out")
	f.DurationVar(&c.FirstLockout, "login-lockout-first", d.FirstLockout, "lockout after the first failure past the free ones; each further failure doubles it")
	f.DurationVar(&c.MaxLockout, "login-lockout-max", d.MaxLockout, "longest lockout")
	f.DurationVar(&c.ForgetAfter, "login-fail-forget", d.ForgetAfter, "failed logins are forgotten after this long without another")
	f.Float64Var(&c.IPRate, "login-guard-rate", d.IPRate, "REST password logins per second per client address, failed or not (negative: unlimited)")
	f.IntVar(&c.IPBurst, "login-guard-burst", d.IPBurst, "REST password logins in a row per client address before --login-guard-rate applies")
	f.BoolVar(&c.ExemptLoopback, "login-guard-exempt-loopback", true, "no per-address login limits for loopback clients (local tools; a same-host proxy without --http-behind-tls-proxy); accounts still lock")
	f.IntVar(&c.MaxKeys, "login-guard-max-tracked", d.MaxKeys, "accounts and addresses the login guard tracks (each); the least recently seen is forgotten beyond")
}

// checkPlainHTTP refuses a plain-HTTP REST address that is reachable from
// beyond loopback, unless a TLS-terminating proxy is said to be in front.
func checkPlainHTTP(addr string, behindProxy bool) error {
	return checkPlain("--http-addr", addr, behindProxy, "plain HTTP",
		"serve REST over TLS with --https-addr (and set --http-addr to 127.0.0.1:8080 or empty), "+
			"or set --http-behind-tls-proxy when a TLS-terminating proxy is the only thing that reaches it")
}

// checkPlainWS is the same rule for XMPP over plain WebSocket (ws://).
func checkPlainWS(addr string, wss, behindProxy bool) error {
	if wss {
		return nil
	}
	return checkPlain("--ws-addr", addr, behindProxy, "plain WebSocket (ws://)",
		"serve wss with --ws-tls (the node's certificate), set --ws-addr to 127.0.0.1:5291, "+
			"or set --ws-behind-tls-proxy when a TLS-terminating proxy is the only thing that reaches it")
}

// checkPlain refuses a listener without TLS on an address reachable from
// beyond loopback: passwords and session tokens would cross the network in
// clear. An empty host means every interface.
func checkPlain(flag, addr string, behindProxy bool, what, fix string) error {
	if disabled(addr) || behindProxy {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: %w", flag, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s %q serves %s beyond loopback, so passwords and session tokens would cross the network in clear: %s", flag, addr, what, fix)
}
