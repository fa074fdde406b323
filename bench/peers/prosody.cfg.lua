-- Prosody for `make bench-compare`: loopback only, no TLS for the load
-- test, no rate limits, in-band registration so the bench tool can create
-- its users. Paths are replaced by bench/peers/compare.sh.
run_as_root = true
daemonize = false
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/data"
log = { info = "@DIR@/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { @PORT@ }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
allow_registration = true
min_seconds_between_registrations = 0
modules_enabled = { "roster", "saslauth", "disco", "ping", "register", "carbons", "smacks", "offline", "posix" }
modules_disabled = { "s2s", "tls", "limits" }
VirtualHost "localhost"
Component "conference.localhost" "muc"
