package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/accounts"
)

// loginLimits holds what throttles password logins on the REST side.
type loginLimits struct {
	guard   *accounts.LoginGuard
	refused prometheus.Counter
	logged  rate.Sometimes // one refusal log line a second at most
	dropped atomic.Int64   // refusals not logged since the last line
}

func newLoginLimits(guard *accounts.LoginGuard, reg prometheus.Registerer) *loginLimits {
	if guard == nil {
		guard = accounts.NewLoginGuard(accounts.DefaultLoginGuardConfig())
	}
	l := &loginLimits{guard: guard, logged: rate.Sometimes{Interval: time.Second},
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_http_login_refused_total",
			Help: "REST password logins refused with 429 by the login guard (lockout after failures or attempt rate)."})}
	if reg != nil {
		reg.MustRegister(l.refused)
	}
	return l
}

// loginAccount names the account a login body is for: by user id when the
// user exists, the key XMPP SASL uses too, so failures count across both;
// else by the name given, so guesses at unknown accounts are limited too.
func (a *API) loginAccount(ctx context.Context, appID int64, l *loginJSON) accounts.LoginAccount {
	q := accounts.UserQuery{Limit: 1}
	name := accounts.AccountByEmail(appID, l.Email)
	switch {
	case l.Login != "":
		q.Logins, name = []string{l.Login}, accounts.AccountByLogin(appID, l.Login)
	case l.Email != "":
		q.Emails = []string{l.Email}
	default:
		return name
	}
	if users, _, err := a.accounts.Users(ctx, appID, q); err == nil && len(users) == 1 {
		return accounts.AccountByID(appID, users[0].ID)
	}
	return name
}

// allowLogin asks the guard; a refusal is answered here (429) and false
// returned.
func (a *API) allowLogin(w http.ResponseWriter, r *http.Request, acct accounts.LoginAccount, ip netip.Addr) bool {
	ok, retry := a.logins.guard.Allow(acct, ip)
	if ok {
		return true
	}
	secs := int64(retry / time.Second)
	a.logins.refused.Inc()
	a.logins.dropped.Add(1)
	a.logins.logged.Do(func() {
		a.log.Warn("httpapi: login refused by the login guard", "ip", ip.String(), "app", acct.AppID,
			"retry_after_s", secs, "refused_since_last_line", a.logins.dropped.Swap(0))
	})
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeError(w, http.StatusTooManyRequests, map[string][]string{"base": {"Too many login attempts, retry in " + strconv.FormatInt(secs, 10) + " seconds"}})
	return false
}

// loginDone reports a login's outcome to the guard: a wrong password or an
// unknown account is a failure; other errors (bad input, store down) are not.
func (a *API) loginDone(acct accounts.LoginAccount, ip netip.Addr, err error) {
	switch {
	case err == nil:
		a.logins.guard.Succeeded(acct, ip)
	case errors.Is(err, accounts.ErrUnauthorized):
		a.logins.guard.Failed(acct, ip)
	}
}

// clientAddr is the address a request came from.
func clientAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	ip, _ := netip.ParseAddr(r.RemoteAddr)
	return ip.Unmap()
}

// TrustForwardedFor serves h with each request's RemoteAddr taken from the
// last X-Forwarded-For entry, the one the proxy in front added. Use it only
// on a listener that a proxy which sets that header alone can reach.
func TrustForwardedFor(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				r2 := *r
				r2.RemoteAddr = netip.AddrPortFrom(ip, 0).String()
				r = &r2
			}
		}
		h.ServeHTTP(w, r)
	})
}
