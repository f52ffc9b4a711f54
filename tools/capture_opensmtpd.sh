#!/bin/bash
# Produce a genuine OpenSMTPD log capture for the emaillog golden tests.
#
#   sudo tools/capture_opensmtpd.sh
#
# Installs opensmtpd and rsyslog if missing (opensmtpd replaces any other MTA),
# writes /etc/smtpd.conf (listen on lo, relay the test domains to the scripted
# sink tools/smtp_sink.py at smtp+notls://127.0.0.1:2525, queue ttl 3m, bounce
# warn-interval 1m), runs rsyslogd writing mail.* in the classic BSD format
# (RSYSLOG_TraditionalFileFormat, like Debian's /var/log/mail.log) and
# `smtpd -F` (foreground, logging to syslog), submits the `mta` scenario with
# OpenSMTPD's own sendmail(8) (local enqueue: no reverse DNS of a client),
# and runs `smtpctl schedule all` every 20 s: OpenSMTPD's own retry back-off
# starts at several minutes, longer than the 3 minute queue ttl, so without it
# greylisted mail would never be retried.  When the queue is empty it stops
# everything and copies the log:
#
#   tests/logs/opensmtpd/scenario.{log,sink.jsonl,scenario.json}
#
# Root only, no systemd needed; leaves no daemon running.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/emaillog-capture}
SINK_PORT=2525
PY=${PYTHON:-python3}
SINK_PID=
SMTPD_PID=
RSYSLOG_PID=
DIR="$WORK/opensmtpd"
DEST="$REPO/tests/logs/opensmtpd"

log() { echo "[capture_opensmtpd $(date -u +%H:%M:%S)] $*" >&2; }

stop_everything() {
    if [ -n "$SMTPD_PID" ]; then smtpctl stop >/dev/null 2>&1 || kill "$SMTPD_PID" 2>/dev/null || true
        wait "$SMTPD_PID" 2>/dev/null || true; SMTPD_PID=; fi
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=; fi
    if [ -n "$RSYSLOG_PID" ]; then sleep 1; kill "$RSYSLOG_PID" 2>/dev/null || true; wait "$RSYSLOG_PID" 2>/dev/null || true; RSYSLOG_PID=; fi
}
trap stop_everything EXIT

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
if ! command -v smtpd >/dev/null || ! command -v rsyslogd >/dev/null; then
    log "installing opensmtpd and rsyslog"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opensmtpd rsyslog >/dev/null
fi
for u in bounces newsletter; do
    getent passwd "$u" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    home=$(getent passwd "$u" | cut -d: -f6); mkdir -p "$home"; chown "$u" "$home"
done
echo mx1.news.example.net > /etc/mailname

cat > /etc/smtpd.conf <<EOF
# emaillog capture configuration (written by tools/capture_opensmtpd.sh)
queue ttl 3m
bounce warn-interval 1m

table aliases file:/etc/aliases
table sinkdomains { example.com, example.org, example.net, mail.example.co.uk }
table ourdomains { news.example.net, mx1.news.example.net, localhost }

listen on lo hostname mx1.news.example.net

action "local" mbox alias <aliases>
action "sink" relay host smtp+notls://127.0.0.1:$SINK_PORT helo mx1.news.example.net

match from local for domain <ourdomains> action "local"
match from local for domain <sinkdomains> action "sink"
EOF
smtpd -n -f /etc/smtpd.conf

mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR/rsyslog-spool"
smtpctl remove all >/dev/null 2>&1 || true
rm -f /var/mail/bounces /var/mail/newsletter
CAPTURE="$DIR/mail.log"
cat > "$DIR/rsyslog.conf" <<EOF
global(workDirectory="$DIR/rsyslog-spool" localHostname="mx1")
module(load="imuxsock")
mail.*  action(type="omfile" file="$CAPTURE" template="RSYSLOG_TraditionalFileFormat")
EOF
rsyslogd -f "$DIR/rsyslog.conf" -i "$DIR/rsyslogd.pid" -n &
RSYSLOG_PID=$!
sleep 1

$PY "$REPO/tools/send_scenario.py" build mta --out "$DIR/scenario.scenario.json"
$PY "$REPO/tools/smtp_sink.py" --port $SINK_PORT --record "$DIR/scenario.sink.jsonl" 2>>"$DIR/sink.stderr" &
SINK_PID=$!
sleep 1
smtpd -F -f /etc/smtpd.conf &
SMTPD_PID=$!
sleep 2
log "smtpd running (pid $SMTPD_PID), sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/scenario.scenario.json" --via sendmail \
    --sendmail /usr/sbin/sendmail --delay 0.3 > "$DIR/send.out"
sleep 5
for t in $(seq 1 60); do
    if [ -z "$(smtpctl show queue 2>/dev/null)" ]; then log "queue empty"; break; fi
    smtpctl schedule all >/dev/null 2>&1 || true
    sleep 20
done
sleep 3
smtpctl show queue >&2 || true
stop_everything
mkdir -p "$DEST"
cp "$CAPTURE" "$DEST/scenario.log"; chmod 644 "$DEST/scenario.log"
cp "$DIR/scenario.sink.jsonl" "$DIR/scenario.scenario.json" "$DEST/"
log "wrote $DEST/scenario.log ($(wc -l < "$DEST/scenario.log") lines)"
