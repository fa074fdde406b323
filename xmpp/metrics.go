package xmpp

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the XMPP layer's Prometheus series. Label values are resolved
// once here so the per-stanza path does no map lookups.
type Metrics struct {
	connections *prometheus.GaugeVec
	accepted    *prometheus.CounterVec
	sessions    prometheus.Gauge
	in          [kindCount]prometheus.Counter
	out         [kindCount]prometheus.Counter
	loginOK     prometheus.Counter
	loginFail   prometheus.Counter
	routing     prometheus.Histogram
	drops       prometheus.Counter
	slow        prometheus.Counter
	badStanzas  prometheus.Counter
	refused     prometheus.Counter

	offlineStored    prometheus.Counter
	offlineDropped   prometheus.Counter
	offlineDelivered prometheus.Counter
	hibernated       prometheus.Counter
	resumed          prometheus.Counter
	replaced         prometheus.Counter
	loginRefused     prometheus.Counter
}

type stanzaKind uint8

const (
	kindMessage stanzaKind = iota
	kindPresence
	kindIQ
	kindOther
	kindCount
)

var kindNames = [kindCount]string{"message", "presence", "iq", "other"}

func kindOf(local []byte) stanzaKind {
	switch string(local) {
	case "message":
		return kindMessage
	case "presence":
		return kindPresence
	case "iq":
		return kindIQ
	}
	return kindOther
}

// NewMetrics registers the XMPP series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "parley_xmpp_connections", Help: "Open client connections by transport."}, []string{"transport"}),
		accepted:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_xmpp_connections_accepted_total", Help: "Accepted client connections by transport."}, []string{"transport"}),
		sessions:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_xmpp_sessions", Help: "Authenticated, bound sessions."}),
		routing: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_xmpp_routing_seconds", Help: "Time from reading a stanza to queueing it for its recipients.",
			Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2}}),
		drops:      prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_xmpp_queue_drops_total", Help: "Stanzas dropped because a recipient's outbound queue was full."}),
		slow:       prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_xmpp_slow_consumers_total", Help: "Connections closed for not reading fast enough."}),
		badStanzas: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_xmpp_bad_stanzas_total", Help: "Malformed stanzas refused with bad-request."}),
		refused:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_xmpp_connections_refused_total", Help: "Connections refused by the per-IP rate limit."}),

		offlineStored:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_offline_stored_total", Help: "Messages queued for users with no session."}),
		offlineDropped:   prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_offline_dropped_total", Help: "Oldest offline messages dropped because a user's queue was full."}),
		offlineDelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_offline_delivered_total", Help: "Offline messages delivered at login."}),
		hibernated:       prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_sm_hibernated_total", Help: "Stream-managed sessions kept for resumption after their connection broke."}),
		resumed:          prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_sm_resumed_total", Help: "Sessions resumed (XEP-0198)."}),
		replaced:         prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_xmpp_sessions_replaced_total", Help: "Sessions ended because their user bound more than --max-sessions-per-user."}),
		loginRefused:     prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_xmpp_login_refused_total", Help: "SASL attempts refused by the login guard (too many failures for the account or address)."}),
	}
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_xmpp_stanzas_in_total", Help: "Stanzas received from clients by kind."}, []string{"kind"})
	out := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_xmpp_stanzas_out_total", Help: "Stanzas queued to clients by kind."}, []string{"kind"})
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_xmpp_logins_total", Help: "SASL authentications by result."}, []string{"result"})
	for k := stanzaKind(0); k < kindCount; k++ {
		m.in[k] = in.WithLabelValues(kindNames[k])
		m.out[k] = out.WithLabelValues(kindNames[k])
	}
	m.loginOK = logins.WithLabelValues("ok")
	m.loginFail = logins.WithLabelValues("failed")
	reg.MustRegister(m.connections, m.accepted, m.sessions, in, out, logins, m.routing, m.drops, m.slow, m.badStanzas, m.refused,
		m.offlineStored, m.offlineDropped, m.offlineDelivered, m.hibernated, m.resumed, m.replaced, m.loginRefused)
	return m
}
