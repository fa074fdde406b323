package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one scenario's outcome against one server.
type Result struct {
	Server         string    `json:"server"`
	Scenario       string    `json:"scenario"`
	Sessions       int       `json:"sessions"`
	Logins         int       `json:"logins"`
	LoginFailures  int       `json:"login_failures"`
	LoginsPerSec   float64   `json:"logins_per_s"`
	KiBPerSession  float64   `json:"kib_per_session"`
	Sent           int64     `json:"sent"`
	Received       int64     `json:"received"`
	Lost           int64     `json:"lost"`
	Duplicated     int64     `json:"duplicated"`
	MsgsPerSec     float64   `json:"msgs_per_s"`
	P50ms          float64   `json:"p50_ms"`
	P95ms          float64   `json:"p95_ms"`
	P99ms          float64   `json:"p99_ms"`
	Maxms          float64   `json:"max_ms"`
	ServerCPUs     float64   `json:"server_cpu_s"`
	CPUPer1kMsgs   float64   `json:"cpu_s_per_1k_msgs"`
	CPUPer1kLogins float64   `json:"cpu_s_per_1k_logins,omitempty"` // connect: the server's CPU per login
	ServerRSSKiB   int64     `json:"server_rss_kib"`
	Errors         int64     `json:"errors"`
	FirstError     string    `json:"first_error,omitempty"` // the first error the server answered with
	Latencies      []float64 `json:"-"`                     // ms, sorted
	Timeline       []Point   `json:"timeline,omitempty"`
	Steps          []Step    `json:"steps,omitempty"`   // chat ramp
	Rooms          int       `json:"rooms,omitempty"`   // group
	Members        int       `json:"members,omitempty"` // group
	Drops          int64     `json:"drops,omitempty"`   // resume: connections cut
	Resumes        int64     `json:"resumes,omitempty"` // resume: sessions resumed
}

// Point is one second of a run.
type Point struct {
	T        int   `json:"t"`
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
}

// Proc reads a process' resident memory and CPU time from /proc.
type Proc struct{ PID int }

// RSSKiB is VmRSS of the process.
func (p Proc) RSSKiB() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// CPUSeconds is user+system time of the process (clock ticks of 1/100 s).
func (p Proc) CPUSeconds() float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseFloat(f[11], 64)
	sy, _ := strconv.ParseFloat(f[12], 64)
	return (u + sy) / 100
}

// Options bound a run.
type Options struct {
	Server   string        // a label: parley, ejabberd, prosody
	Users    int           // sessions
	Rate     float64       // connect: logins per second to attempt (0: as fast as Workers allow)
	Workers  int           // concurrent logins
	Hold     time.Duration // connect: how long to hold the sessions
	Interval time.Duration // chat: each user's send interval
	Duration time.Duration // chat: how long messages flow
	Size     int           // chat: body bytes
	PID      int           // server process, for RSS and CPU; 0 skips
	Rates    []float64     // chat: offered msgs/s per ramp step (empty: one step at Users/Interval)
	MaxP99   float64       // chat ramp: a step is sustained only with p99 under this (ms)
	// Group: rooms of Members users; "parley" rooms are dialogs made over
	// HTTP, "muc" rooms are XEP-0045 rooms on MUCDomain.
	Members       int
	RoomMode      string
	MUCDomain     string
	SaveToHistory bool
	DropEvery     time.Duration // resume: one random session is cut this often
	Seed, Page    int           // history: messages per dialog, page size
}

func (o *Options) defaults() {
	if o.Users <= 0 {
		o.Users = 100
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.MaxP99 <= 0 {
		o.MaxP99 = 10
	}
	// A ramp is bounded too: at most 30 minutes in all, 200,000 msgs/s a step.
	o.Rates = slices.DeleteFunc(o.Rates, func(r float64) bool { return r <= 0 || r > 200_000 })
	if k := int(30 * time.Minute / o.Duration); len(o.Rates) > k {
		o.Rates = o.Rates[:k]
	}
	if o.Size < 16 {
		o.Size = 64
	}
	// Bounds: a run can never be endless or unbounded in size.
	o.Users = min(o.Users, 50_000)
	o.Duration = min(o.Duration, 30*time.Minute)
	o.Hold = min(o.Hold, 30*time.Minute)
}

// connectAll logs users in with Workers at once (and at most Rate per
// pool calls f for 0..n-1 from workers goroutines, starting at most rate
// calls a second when rate > 0.
func pool(n, workers int, rate float64, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// connectAll logs users in with Workers at once (and at most Rate per
// second), returning the clients (nil where a login failed).
func connectAll(t *Target, o *Options, sm bool) ([]*Client, int, time.Duration) {
	clients := make([]*Client, o.Users)
	var failed atomic.Int64
	start := time.Now()
	pool(o.Users, o.Workers, o.Rate, func(i int) {
		c, err := Dial(t, i, sm)
		if err != nil {
			failed.Add(1)
			return
		}
		clients[i] = c
	})
	return clients, int(failed.Load()), time.Since(start)
}

// warmAuth authenticates every user once and hangs up.
func warmAuth(t *Target, o *Options) {
	pool(o.Users, o.Workers, 0, func(i int) {
		if c, err := dialAuth(t, i); err == nil {
			c.Close()
		}
	})
}

// connectEvery logs every user in, or none: after a failed login the
// others are closed again.
func connectEvery(t *Target, o *Options, sm bool) ([]*Client, error) {
	clients, failed, _ := connectAll(t, o, sm)
	if failed > 0 {
		closeAll(clients)
		return nil, fmt.Errorf("bench: %d of %d logins failed", failed, o.Users)
	}
	return clients, nil
}

func closeAll(clients []*Client) {
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
}

// meter follows a run: a timeline point each second while the load runs,
// then throughput and the server's own CPU and memory.
type meter struct {
	p        Proc
	cpu0     float64
	start    time.Time
	elapsed  time.Duration
	timeline []Point
}

func startMeter(pid int) *meter {
	p := Proc{pid}
	return &meter{p: p, cpu0: p.CPUSeconds(), start: time.Now()}
}

// follow samples sent and received once a second until the senders are done.
func (m *meter) follow(senders *sync.WaitGroup, sent, received func() int64) {
	done := make(chan struct{})
	go func() { senders.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			m.elapsed = time.Since(m.start)
			return
		case <-tick.C:
			m.timeline = append(m.timeline, Point{T: int(time.Since(m.start).Seconds()), Sent: sent(), Received: received()})
		}
	}
}

// settle lets what is in flight land: it waits at most d for received to
// reach want.
func settle(d time.Duration, want, received func() int64) {
	for end := time.Now().Add(d); received() < want() && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
}

// finish fills r's timeline, throughput and server figures.
func (m *meter) finish(r *Result) {
	r.Timeline = m.timeline
	r.MsgsPerSec = float64(r.Received) / m.elapsed.Seconds()
	if m.p.PID > 0 {
		r.ServerCPUs, r.ServerRSSKiB = m.p.CPUSeconds()-m.cpu0, m.p.RSSKiB()
		if r.Received > 0 {
			r.CPUPer1kMsgs = r.ServerCPUs / float64(r.Received) * 1000
		}
	}
}

// Connect ramps sessions, holds them and reports logins/s and the server's
// memory per session.
func Connect(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := CheckLoopback(t.Addr); err != nil {
		return nil, err
	}
	p := Proc{o.PID}
	if strings.HasPrefix(t.Mechanism, "SCRAM") {
		// A first, untimed pass fills the SCRAM key cache, as a returning
		// client has its keys, so the timed pass measures the server. It
		// only authenticates, Workers at a time, so the server's memory is
		// not left at an N-session high-water mark.
		warmAuth(t, &o)
		time.Sleep(2 * time.Second)
	}
	rss0 := p.RSSKiB()
	cpu0 := p.CPUSeconds()
	clients, failed, took := connectAll(t, &o, false)
	ok := o.Users - failed
	r := &Result{Server: o.Server, Scenario: "connect", Sessions: ok, Logins: ok, LoginFailures: failed, Errors: int64(failed)}
	r.LoginsPerSec = float64(ok) / took.Seconds()
	if o.PID > 0 && ok > 0 {
		r.ServerCPUs = p.CPUSeconds() - cpu0
		r.CPUPer1kLogins = r.ServerCPUs / float64(ok) * 1000
	}
	time.Sleep(max(o.Hold, 2*time.Second))
	if o.PID > 0 && ok > 0 {
		r.ServerRSSKiB = p.RSSKiB()
		r.KiBPerSession = float64(r.ServerRSSKiB-rss0) / float64(ok)
	}
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
	return r, nil
}

// deliveries records each first delivery's latency from the send time
// carried in the body; a message id seen twice counts as a duplicate.
type deliveries struct {
	mu         sync.Mutex
	seen       map[string]struct{}
	lat        []float64
	received   atomic.Int64
	duplicated atomic.Int64
}

func newDeliveries() *deliveries { return &deliveries{seen: make(map[string]struct{}, 1<<16)} }

// record reads a <message> carrying "<unix nanos> ..." in its body.
func (d *deliveries) record(s string) { d.recordAs(s, attr(s, "id")) }

// recordAs is record with the key a duplicate is recognised by.
func (d *deliveries) recordAs(s, key string) {
	if !strings.HasPrefix(s, "<message") {
		return
	}
	i := strings.Index(s, "<body>")
	j := strings.Index(s, "</body>")
	if i < 0 || j < i {
		return
	}
	body := s[i+6 : j]
	sp := strings.IndexByte(body, ' ')
	if sp < 0 {
		return
	}
	ts, err := strconv.ParseInt(body[:sp], 10, 64)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.seen[key]; dup {
		d.duplicated.Add(1)
		return
	}
	d.seen[key] = struct{}{}
	d.lat = append(d.lat, float64(time.Now().UnixNano()-ts)/1e6)
	d.received.Add(1)
}

// fill sets the latency quantiles of r from what was recorded.
func (d *deliveries) fill(r *Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	slices.Sort(d.lat)
	r.Latencies = d.lat
	r.Received, r.Duplicated = d.received.Load(), d.duplicated.Load()
	r.quantiles(d.lat)
}

// quantiles sets r's latency figures from sorted latencies.
func (r *Result) quantiles(lat []float64) {
	if len(lat) == 0 {
		return
	}
	q := func(f float64) float64 { return lat[min(int(f*float64(len(lat))), len(lat)-1)] }
	r.P50ms, r.P95ms, r.P99ms, r.Maxms = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
}

// inParallel runs f for 0..n-1, width at a time, and returns the first
// error; every call runs to its end.
func inParallel(n, width int, f func(i int) error) error {
	var first atomic.Pointer[error]
	pool(n, width, 0, func(i int) {
		if err := f(i); err != nil {
			first.CompareAndSwap(nil, &err)
		}
	})
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// readAll runs one reader per client until stop is closed, handing every
// element to handle with the client's index.
func readAll(clients []*Client, stop <-chan struct{}, handle func(i int, el string)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *Client) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := c.Next(time.Second)
				if err != nil {
					if isTimeout(err) {
						continue
					}
					return
				}
				handle(i, s)
			}
		}(i, c)
	}
	return &wg
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// stamped is a message body that starts with the send time.
func stamped(pad string) string { return strconv.FormatInt(time.Now().UnixNano(), 10) + " " + pad }

// Step is one offered rate of a chat ramp.
type Step struct {
	Offered    float64 `json:"offered_msgs_per_s"`
	MsgsPerSec float64 `json:"msgs_per_s"`
	Sent       int64   `json:"sent"`
	Lost       int64   `json:"lost"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	CPUPer1k   float64 `json:"cpu_s_per_1k_msgs,omitempty"`
	Sustained  bool    `json:"sustained"`
}

// chatStep has every client message its neighbour at rate messages per
// second in total for dur, then waits (at most 5 s) for what is in flight.
func chatStep(clients []*Client, o *Options, rate float64, dur time.Duration, d *deliveries) (r *Result) {
	n := len(clients)
	interval := time.Duration(float64(n) / rate * float64(time.Second))
	pad := strings.Repeat("x", o.Size)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var sent, errs atomic.Int64
	var seq atomic.Int64
	m := startMeter(o.PID)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *Client) {
			defer wg.Done()
			to, _, _ := strings.Cut(clients[(i+1)%n].JID, "/")
			// Spread the first sends over the interval.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(i) * interval / time.Duration(n)):
			}
			every := time.NewTicker(interval)
			defer every.Stop()
			for {
				id := "b" + strconv.FormatInt(seq.Add(1), 36) + "-" + strconv.Itoa(i)
				if err := c.write(`<message xmlns="jabber:client" to="` + to + `" type="chat" id="` + id + `"><body>` + stamped(pad) + `</body></message>`); err != nil {
					errs.Add(1)
					return
				}
				sent.Add(1)
				select {
				case <-ctx.Done():
					return
				case <-every.C:
				}
			}
		}(i, c)
	}
	m.follow(&wg, sent.Load, d.received.Load)
	settle(5*time.Second, sent.Load, d.received.Load)
	r = &Result{Server: o.Server, Scenario: "chat", Sessions: n, Logins: n, Sent: sent.Load(), Errors: errs.Load()}
	d.fill(r)
	r.Lost = max(r.Sent-r.Received, 0)
	m.finish(r)
	return r
}

// Chat: every user sends a Size-byte message to its neighbour each
// Interval for Duration; the send time travels in the body, so each
// delivery is timed when it is read. With Rates it is a ramp instead: each
// offered rate runs for Duration, and the run stops at the first rate the
// server does not sustain (p99 at or over MaxP99, or more than 0.1 % lost);
// MsgsPerSec is then the highest sustained rate.
func Chat(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := CheckLoopback(t.Addr); err != nil {
		return nil, err
	}
	clients, err := connectEvery(t, &o, false)
	if err != nil {
		return nil, err
	}
	defer closeAll(clients)
	var cur atomic.Pointer[deliveries]
	cur.Store(newDeliveries())
	stop := make(chan struct{})
	readers := readAll(clients, stop, func(_ int, el string) { cur.Load().record(el) })
	defer func() { close(stop); readers.Wait() }()
	if len(o.Rates) == 0 {
		return chatStep(clients, &o, float64(len(clients))/o.Interval.Seconds(), o.Duration, cur.Load()), nil
	}
	var best *Result
	var steps []Step
	for _, rate := range o.Rates {
		d := newDeliveries()
		cur.Store(d)
		r := chatStep(clients, &o, rate, o.Duration, d)
		st := Step{Offered: rate, MsgsPerSec: r.MsgsPerSec, Sent: r.Sent, Lost: r.Lost, P50ms: r.P50ms, P99ms: r.P99ms, CPUPer1k: r.CPUPer1kMsgs}
		st.Sustained = r.Errors == 0 && r.P99ms < o.MaxP99 && r.Lost*1000 <= r.Sent
		steps = append(steps, st)
		if !st.Sustained {
			break
		}
		best = r
	}
	if best == nil {
		best = &Result{Server: o.Server, Sessions: len(clients), Logins: len(clients)}
	}
	best.Scenario = "chat-max"
	best.Steps = steps
	return best, nil
}
