package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
	"github.com/parley-chat/parley/cluster"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/smtprelay"
	"github.com/parley-chat/parley/meetings"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/blobfs"
	"github.com/parley-chat/parley/storage/blobs3"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/modules"
)

type serveOptions struct {
	config, data, domain        string
	c2sAddr, c2sTLSAddr, wsAddr string
	wsTLS, wsBehindProxy        bool
	httpAddr, adminAddr         string
	httpsAddr                   string
	httpBehindProxy             bool
	http                        httpLimits
	loginGuard                  accounts.LoginGuardConfig
	tlsCert, tlsKey             string
	adminToken, adminTokenFile  string
	tokenTTL                    time.Duration
	maxStanza, maxQueue         int
	idleTimeout, pingTimeout    time.Duration
	stanzaTimeout               time.Duration
	connRate, loginRate         float64
	logLevel                    string
	allowPlaintext              bool
	shutdownGrace               time.Duration
	largeDialog                 int
	mucCompat                   bool
	offlineMax, maxSessions     int
	maxStatusSubs               int
	resumeTimeout               time.Duration
	pushURL, pushSecret         string
	store                       storeOptions
	redisAddr, redisPassword    string
	redisTLS                    bool
	redisSentinels              []string
	redisMaster, nodeID         string
	heartbeatTTL                time.Duration
	filesDir, publicURL         string
	smtp                        smtprelay.Relay
	s3                          blobs3.Config
	s3Presign                   time.Duration
	s3PresignUploads            bool
	guestIdle                   time.Duration
	limits                      limitOptions
	// flags are the settings as parsed, for a reload to start from.
	flags *pflag.FlagSet
}

// limitOptions are the per-user limits of the domain services; SIGHUP
// reloads them.
type limitOptions struct {
	dialogs  dialogs.Limits
	accounts accounts.Limits
	push     push.Limits
	privacy  privacy.Limits
	mam      history.MAMLimits
	rosters  rosters.Limits
	files    files.Limits
}

func (l *limitOptions) register(f *pflag.FlagSet) {
	d, a, p, v, m, r := dialogs.DefaultLimits(), accounts.DefaultLimits(), push.DefaultLimits(), privacy.DefaultLimits(), history.DefaultMAMLimits(), rosters.DefaultLimits()
	f.IntVar(&l.dialogs.CreatePerMinute, "dialogs-per-minute", d.CreatePerMinute, "dialogs one user may create per minute (0: unlimited; a first 1-1 message creating a private dialog counts)")
	f.IntVar(&l.dialogs.CreatePerHour, "dialogs-per-hour", d.CreatePerHour, "dialogs one user may create per hour (0: unlimited)")
	f.IntVar(&l.dialogs.MaxOccupants, "dialog-max-occupants", d.MaxOccupants, "occupants (public dialogs: subscribers) one dialog may have (0: unlimited)")
	f.IntVar(&l.dialogs.AddedPerHour, "dialog-adds-per-hour", d.AddedPerHour, "group or meeting dialogs other users may put one user in per hour (0: unlimited)")
	f.IntVar(&l.accounts.SessionsPerMinute, "session-tokens-per-minute", a.SessionsPerMinute, "session tokens one user may create per minute (0: unlimited)")
	f.IntVar(&l.accounts.SessionsPerHour, "session-tokens-per-hour", a.SessionsPerHour, "session tokens one user may create per hour (0: unlimited)")
	f.IntVar(&l.accounts.MaxSessions, "session-tokens-per-user", a.MaxSessions, "session tokens kept per user; a new one beyond revokes the oldest (0: unlimited)")
	f.IntVar(&l.push.MaxSubscriptions, "push-subscriptions-per-user", p.MaxSubscriptions, "push subscriptions (device and channel) one user may have (0: unlimited)")
	f.IntVar(&l.push.PerHour, "push-subscriptions-per-hour", p.PerHour, "push subscriptions one user may create or renew per hour (0: unlimited)")
	f.IntVar(&l.privacy.MaxLists, "privacy-lists-per-user", v.MaxLists, "privacy lists one user may have (0: unlimited)")
	f.IntVar(&l.privacy.MaxItems, "privacy-list-items", v.MaxItems, "items (blocks included) one privacy list may have (0: unlimited)")
	f.IntVar(&l.mam.MaxPage, "mam-max-page", m.MaxPage, "messages in one message archive (XEP-0313) page; a larger max is lowered (0: unlimited)")
	f.IntVar(&l.mam.MaxIDs, "mam-max-ids", m.MaxIDs, "message ids one archive query may name (0: unlimited)")
	f.IntVar(&l.mam.MaxPrefsJIDs, "mam-prefs-jids", m.MaxPrefsJIDs, "JIDs in each of a user's archiving preference lists, always and never (0: unlimited)")
	f.IntVar(&l.rosters.MaxItems, "roster-items", r.MaxItems, "contacts on one roster (0: unlimited)")
	f.IntVar(&l.rosters.MaxGroups, "roster-groups-per-item", r.MaxGroups, "groups of one roster item (0: unlimited)")
	f.IntVar(&l.rosters.MaxTextLen, "roster-text-length", r.MaxTextLen, "bytes of a roster item's name and of each group name (0: unlimited)")
	f.IntVar(&l.rosters.MaxPending, "roster-pending-requests", r.MaxPending, "subscription requests waiting for one user's answer (0: unlimited)")
	f.IntVar(&l.rosters.MaxStatusLen, "roster-status-length", r.MaxStatusLen, "bytes of the status text kept with a pending request (0: unlimited)")
	fl := files.DefaultLimits()
	f.Int64Var(&l.files.MaxSize, "files-max-size", fl.MaxSize, "bytes of one uploaded file")
	f.Int64Var(&l.files.AppQuota, "files-app-quota", fl.AppQuota, "bytes all of one app's files may take (0: unlimited)")
	f.StringSliceVar(&l.files.Types, "files-types", fl.Types, "content types files may have, e.g. image/*,audio/mp4,application/pdf (empty: any)")
	f.Int64Var(&l.files.MaxPixels, "files-max-pixels", fl.MaxPixels, "pixels of an uploaded image (width x height); larger ones are refused as decompression bombs")
	f.DurationVar(&l.files.PendingTTL, "files-pending-ttl", fl.PendingTTL, "how long a file may stay created or uploaded but not completed before it is removed")
	f.DurationVar(&l.files.UploadTTL, "files-upload-ttl", fl.UploadTTL, "how long an upload URL is good for")
}

func serveCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Parley node",
		Long: "Run a Parley node. Every flag can also be set as PARLEY_<FLAG> in the environment " +
			"(e.g. PARLEY_C2S_ADDR) or as a key of the YAML file given with --config. " +
			"SIGHUP reloads the log level, the per-user limits and the TLS certificate.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), o.config); err != nil {
				return err
			}
			o.flags = cmd.Flags()
			return serve(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "YAML config file (keys are these flags' names)")
	f.StringVar(&o.data, "data", "./data", "data directory (embedded store, certificate, admin token)")
	f.StringVar(&o.domain, "domain", "localhost", "XMPP domain served; user JIDs are <userId>-<appId>@domain")
	f.StringVar(&o.c2sAddr, "c2s-addr", ":5222", "client port with STARTTLS required (empty or port 0 disables)")
	f.StringVar(&o.c2sTLSAddr, "c2s-tls-addr", ":5223", "client port with direct TLS (empty or port 0 disables)")
	f.StringVar(&o.wsAddr, "ws-addr", "127.0.0.1:5291", "XMPP over WebSocket (RFC 7395) at / and /ws (empty or port 0 disables); plain ws only on loopback unless --ws-tls or --ws-behind-tls-proxy")
	f.BoolVar(&o.wsTLS, "ws-tls", false, "serve wss with the node's certificate")
	f.BoolVar(&o.wsBehindProxy, "ws-behind-tls-proxy", false, "plain ws beyond loopback is allowed: a TLS-terminating proxy is the only thing that reaches --ws-addr")
	f.StringVar(&o.httpAddr, "http-addr", "127.0.0.1:8080", "plain-HTTP REST API address (empty or port 0 disables); "+
		"anything but loopback needs --http-behind-tls-proxy, as passwords and tokens would cross the network in clear")
	f.StringVar(&o.httpsAddr, "https-addr", "", "HTTPS REST API address, with the node's certificate (--tls-cert); empty or port 0 disables")
	f.BoolVar(&o.httpBehindProxy, "http-behind-tls-proxy", false, "a TLS-terminating proxy is in front of --http-addr: "+
		"allow a non-loopback address, take client addresses from the last X-Forwarded-For entry and leave the per-IP connection cap to the proxy")
	o.http.flags(cmd)
	loginGuardFlags(cmd, &o.loginGuard)
	f.DurationVar(&o.guestIdle, "guest-idle", 24*time.Hour, "guest users idle this long are removed, with their data")
	f.StringVar(&o.smtp.Addr, "smtp-addr", "", "SMTP relay for password reset e-mails, host:port (empty: resets are refused)")
	f.StringVar(&o.smtp.From, "smtp-from", "parley@localhost", "From address of the e-mails")
	f.StringVar(&o.smtp.User, "smtp-user", "", "SMTP user (with --smtp-password; prefer PARLEY_SMTP_PASSWORD to the flag)")
	f.StringVar(&o.smtp.Password, "smtp-password", "", "SMTP password")
	f.BoolVar(&o.smtp.ImplicitTLS, "smtp-implicit-tls", false, "the relay speaks TLS from the first byte (port 465); otherwise STARTTLS is used when offered")
	f.StringVar(&o.filesDir, "files-dir", "", "directory of uploaded files' bytes (default: <data>/files); unused with --s3-endpoint")
	f.StringVar(&o.s3.Endpoint, "s3-endpoint", "", "S3-compatible object storage for files' bytes, host:port (cluster mode: every node reads what any wrote); empty keeps them in --files-dir")
	f.StringVar(&o.s3.Bucket, "s3-bucket", "parley", "S3 bucket")
	f.StringVar(&o.s3.Region, "s3-region", "us-east-1", "S3 region")
	f.StringVar(&o.s3.AccessKey, "s3-access-key", "", "S3 access key (default: $AWS_ACCESS_KEY_ID)")
	f.StringVar(&o.s3.SecretKey, "s3-secret-key", "", "S3 secret key (default: $AWS_SECRET_ACCESS_KEY; prefer the environment to a flag)")
	f.BoolVar(&o.s3.TLS, "s3-tls", true, "reach the S3 endpoint over HTTPS")
	f.BoolVar(&o.s3.PathStyle, "s3-path-style", false, "bucket in the URL path rather than the host name (most self-hosted S3 servers)")
	f.StringVar(&o.s3.Prefix, "s3-prefix", "", "prefix of every object key, e.g. parley/")
	f.BoolVar(&o.s3.CreateBucket, "s3-create-bucket", false, "create the bucket when it does not exist")
	f.BoolVar(&o.s3PresignUploads, "s3-presign-uploads", false, "XEP-0363 slots upload straight to a signed S3 PUT URL of exactly their size (checked when first used); the S3 endpoint must be reachable by clients")
	f.DurationVar(&o.s3Presign, "s3-presign-downloads", 0, "send downloads to signed S3 URLs good this long (e.g. 10m), so bytes do not pass through Parley; the S3 endpoint must be reachable by clients (0: Parley serves them)")
	f.StringVar(&o.publicURL, "public-url", "", "the REST API's address as clients reach it, e.g. https://chat.example.com, for the upload URLs it hands out (default: the address each request came to)")
	f.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:8081", "admin API and /metrics address (empty or port 0 disables)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate, the same file for every node of a cluster (default: self-signed, generated into the data dir); SIGHUP reloads it")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&o.adminToken, "admin-token", "", "admin API token (at least 16 characters; give every node of a cluster the same); default: --admin-token-file, else <data>/admin-token, generated on first start")
	f.StringVar(&o.adminTokenFile, "admin-token-file", "", "file holding the admin API token (e.g. a mounted secret)")
	f.DurationVar(&o.tokenTTL, "token-ttl", 2*time.Hour, "session token lifetime")
	f.IntVar(&o.maxStanza, "max-stanza", 256<<10, "largest stanza accepted, bytes")
	f.IntVar(&o.maxQueue, "max-queue", 4<<20, "outbound bytes pending per connection before it is cut as a slow consumer")
	f.DurationVar(&o.idleTimeout, "idle-timeout", 90*time.Second, "silence before the server pings a client")
	f.DurationVar(&o.stanzaTimeout, "stanza-timeout", time.Minute, "a stanza must arrive whole within this time of its first byte (slow-drip clients are cut)")
	f.DurationVar(&o.pingTimeout, "ping-timeout", 30*time.Second, "time a client has to answer a server ping")
	f.Float64Var(&o.connRate, "conn-rate", 20, "new connections per second per IP (0: unlimited)")
	f.Float64Var(&o.loginRate, "login-rate", 5, "login attempts per second per IP (0: unlimited)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error (SIGHUP reloads it)")
	f.BoolVar(&o.allowPlaintext, "c2s-allow-plaintext", false, "offer SASL on --c2s-addr without STARTTLS (loopback load tests only)")
	f.DurationVar(&o.shutdownGrace, "shutdown-grace", 5*time.Second, "how long streams get to close on SIGTERM")
	f.IntVar(&o.largeDialog, "large-dialog", 1000, "occupant count from which a group or public dialog keeps no per-member read/delivered ids")
	o.store.flags(cmd)
	o.limits.register(f)
	host, _ := os.Hostname()
	f.StringVar(&o.redisAddr, "redis-addr", "", "Redis address (cluster mode: presence and cross-node routing); empty keeps everything in process")
	f.StringVar(&o.redisPassword, "redis-password", "", "Redis password")
	f.BoolVar(&o.redisTLS, "redis-tls", false, "connect to Redis over TLS")
	f.StringSliceVar(&o.redisSentinels, "redis-sentinels", nil, "Redis Sentinel addresses (with --redis-master)")
	f.StringVar(&o.redisMaster, "redis-master", "", "Redis Sentinel master name")
	f.StringVar(&o.nodeID, "node-id", host, "this node's id in the cluster (default: the host name)")
	f.DurationVar(&o.heartbeatTTL, "heartbeat-ttl", 10*time.Second, "a node that misses heartbeats this long is treated as gone and its users as offline")
	f.StringVar(&o.pushURL, "push-webhook-url", "", "POST push events (JSON, HMAC-signed) to this URL; empty disables pushes")
	f.StringVar(&o.pushSecret, "push-webhook-secret", "", "shared secret for the X-Parley-Signature HMAC")
	f.DurationVar(&o.resumeTimeout, "resume-timeout", 5*time.Minute, "how long a broken stream-managed session can be resumed (XEP-0198)")
	f.IntVar(&o.maxSessions, "max-sessions-per-user", 10, "bound and resumable sessions per user on a node; a new one beyond replaces the oldest (conflict)")
	f.IntVar(&o.maxStatusSubs, "max-status-subscriptions", 100, "status-streaming (last activity) subscriptions a user may hold on a node")
	f.IntVar(&o.offlineMax, "offline-max", 1000, "messages kept per user for offline delivery (oldest dropped beyond)")
	f.BoolVar(&o.mucCompat, "muc-sdk-compat", true, "add the ConnectyCube SDK's MUC compatibility element to join/leave presence")
	return cmd
}

// disabled reports an address that turns a listener off.
func disabled(addr string) bool {
	if addr == "" {
		return true
	}
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

func serve(ctx context.Context, o serveOptions) error {
	if err := checkPlainWS(o.wsAddr, o.wsTLS, o.wsBehindProxy); err != nil {
		return err
	}
	if err := checkPlainHTTP(o.httpAddr, o.httpBehindProxy); err != nil {
		return err
	}
	// Before anything else: SIGHUP's default action ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	privateUmask()
	if err := prepareDataDir(o.data); err != nil {
		return err
	}
	o.store.data = o.data
	db, kind, err := o.store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("store", "backend", kind)
	acc := accounts.NewService(db)
	acc.TokenTTL = o.tokenTTL
	ds := dialogs.NewService(dialogs.CachePrivate(db, 200_000, time.Minute), db)
	ds.LargeDialog = o.largeDialog
	ds.ExtensionKeys = func(ctx context.Context, appID int64) []string {
		if app, err := acc.App(ctx, appID); err == nil && len(app.DialogExtensions) > 0 {
			return app.DialogExtensions
		}
		return nil
	}
	lists := privacy.NewService(db, o.domain, "muc."+o.domain)
	ds.Blocking = lists
	archive := history.NewArchive(db, ds)
	// The XEP-0313 archive queries and preferences, over the same archive.
	mam := history.NewMAM(db, ds)
	if err := bootstrapApp(ctx, acc, o.data, log); err != nil {
		return err
	}
	adminToken, err := resolveAdminToken(o, log)
	if err != nil {
		return err
	}
	certs, err := loadTLS(o.tlsCert, o.tlsKey, o.data, o.domain)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	tlsCfg := certs.config()

	reg := prometheus.NewRegistry()
	var sender push.Sender
	if o.pushURL != "" {
		wh := push.NewWebhook(push.WebhookConfig{URL: o.pushURL, Secret: o.pushSecret, Log: log}, reg)
		defer wh.Close()
		sender = wh
	}
	pushes := push.NewService(db, sender)
	rs := rosters.NewService(db, db, o.domain)
	px := privatexml.New(db)
	ps := pubsub.NewService(db)
	book := addressbook.New(db)
	objs := objects.NewService(db)
	acc.Owned = append(acc.Owned, rs, px, ps, book)
	fileSecret, err := acc.DerivedSecret(ctx, "files: upload tickets")
	if err != nil {
		return err
	}
	var blobBytes files.Bytes
	if o.s3.Endpoint != "" {
		if o.s3.AccessKey == "" {
			o.s3.AccessKey = os.Getenv("AWS_ACCESS_KEY_ID")
		}
		if o.s3.SecretKey == "" {
			o.s3.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
		}
		if blobBytes, err = blobs3.Open(ctx, o.s3); err != nil {
			return err
		}
		log.Info("files", "backend", "s3", "endpoint", o.s3.Endpoint, "bucket", o.s3.Bucket)
	} else {
		blobDir := o.filesDir
		if blobDir == "" {
			blobDir = filepath.Join(o.data, "files")
		}
		if blobBytes, err = blobfs.Open(blobDir); err != nil {
			return err
		}
	}
	fs := files.NewService(db, blobBytes, ds, fileSecret)
	objs.Files = fs
	fs.SetPresign(o.s3Presign)
	fs.SetPresignUploads(o.s3PresignUploads)
	archive.Files = fs
	acc.Pictures, ds.Pictures = fs, fs
	rl := &reloader{start: o.flags, current: o.flags, limits: o.limits, level: level, certs: certs, log: log, apply: func(l limitOptions) {
		ds.SetLimits(l.dialogs)
		acc.SetLimits(l.accounts)
		pushes.SetLimits(l.push)
		lists.SetLimits(l.privacy)
		mam.SetLimits(l.mam)
		rs.SetLimits(l.rosters)
		fs.SetLimits(l.files)
	}}
	rl.apply(o.limits)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var rc *cluster.Redis
	ready := db.Ping
	// One guard for REST logins and XMPP SASL: failures count across both.
	guard := accounts.NewLoginGuard(o.loginGuard)
	xs := xmpp.NewServer(xmpp.Config{
		Archiving: mam,
		Modules: modules.Standard(modules.Deps{Privacy: lists, History: archive, MAM: mam, Accounts: acc, Dialogs: ds, Push: pushes, Rosters: rs, StatusSubscriptions: o.maxStatusSubs,
			Files: fs, UploadURL: o.uploadBase(), PrivateXML: px, Pubsub: ps}),
		Domain: o.domain, TLS: tlsCfg, Auth: acc, Logger: log, LoginGuard: guard,
		MaxStanza: o.maxStanza, MaxQueue: o.maxQueue,
		IdleTimeout: o.idleTimeout, PingTimeout: o.pingTimeout, StanzaTimeout: o.stanzaTimeout,
		ConnRate: o.connRate, LoginRate: o.loginRate,
		WSSecure: !o.wsTLS, AllowPlaintext: o.allowPlaintext,
		Dialogs: ds, History: archive, MUCStrict: !o.mucCompat,
		Offline: db, OfflineMax: o.offlineMax, MaxSessionsPerUser: o.maxSessions, ResumeTimeout: o.resumeTimeout,
		Privacy: lists, Accounts: acc,
	}, xmpp.NewMetrics(reg))
	// A token the per-user cap revokes ends its streams, as a logout does.
	acc.Revoked = func(app, user, session int64) { xs.Revoke(app, user, session, 0) }

	if o.redisAddr != "" || len(o.redisSentinels) > 0 {
		rc, err = cluster.Join(ctx, cluster.Config{Addr: o.redisAddr, Password: o.redisPassword, TLS: o.redisTLS,
			Sentinels: o.redisSentinels, Master: o.redisMaster, Node: o.nodeID, TTL: o.heartbeatTTL, Log: log}, xs.Receive)
		if err != nil {
			return err
		}
		xs.SetCluster(rc)
		rc.OnLost(xs.Lost)
		go rc.Heartbeat(ctx, xs.SessionCount)
		ready = func(ctx context.Context) error {
			if err := db.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if err := rc.Ping(ctx); err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			return nil
		}
		log.Info("cluster mode", "node", o.nodeID, "redis", o.redisAddr)
	}
	listen := func(name, addr string, fn func(string) (net.Addr, error)) error {
		if disabled(addr) {
			return nil
		}
		a, err := fn(addr)
		if err != nil {
			return fmt.Errorf("%s on %s: %w", name, addr, err)
		}
		log.Info("listening", "listener", name, "addr", a.String())
		return nil
	}
	if err := listen("c2s-starttls", o.c2sAddr, xs.ListenC2S); err != nil {
		return err
	}
	if err := listen("c2s-tls", o.c2sTLSAddr, xs.ListenC2STLS); err != nil {
		return err
	}
	if err := listen("websocket", o.wsAddr, func(a string) (net.Addr, error) { return xs.ListenWS(a, o.wsTLS) }); err != nil {
		return err
	}
	var servers []*http.Server
	connRefused := prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_http_connections_refused_total",
		Help: "HTTP connections closed at accept because their address already held --http-max-conns-per-ip."})
	reg.MustRegister(connRefused)
	serveHTTP := func(name, addr string, h http.Handler, tlsCfg *tls.Config, perIP int) error {
		if disabled(addr) {
			return nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s on %s: %w", name, addr, err)
		}
		ln = httpapi.LimitListener(ln, httpapi.ConnLimit{PerIP: perIP, Exempt: netip.Addr.IsLoopback,
			Refused: func(netip.Addr) { connRefused.Inc() }})
		hs := o.http.server(h, log)
		servers = append(servers, hs)
		if tlsCfg != nil {
			hs.TLSConfig = tlsCfg.Clone()
			go hs.ServeTLS(ln, "", "")
		} else {
			go hs.Serve(ln)
		}
		log.Info("listening", "listener", name, "addr", ln.Addr().String())
		return nil
	}
	api := httpapi.New(httpapi.Config{
		Accounts: acc, Dialogs: ds, History: archive, Live: xs, Push: pushes, MUCDomain: "muc." + o.domain, Log: log,
		LoginGuard: guard, Metrics: reg, MaxBody: o.http.maxBody, Files: fs, PublicURL: o.publicURL, Mailer: o.mailer(), Meetings: meetings.NewService(db, ds), AddressBook: book, Objects: objs,
	})
	var plain http.Handler = api
	plainPerIP := o.http.maxConnsPerIP
	if o.httpBehindProxy {
		plain, plainPerIP = httpapi.TrustForwardedFor(api), 0
	}
	if err := serveHTTP("http", o.httpAddr, plain, nil, plainPerIP); err != nil {
		return err
	}
	if err := serveHTTP("https", o.httpsAddr, api, tlsCfg, o.http.maxConnsPerIP); err != nil {
		return err
	}
	admin := &httpapi.Admin{
		Accounts: acc, Token: adminToken, Version: xmpp.Version, Log: log,
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Ready:    ready,
		Sessions: xs.SessionCount,
		Dialogs:  ds,
		Kick:     xs.Kick,
		MaxBody:  o.http.maxBody,
		Objects:  objs,
	}
	if rc != nil {
		admin.Cluster = rc
	}
	if err := serveHTTP("admin", o.adminAddr, admin.Handler(), nil, o.http.maxConnsPerIP); err != nil {
		return err
	}
	go every(ctx, 10*time.Minute, func() {
		if n, err := acc.PruneSessions(ctx); err != nil {
			log.Warn("pruning expired sessions", "err", err)
		} else if n > 0 {
			log.Debug("pruned expired sessions", "count", n)
		}
	})
	// Files created or uploaded but never completed within --files-pending-ttl.
	go every(ctx, 5*time.Minute, func() {
		if n, err := fs.Sweep(ctx, 1000); err != nil {
			log.Warn("removing abandoned uploads", "err", err)
		} else if n > 0 {
			log.Info("removed abandoned uploads", "count", n)
		}
	})
	// Guests idle longer than --guest-idle go, and their streams end.
	go every(ctx, 10*time.Minute, func() {
		gone, err := acc.SweepGuests(ctx, o.guestIdle, 1000)
		for _, u := range gone {
			xs.Kick(u.AppID, u.ID)
		}
		if err != nil {
			log.Warn("removing idle guests", "err", err)
		} else if len(gone) > 0 {
			log.Info("removed idle guests", "count", len(gone))
		}
	})
	log.Info("parley is up", "domain", o.domain, "version", xmpp.Version)

	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			rl.reload()
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownGrace)
	defer cancel()
	for _, hs := range servers {
		hs.Shutdown(sctx)
	}
	if err := xs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("xmpp shutdown", "err", err)
	}
	if rc != nil {
		rc.Leave(context.Background())
	}
	return nil
}

// bootstrapApp creates app 1 on an empty store. Its auth key goes to a
// file in the data dir (mode 0600), never to the log; nodes that find the
// app already there (a cluster starting together) write nothing.
func bootstrapApp(ctx context.Context, acc *accounts.Service, dir string, log *slog.Logger) error {
	app, created, err := acc.EnsureDefaultApp(ctx)
	if err != nil {
		return fmt.Errorf("default application: %w", err)
	}
	if !created {
		return nil
	}
	path := filepath.Join(dir, fmt.Sprintf("app-%d-auth-key", app.ID))
	if err := writeSecretFile(path, app.AuthKey); err != nil {
		return fmt.Errorf("default application: write its auth key: %w (replace the key with parley app key rotate --app %d)", err, app.ID)
	}
	log.Info("first start: created application; its auth key is in the file (parley app key rotate replaces it)", "app_id", app.ID, "file", path)
	return nil
}

// minAdminToken is the shortest admin token accepted from configuration.
const minAdminToken = 16

// resolveAdminToken returns the admin API token: --admin-token, else the
// file --admin-token-file names, else <data>/admin-token, generated on the
// first start. Cluster nodes share one by the first two.
func resolveAdminToken(o serveOptions, log *slog.Logger) (string, error) {
	check := func(from, token string) (string, error) {
		if len(token) < minAdminToken {
			return "", fmt.Errorf("%s: the admin token must have at least %d characters", from, minAdminToken)
		}
		return token, nil
	}
	switch {
	case o.adminToken != "":
		return check("--admin-token", o.adminToken)
	case o.adminTokenFile != "":
		t, err := readSecretFile(o.adminTokenFile)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		return check("--admin-token-file "+o.adminTokenFile, t)
	}
	path := filepath.Join(o.data, "admin-token")
	t, err := readSecretFile(path)
	if err == nil && t != "" {
		return t, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	t = hex.EncodeToString(raw)
	if err := writeSecretFile(path, t); err != nil {
		return "", err
	}
	log.Info("first start: wrote the admin token", "file", path)
	return t, nil
}

// uploadBase is the REST API's address for the URLs clients get (upload
// slots): --public-url, else the HTTPS or the plain HTTP listener.
func (o *serveOptions) uploadBase() string {
	if o.publicURL != "" {
		return strings.TrimSuffix(o.publicURL, "/")
	}
	if !disabled(o.httpsAddr) {
		_, port, _ := net.SplitHostPort(o.httpsAddr)
		return "https://" + o.domain + ":" + port
	}
	if !disabled(o.httpAddr) {
		host, port, _ := net.SplitHostPort(o.httpAddr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = o.domain
		}
		return "http://" + net.JoinHostPort(host, port)
	}
	return ""
}

// mailer is the SMTP relay, when one is configured.
func (o *serveOptions) mailer() httpapi.Mailer {
	if o.smtp.Addr == "" {
		return nil
	}
	return &o.smtp
}

// every runs fn each period until ctx ends (housekeeping: a bounded batch
// each time).
func every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
