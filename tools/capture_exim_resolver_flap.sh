#!/bin/bash
# Genuine Exim capture of our own resolver failing for a while.
#
#   sudo tools/capture_exim_resolver_flap.sh
#
# The Exim of capture_exim_resolver.sh (installs exim4-daemon-light if
# missing, which REMOVES postfix; a complete /etc/exim4/exim4.conf with a
# `dnslookup` router; `exim4 -bdf -q15s` in a private mount namespace whose
# /etc/resolv.conf names the stub DNS tools/stub_dns.py on 127.0.0.1:53),
# scenario profile `resolver_flap` (the one of
# capture_postfix_resolver_flap.sh), sent one phase at a time:
#   phase 1  flaky.example MX 10 mx1.flaky.example, A 127.0.0.2 (the sink on
#            127.0.0.2:25): message 1 to ann@flaky.example, ok@example.com
#   phase 2  zone_failing loaded (SIGHUP to the stub): flaky.example and every
#            name under it NXDOMAIN; message 2 to bob@flaky.example and
#            carol@no-such-domain.example -> "** ...: Unrouteable address"
#   phase 3  zone restored: message 3 to dave@flaky.example -> delivered
# Exim keeps no DNS cache between processes (each delivery is a new process).
#
# Output: tests/logs/resolver_flap/exim.{log,sink.jsonl,scenario.json,dns.jsonl}
# (Exim's own mainlog).  About 1 minute.  Root only, no systemd; leaves no
# daemon running.
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/resolver_flap_exim"
DEST="$REPO/tests/logs/resolver_flap"
SC="$DIR/exim.scenario.json"
EXIM_PID=

stop_everything() {
    # started through nsenter, the daemon is not our child: stop it by its pid file
    if [ -s "$DIR/exim.pid" ]; then kill "$(head -1 "$DIR/exim.pid")" 2>/dev/null || true; rm -f "$DIR/exim.pid"; sleep 1; fi
    if [ -n "$EXIM_PID" ]; then kill "$EXIM_PID" 2>/dev/null || true; wait "$EXIM_PID" 2>/dev/null || true; EXIM_PID=; fi
    stop_sink
    stop_netns_resolver
}
trap stop_everything EXIT

# set_zone zone|zone_failing: write that zone of the scenario to the stub's
# zone file and make the stub re-read it (SIGHUP); wait for its "reloaded"
set_zone() {
    local before
    before=$(grep -c 'reloaded' "$WORK/dns.stderr" 2>/dev/null || true)
    $PY "$REPO/tools/send_scenario.py" map "$SC" "$1" > "$DIR/zone.json"
    kill -HUP "$DNS_PID"
    local _
    for _ in $(seq 1 25); do
        [ "$(grep -c 'reloaded' "$WORK/dns.stderr" 2>/dev/null || true)" -gt "${before:-0}" ] && { log "stub DNS now answers from $1"; return 0; }
        sleep 0.2
    done
    log "stub DNS did not reload $1"; exit 1
}

# phase N: send the messages of phase N, wait until Exim's queue is empty
phase() {
    local msgs _
    msgs=$($PY -c 'import json,sys; sc=json.load(open(sys.argv[1])); print(",".join(str(n) for p in sc["phases"] if p["phase"]==int(sys.argv[2]) for n in p["messages"]))' "$SC" "$1")
    log "phase $1: sending message(s) $msgs"
    $PY "$REPO/tools/send_scenario.py" send "$SC" --port 25 --via smtp --delay 0.5 --messages "$msgs" >> "$DIR/send.out"
    sleep 3
    for _ in $(seq 1 60); do
        if [ "$(exim4 -bpc)" = 0 ]; then log "queue empty"; break; fi
        sleep 2
    done
    sleep 3
}

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
rm -f "$WORK/dns.queries.jsonl" "$WORK/dns.stderr"

cat > /etc/exim4/exim4.conf <<'EOF'
# emaillog capture configuration (written by tools/capture_exim_resolver_flap.sh)
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

$PY "$REPO/tools/send_scenario.py" build resolver_flap --out "$SC"
$PY "$REPO/tools/send_scenario.py" map "$SC" zone > "$DIR/zone.json"
start_netns_resolver "$DIR/zone.json"
start_sink "$DIR/exim.sink.jsonl" "" 127.0.0.2 25
in_ns exim4 -bdf -q15s -oP "$DIR/exim.pid" &
EXIM_PID=$!
wait_port 127.0.0.1 25 || exit 1
log "exim running (pid $EXIM_PID) with the stub resolver"
: > "$DIR/send.out"
phase 1
set_zone zone_failing
phase 2
set_zone zone
phase 3
exim4 -bp | tail -5 >&2 || true
stop_everything

M=/var/log/exim4/mainlog
grep -q '=> ann@flaky.example' "$M" || { log "ann@flaky.example was not delivered"; exit 1; }
grep -q '\*\* bob@flaky.example' "$M" || { log "bob@flaky.example was not failed"; exit 1; }
grep -q '\*\* carol@no-such-domain.example' "$M" || { log "carol was not failed"; exit 1; }
grep -q '=> dave@flaky.example' "$M" || { log "dave@flaky.example was not delivered"; exit 1; }

copy_fixture "$M" "$DEST/exim.log"
copy_fixture "$DIR/exim.sink.jsonl" "$DEST/exim.sink.jsonl"
copy_fixture "$SC" "$DEST/exim.scenario.json"
copy_fixture "$WORK/dns.queries.jsonl" "$DEST/exim.dns.jsonl"
[ -s /var/log/exim4/paniclog ] && { log "paniclog:"; cat /var/log/exim4/paniclog >&2; }
log "wrote $DEST/exim.log ($(wc -l < "$DEST/exim.log") lines)"
