#!/bin/bash
# Genuine Exim capture of routing failures in DNS.
#
#   sudo tools/capture_exim_resolver.sh
#
# Installs exim4-daemon-light if missing (this REMOVES postfix), writes a
# complete /etc/exim4/exim4.conf like tools/capture_exim.sh but with a
# `dnslookup` router for every remote domain (no manualroute), and runs
# `exim4 -bdf -q15s` in a private mount namespace whose /etc/resolv.conf
# names the stub DNS tools/stub_dns.py on 127.0.0.1:53, with the zone of the
# `resolver` scenario (the same as capture_postfix_resolver.sh): example.com
# and example.org resolve to 127.0.0.2 where the sink listens on port 25;
# NXDOMAIN domains give "** addr R=dnslookup: Unrouteable address"-style
# failures, SERVFAIL / silent domains give routing defers ("== addr
# R=dnslookup defer (-1): host lookup did not complete") and, on the queue
# runs between two retries, "routing defer (-51): retry time not reached",
# until the retry rule (* * F,3m,1m) times them out.
#
# Output: tests/logs/resolver/exim.{log,sink.jsonl,scenario.json,dns.jsonl}
# (Exim's own mainlog).  Root only, no systemd; leaves no daemon running.
# About 4-5 minutes.
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/resolver_exim"
DEST="$REPO/tests/logs/resolver"
EXIM_PID=

stop_everything() {
    # started through nsenter, the daemon is not our child: stop it by its pid file
    if [ -s "$DIR/exim.pid" ]; then kill "$(head -1 "$DIR/exim.pid")" 2>/dev/null || true; rm -f "$DIR/exim.pid"; sleep 1; fi
    if [ -n "$EXIM_PID" ]; then kill "$EXIM_PID" 2>/dev/null || true; wait "$EXIM_PID" 2>/dev/null || true; EXIM_PID=; fi
    stop_sink
    stop_netns_resolver
}
trap stop_everything EXIT

need_root
if ! command -v exim4 >/dev/null; then
    log "installing exim4-daemon-light (removes postfix)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq exim4-daemon-light >/dev/null
fi
for u in bounces newsletter; do
    getent passwd "$u" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    home=$(getent passwd "$u" | cut -d: -f6); mkdir -p "$home"; chown "$u" "$home"
done
echo mx1.news.example.net > /etc/mailname
mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
stop_everything
rm -f "$WORK/dns.queries.jsonl"

cat > /etc/exim4/exim4.conf <<'EOF'
# emaillog capture configuration (written by tools/capture_exim_resolver.sh)
primary_hostname = mx1.news.example.net
qualify_domain = news.example.net
domainlist local_domains = news.example.net : mx1.news.example.net : localhost
hostlist relay_from_hosts = 127.0.0.0/8
local_interfaces = 127.0.0.1
daemon_smtp_ports = 25
never_users = root
keep_environment =
tls_advertise_hosts =
host_lookup =
host_lookup_order = byaddr
rfc1413_hosts =
rfc1413_query_timeout = 0s
log_file_path = /var/log/exim4/%slog
log_selector = +received_recipients +delivery_size +deliver_time +queue_time \
               +sender_on_delivery +return_path_on_delivery +smtp_confirmation \
               +subject +outgoing_port +queue_time_overall
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_data = acl_check_data
ignore_bounce_errors_after = 10m
timeout_frozen_after = 10m

begin acl

acl_check_rcpt:
  accept  hosts = :
  accept  hosts = +relay_from_hosts
  accept  domains = +local_domains
  deny    message = relay not permitted

acl_check_data:
  warn    condition = ${if def:h_X-Campaign-ID:}
          logwrite = X-Campaign-ID: $h_X-Campaign-ID:
  accept

begin routers

dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  self = send
  no_more

localuser:
  driver = accept
  domains = +local_domains
  check_local_user
  local_part_suffix = +*
  local_part_suffix_optional
  transport = local_delivery

begin transports

remote_smtp:
  driver = smtp
  hosts_avoid_tls = *

local_delivery:
  driver = appendfile
  file = /var/mail/$local_part_data
  delivery_date_add
  envelope_to_add
  return_path_add
  group = mail
  mode = 0660

begin retry

*   *   F,3m,1m

begin rewrite
EOF
exim4 -bV >/dev/null

rm -rf /var/spool/exim4/input/* /var/spool/exim4/msglog/* /var/spool/exim4/db/* 2>/dev/null || true
rm -f /var/log/exim4/mainlog /var/log/exim4/rejectlog /var/log/exim4/paniclog /var/mail/bounces /var/mail/newsletter

$PY "$REPO/tools/send_scenario.py" build resolver --out "$DIR/exim.scenario.json"
$PY "$REPO/tools/send_scenario.py" map "$DIR/exim.scenario.json" zone > "$DIR/zone.json"
start_netns_resolver "$DIR/zone.json"
start_sink "$DIR/exim.sink.jsonl" "" 127.0.0.2 25
in_ns exim4 -bdf -q15s -oP "$DIR/exim.pid" &
EXIM_PID=$!
wait_port 127.0.0.1 25 || exit 1
log "exim running (pid $EXIM_PID) with the stub resolver, sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/exim.scenario.json" --port 25 --via smtp --delay 0.5 > "$DIR/send.out"
sleep 5
for _ in $(seq 1 180); do
    if [ "$(exim4 -bpc)" = 0 ]; then log "queue empty"; break; fi
    sleep 5
done
sleep 3
exim4 -bp | tail -5 >&2 || true
stop_everything
copy_fixture /var/log/exim4/mainlog "$DEST/exim.log"
copy_fixture "$DIR/exim.sink.jsonl" "$DEST/exim.sink.jsonl"
copy_fixture "$DIR/exim.scenario.json" "$DEST/exim.scenario.json"
copy_fixture "$WORK/dns.queries.jsonl" "$DEST/exim.dns.jsonl"
[ -s /var/log/exim4/paniclog ] && { log "paniclog:"; cat /var/log/exim4/paniclog >&2; }
log "wrote $DEST/exim.log ($(wc -l < "$DEST/exim.log") lines)"
