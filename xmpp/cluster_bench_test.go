package xmpp_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/mongo"
	"github.com/parley-chat/parley/xmpp"
)

// routingNode is a node with plain routing (no chat model), to measure what
// the cluster adds per message.
func routingNode(b *testing.B, id, uri, db, redisAddr string) *node {
	ctx := context.Background()
	store, err := mongo.Open(ctx, uri, db, mongo.Options{WriteConcern: "1"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	acc := accounts.NewService(store)
	acc.Iterations = 1000
	srv := xmpp.NewServer(xmpp.Config{Domain: "localhost", TLS: testTLS(b), Auth: acc, Accounts: acc}, xmpp.NewMetrics(prometheus.NewRegistry()))
	rc, err := cluster.Join(ctx, cluster.Config{Addr: redisAddr, Node: id}, srv.Receive)
	if err != nil {
		b.Fatal(err)
	}
	srv.SetCluster(rc)
	a, err := srv.ListenC2STLS("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		rc.Leave(context.Background())
	})
	return &node{env: &env{t: b, srv: srv, acc: acc, domain: "localhost", c2sTLS: a.String()}, rc: rc}
}

func redisStats(b *testing.B, addr string) (calls, netIn, netOut int64) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats", "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		switch {
		case strings.HasPrefix(line, "cmdstat_"):
			if i := strings.Index(line, "calls="); i >= 0 {
				n, _ := strconv.ParseInt(strings.SplitN(line[i+6:], ",", 2)[0], 10, 64)
				calls += n
			}
		case strings.HasPrefix(line, "total_net_input_bytes:"):
			netIn, _ = strconv.ParseInt(strings.TrimPrefix(line, "total_net_input_bytes:"), 10, 64)
		case strings.HasPrefix(line, "total_net_output_bytes:"):
			netOut, _ = strconv.ParseInt(strings.TrimPrefix(line, "total_net_output_bytes:"), 10, 64)
		}
	}
	return
}

// BenchmarkClusterRouting sends 1-1 messages from a user on node 1,
// alternately to a user on node 1 and a user on node 2, at
// PARLEY_BENCH_RATE messages per second (default 1,000), and reports
// p50/p99 delivery latency for each path plus Redis commands and bytes per
// cross-node message.
func BenchmarkClusterRouting(b *testing.B) {
	uri, db := testenv.MongoURI(b)
	redisAddr := testenv.Redis(b)
	n1 := routingNode(b, "n1", uri, db, redisAddr)
	n2 := routingNode(b, "n2", uri, db, redisAddr)
	app, _ := n1.acc.CreateApp(context.Background(), "bench", accounts.AppOptions{})
	n1.app, n2.app = app, app
	sJID, _ := n1.user("sender", "bench-password")
	lJID, _ := n1.user("local", "bench-password")
	rJID, _ := n1.user("remote", "bench-password")
	s := n1.login(viaTLS, sJID, "bench-password")
	local := n1.login(viaTLS, lJID, "bench-password")
	remote := n2.login(viaTLS, rJID, "bench-password")
	s.nc.SetWriteDeadline(time.Time{})
	rate := 1000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_RATE")); err == nil {
		rate = v
	}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var wg sync.WaitGroup
	for name, c := range map[string]*client{"same-node": local, "cross-node": remote} {
		wg.Add(1)
		go func(name string, c *client) {
			defer wg.Done()
			for got := 0; got < b.N/2; {
				k, el := c.readUnit(10 * time.Second)
				if k == 0 {
					return
				}
				i := strings.Index(el, "<body>")
				if i < 0 {
					continue
				}
				ns, _ := strconv.ParseInt(el[i+6:strings.Index(el, "</body>")], 10, 64)
				mu.Lock()
				lat[name] = append(lat[name], time.Since(time.Unix(0, ns)))
				mu.Unlock()
				got++
			}
		}(name, c)
	}
	calls0, in0, out0 := redisStats(b, redisAddr)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		to := lJID
		if i%2 == 1 {
			to = rJID
		}
		s.nc.Write([]byte(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="b%d"><body>%d</body></message>`, to, i, time.Now().UnixNano())))
	}
	wg.Wait()
	b.StopTimer()
	calls1, in1, out1 := redisStats(b, redisAddr)
	cross := float64(b.N / 2)
	if cross == 0 {
		return // the warm-up round with b.N == 1
	}
	for _, name := range []string{"same-node", "cross-node"} {
		l := lat[name]
		if len(l) < b.N/2 {
			b.Fatalf("%s: received %d of %d", name, len(l), b.N/2)
		}
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(l[len(l)*99/100].Microseconds())/1000, name+"-p99-ms")
	}
	// Every message looks up the recipient's sessions in Redis (same-node
	// ones too: the user may also be online elsewhere); cross-node ones are
	// also published.
	b.ReportMetric(float64(calls1-calls0)/float64(b.N), "redis-cmds/msg")
	b.ReportMetric(float64((in1-in0)+(out1-out0))/cross, "redis-bytes/cross-msg")
}
