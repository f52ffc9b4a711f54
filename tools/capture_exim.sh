#!/bin/bash
# Produce a genuine Exim log capture for the emaillog golden tests.
#
#   sudo tools/capture_exim.sh
#
# Installs exim4-daemon-light if missing (this REMOVES postfix), writes a
# complete /etc/exim4/exim4.conf (Debian uses it instead of the generated
# config when it exists), runs `exim4 -bd -q15s` on 127.0.0.1:25 relaying every
# remote domain to the scripted sink tools/smtp_sink.py on 127.0.0.1:2525,
# submits the `mta` scenario over SMTP, waits until the queue is empty (retry
# rule F,3m,10s, so `defer*` recipients time out after ~3 minutes), stops Exim
# and copies Exim's own /var/log/exim4/mainlog:
#
#   tests/logs/exim/scenario.{log,sink.jsonl,scenario.json}
#
# Root only, no systemd needed; leaves no daemon running.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/emaillog-capture}
SINK_PORT=2525
PY=${PYTHON:-python3}
SINK_PID=
EXIM_PID=
DIR="$WORK/exim"
DEST="$REPO/tests/logs/exim"

log() { echo "[capture_exim $(date -u +%H:%M:%S)] $*" >&2; }

stop_everything() {
    if [ -n "$EXIM_PID" ]; then kill "$EXIM_PID" 2>/dev/null || true; sleep 1; EXIM_PID=; fi
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=; fi
}
trap stop_everything EXIT

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
if ! command -v exim4 >/dev/null; then
    log "installing exim4-daemon-light"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq exim4-daemon-light >/dev/null
fi
for u in bounces newsletter; do
    getent passwd "$u" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    home=$(getent passwd "$u" | cut -d: -f6); mkdir -p "$home"; chown "$u" "$home"
done
echo mx1.news.example.net > /etc/mailname

cat > /etc/exim4/exim4.conf <<EOF
# emaillog capture configuration (written by tools/capture_exim.sh)
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
log_selector = +received_recipients +delivery_size +deliver_time +queue_time \\
               +sender_on_delivery +return_path_on_delivery +smtp_confirmation \\
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
  warn    condition = \${if def:h_X-Campaign-ID:}
          logwrite = X-Campaign-ID: \$h_X-Campaign-ID:
  accept

begin routers

sink:
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = * 127.0.0.1
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
  port = $SINK_PORT
  hosts_avoid_tls = *

local_delivery:
  driver = appendfile
  file = /var/mail/\$local_part_data
  delivery_date_add
  envelope_to_add
  return_path_add
  group = mail
  mode = 0660

begin retry

*   *   F,3m,10s

begin rewrite
EOF
exim4 -bV >/dev/null

mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
# a clean spool, hints databases and log
rm -rf /var/spool/exim4/input/* /var/spool/exim4/msglog/* /var/spool/exim4/db/* 2>/dev/null || true
rm -f /var/log/exim4/mainlog /var/log/exim4/rejectlog /var/log/exim4/paniclog /var/mail/bounces /var/mail/newsletter

$PY "$REPO/tools/send_scenario.py" build mta --out "$DIR/scenario.scenario.json"
$PY "$REPO/tools/smtp_sink.py" --port $SINK_PORT --record "$DIR/scenario.sink.jsonl" 2>>"$DIR/sink.stderr" &
SINK_PID=$!
sleep 1
exim4 -bdf -q15s &
EXIM_PID=$!
sleep 2
log "exim running (pid $EXIM_PID), sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/scenario.scenario.json" --port 25 --via smtp --delay 0.3 > "$DIR/send.out"
sleep 5
for t in $(seq 1 180); do
    if [ "$(exim4 -bpc)" = 0 ]; then log "queue empty"; break; fi
    sleep 5
done
sleep 3
exim4 -bp | tail -5 >&2 || true
stop_everything
mkdir -p "$DEST"
cp /var/log/exim4/mainlog "$DEST/scenario.log"; chmod 644 "$DEST/scenario.log"
cp "$DIR/scenario.sink.jsonl" "$DIR/scenario.scenario.json" "$DEST/"
[ -s /var/log/exim4/paniclog ] && { log "paniclog:"; cat /var/log/exim4/paniclog >&2; }
log "wrote $DEST/scenario.log ($(wc -l < "$DEST/scenario.log") lines)"
