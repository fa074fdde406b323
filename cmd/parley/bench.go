package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/bench"
)

func benchCmd() *cobra.Command {
	var t bench.Target
	var o bench.Options
	var rest bench.REST
	var jsonOut, htmlOut, cpuProfile string
	cmd := &cobra.Command{
		Use:   "bench connect|chat|group|resume|history|register|compare FILE...",
		Short: "Load-test an XMPP server on this machine (Parley, ejabberd, Prosody)",
		Long: "Load-test an XMPP server on a loopback address. connect ramps sessions and reports logins/s and the server's " +
			"memory per session; chat has every user message a neighbour at a fixed interval (or, with --rates, ramps the " +
			"offered rate until p99 reaches --max-p99) and reports throughput and delivery latency; group sends one message " +
			"per room per interval to rooms of --members (Parley dialogs over --http, or XEP-0045 rooms with --rooms muc) and " +
			"times every fan-out delivery; resume runs chat over resumable stream management while cutting one session " +
			"every --drop-every and counts lost and duplicated messages; history times Parley's HTTP dialog-list and " +
			"history pages. register creates the users by in-band registration (ejabberd, Prosody). --pid reads the " +
			"server's own RSS and CPU time from /proc. Only loopback targets are accepted; every run is bounded.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cpuProfile != "" {
				// The load tool shares the machine with the server: its own
				// cost per message decides how much load it can offer.
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if rest.URL != "" {
				if rest.LoginPattern == "" {
					rest.LoginPattern = t.UserPattern
				}
				t.REST = &rest
			}
			var r *bench.Result
			var err error
			switch args[0] {
			case "compare":
				rows, err := bench.Compare(args[1:])
				if err != nil {
					return err
				}
				bench.Markdown(os.Stdout, rows)
				if jsonOut != "" {
					b, _ := json.MarshalIndent(rows, "", "  ")
					return os.WriteFile(jsonOut, append(b, '\n'), 0o644)
				}
				return nil
			case "connect":
				r, err = bench.Connect(&t, o)
			case "chat":
				r, err = bench.Chat(&t, o)
			case "group":
				r, err = bench.Group(&t, o)
			case "resume":
				r, err = bench.Resume(&t, o)
			case "history":
				r, err = bench.History(&t, o)
			case "register":
				if err := bench.CheckLoopback(t.Addr); err != nil {
					return err
				}
				return bench.RegisterAll(&t, min(o.Users, 50_000))
			default:
				return errors.New("scenarios: connect, chat, group, resume, history; or register, compare")
			}
			if err != nil {
				return err
			}
			bench.Table(os.Stdout, []*bench.Result{r})
			if jsonOut != "" {
				var b bytes.Buffer
				bench.JSON(&b, []*bench.Result{r})
				if err := os.WriteFile(jsonOut, b.Bytes(), 0o644); err != nil {
					return err
				}
			}
			if htmlOut != "" {
				f, err := os.Create(htmlOut)
				if err != nil {
					return err
				}
				defer f.Close()
				return bench.HTML(f, []*bench.Result{r})
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&t.Addr, "addr", "127.0.0.1:5222", "server address (loopback only)")
	f.StringVar(&t.Domain, "domain", "localhost", "XMPP domain")
	f.StringVar(&t.Transport, "transport", "starttls", "tcp (no TLS), starttls, tls, ws or wss")
	f.StringVar(&t.Mechanism, "mechanism", "PLAIN", "PLAIN, SCRAM-SHA-1 or SCRAM-SHA-256")
	f.StringVar(&t.UserPattern, "user", "bench%d", "user name pattern; %d is the user's index (Parley: \"%d-1\")")
	f.StringVar(&t.PasswordPattern, "password", "bench-password", "password, or a pattern with %d")
	f.IntVar(&t.FirstUser, "first", 1, "index of the first user")
	f.StringVar(&o.Server, "label", "server", "name of the server in the report")
	f.IntVar(&o.Users, "users", 100, "sessions (at most 50,000)")
	f.Float64Var(&o.Rate, "rate", 0, "connect: logins per second to attempt; history: requests per second (0: as fast as --workers allow)")
	f.IntVar(&o.Workers, "workers", 32, "concurrent logins")
	f.DurationVar(&o.Hold, "hold", 5*time.Second, "connect: how long to hold the sessions (at most 30 min)")
	f.DurationVar(&o.Interval, "interval", time.Second, "chat, group, resume: each sender's interval")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "chat, group, resume, history: how long the load runs (at most 30 min; a ramp step)")
	f.Float64SliceVar(&o.Rates, "rates", nil, "chat: a ramp of offered msgs/s (e.g. 1000,2000,4000), each for --duration; stops at the first rate not sustained")
	f.Float64Var(&o.MaxP99, "max-p99", 10, "chat ramp: a rate is sustained only with p99 delivery latency under this many ms and at most 0.1% lost")
	f.IntVar(&o.Size, "size", 64, "chat: message body bytes")
	f.IntVar(&o.Members, "members", 10, "group: members per room (--users is rounded down to whole rooms)")
	f.StringVar(&o.RoomMode, "rooms", "parley", "group: parley (group dialogs created over --http) or muc (XEP-0045 rooms every member joins)")
	f.StringVar(&o.MUCDomain, "muc-domain", "conference.localhost", "group --rooms muc: the MUC service")
	f.BoolVar(&o.SaveToHistory, "save-to-history", true, "group: ask the server to store each message (ConnectyCube's extraParams; others ignore it)")
	f.DurationVar(&o.DropEvery, "drop-every", time.Second, "resume: cut one random session this often")
	f.IntVar(&o.Seed, "seed", 50, "history: messages stored in each user's dialog before the run")
	f.IntVar(&o.Page, "page", 50, "history: page size of each lookup")
	f.StringVar(&rest.URL, "http", "", "Parley's HTTP API (group rooms, history), e.g. http://127.0.0.1:8080")
	f.Int64Var(&rest.AppID, "app-id", 1, "Parley app id for --http")
	f.StringVar(&rest.AuthKey, "auth-key", "", "Parley app auth key for --http")
	f.StringVar(&rest.LoginPattern, "login", "", "REST login of user i for --http (default: --user)")
	f.IntVar(&rest.LoginFirst, "login-first", 0, "index of the first user's REST login")
	f.IntVar(&o.PID, "pid", 0, "server process id, for its RSS and CPU time")
	f.StringVar(&jsonOut, "json", "", "also write the result as JSON to this file")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file")
	f.StringVar(&htmlOut, "html", "", "also write an HTML report with plots to this file")
	return cmd
}
