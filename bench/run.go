package bench

import (
	"context"
	"fmt"
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
	Server        string    `json:"server"`
	Scenario      string    `json:"scenario"`
	Sessions      int       `json:"sessions"`
	Logins        int       `json:"logins"`
	LoginFailures int       `json:"login_failures"`
	LoginsPerSec  float64   `json:"logins_per_s"`
	KiBPerSession float64   `json:"kib_per_session"`
	Sent          int64     `json:"sent"`
	Received      int64     `json:"received"`
	Lost          int64     `json:"lost"`
	Duplicated    int64     `json:"duplicated"`
	MsgsPerSec    float64   `json:"msgs_per_s"`
	P50ms         float64   `json:"p50_ms"`
	P95ms         float64   `json:"p95_ms"`
	P99ms         float64   `json:"p99_ms"`
	Maxms         float64   `json:"max_ms"`
	ServerCPUs    float64   `json:"server_cpu_s"`
	CPUPer1kMsgs  float64   `json:"cpu_s_per_1k_msgs"`
	ServerRSSKiB  int64     `json:"server_rss_kib"`
	Errors        int64     `json:"errors"`
	Latencies     []float64 `json:"-"` // ms, sorted
	Timeline      []Point   `json:"timeline,omitempty"`
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
	if o.Size < 16 {
		o.Size = 64
	}
	// Bounds: a run can never be endless or unbounded in size.
	o.Users = min(o.Users, 50_000)
	o.Duration = min(o.Duration, 30*time.Minute)
	o.Hold = min(o.Hold, 30*time.Minute)
}

// connectAll logs users in with Workers at once (and at most Rate per
// second), returning the clients (nil where a login failed).
func connectAll(t *Target, o *Options, sm bool) ([]*Client, int, time.Duration) {
	clients := make([]*Client, o.Users)
	var failed atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := Dial(t, i, sm)
				if err != nil {
					failed.Add(1)
					continue
				}
				clients[i] = c
			}
		}()
	}
	for i := 0; i < o.Users; i++ {
		if o.Rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return clients, int(failed.Load()), time.Since(start)
}

// Connect ramps sessions, holds them and reports logins/s and the server's
// memory per session.
func Connect(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := CheckLoopback(t.Addr); err != nil {
		return nil, err
	}
	p := Proc{o.PID}
	rss0 := p.RSSKiB()
	clients, failed, took := connectAll(t, &o, false)
	ok := o.Users - failed
	r := &Result{Server: o.Server, Scenario: "connect", Sessions: ok, Logins: ok, LoginFailures: failed, Errors: int64(failed)}
	r.LoginsPerSec = float64(ok) / took.Seconds()
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

// Chat: every user sends a Size-byte message to its neighbour each
// Interval for Duration; the send time travels in the body, so each
// delivery is timed when it is read.
func Chat(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := CheckLoopback(t.Addr); err != nil {
		return nil, err
	}
	clients, failed, _ := connectAll(t, &o, false)
	if failed > 0 {
		return nil, fmt.Errorf("bench: %d of %d logins failed", failed, o.Users)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	n := len(clients)
	var sent, received, dups, errs atomic.Int64
	var mu sync.Mutex
	var lat []float64
	seen := make(map[string]struct{}, 1<<16)
	pad := strings.Repeat("x", o.Size)
	ctx, cancel := context.WithTimeout(context.Background(), o.Duration)
	defer cancel()
	readers := sync.WaitGroup{}
	stopRead := make(chan struct{})
	for _, c := range clients {
		readers.Add(1)
		go func(c *Client) {
			defer readers.Done()
			for {
				select {
				case <-stopRead:
					return
				default:
				}
				s, err := c.Next(time.Second)
				if err != nil {
					if strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "deadline") {
						continue
					}
					return
				}
				if !strings.HasPrefix(s, "<message") {
					continue
				}
				i := strings.Index(s, "<body>")
				if i < 0 {
					continue
				}
				body := s[i+6 : strings.Index(s, "</body>")]
				ts, _ := strconv.ParseInt(body[:strings.IndexByte(body, ' ')], 10, 64)
				id := attr(s, "id")
				mu.Lock()
				if _, dup := seen[id]; dup {
					dups.Add(1)
				} else {
					seen[id] = struct{}{}
					lat = append(lat, float64(time.Now().UnixNano()-ts)/1e6)
					received.Add(1)
				}
				mu.Unlock()
			}
		}(c)
	}
	p := Proc{o.PID}
	cpu0 := p.CPUSeconds()
	start := time.Now()
	var timeline []Point
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var wg sync.WaitGroup
	var seq atomic.Int64
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *Client) {
			defer wg.Done()
			to := clients[(i+1)%n].JID
			if j := strings.IndexByte(to, '/'); j >= 0 {
				to = to[:j]
			}
			// Spread the first sends over the interval.
			time.Sleep(time.Duration(i) * o.Interval / time.Duration(n))
			every := time.NewTicker(o.Interval)
			defer every.Stop()
			for {
				id := "b" + strconv.FormatInt(seq.Add(1), 36)
				msg := `<message xmlns="jabber:client" to="` + to + `" type="chat" id="` + id + `"><body>` + strconv.FormatInt(time.Now().UnixNano(), 10) + " " + pad + `</body></message>`
				if err := c.write(msg); err != nil {
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
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			timeline = append(timeline, Point{T: int(time.Since(start).Seconds()), Sent: sent.Load(), Received: received.Load()})
		}
	}
	elapsed := time.Since(start)
	// Let what is in flight land.
	for deadline := time.Now().Add(5 * time.Second); received.Load() < sent.Load() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	close(stopRead)
	readers.Wait()
	cpu := p.CPUSeconds() - cpu0
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	r := &Result{Server: o.Server, Scenario: "chat", Sessions: n, Logins: n, Sent: sent.Load(), Received: received.Load(),
		Duplicated: dups.Load(), Errors: errs.Load(), Latencies: lat, Timeline: timeline}
	r.Lost = r.Sent - r.Received
	r.MsgsPerSec = float64(r.Received) / elapsed.Seconds()
	if len(lat) > 0 {
		q := func(f float64) float64 { return lat[min(int(f*float64(len(lat))), len(lat)-1)] }
		r.P50ms, r.P95ms, r.P99ms, r.Maxms = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
	}
	if o.PID > 0 {
		r.ServerCPUs = cpu
		r.ServerRSSKiB = p.RSSKiB()
		if r.Received > 0 {
			r.CPUPer1kMsgs = cpu / float64(r.Received) * 1000
		}
	}
	return r, nil
}
