#!/bin/bash
# Produce a genuine Sendmail log capture for the emaillog golden tests.
#
#   sudo tools/capture_sendmail.sh
#
# Installs sendmail-bin, sendmail-cf, m4 and rsyslog if missing (sendmail
# replaces any other MTA), builds /etc/mail/sendmail.cf from a sendmail.mc
# (Debian's defaults plus SMART_HOST [127.0.0.2] with RELAY_MAILER_ARGS
# `TCP $h 2525`, Timeout.queuereturn 3m, Timeout.queuewarn 1m, no DNS:
# service switch `hosts files`, accept_unresolvable_domains), runs rsyslogd writing mail.* in the classic
# BSD format (RSYSLOG_TraditionalFileFormat) and `sendmail -bd -q15s`, submits
# the `mta` scenario over SMTP to 127.0.0.1:25, waits until the queue is empty
# (deferred mail is returned after 3 minutes), stops everything and copies the
# log:
#
#   tests/logs/sendmail/scenario.{log,sink.jsonl,scenario.json}
#
# Sendmail cannot qualify the machine's own host name without DNS, so it
# sleeps 60 s at start ("My unqualified host name (vm) unknown; sleeping for
# retry") before it runs; those lines are part of the capture.
#
# Root only, no systemd needed; leaves no daemon running.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/emaillog-capture}
SINK_PORT=2525
# Sendmail puts its own addresses ([127.0.0.1]) in class w, and a SMART_HOST
# that is in class w is taken for this host and ignored: the sink listens on
# 127.0.0.2 instead.
SINK_HOST=127.0.0.2
PY=${PYTHON:-python3}
SINK_PID=
RSYSLOG_PID=
SM_PIDFILE=/run/sendmail/mta/sendmail.pid
DIR="$WORK/sendmail"
DEST="$REPO/tests/logs/sendmail"

log() { echo "[capture_sendmail $(date -u +%H:%M:%S)] $*" >&2; }

stop_everything() {
    if [ -s "$SM_PIDFILE" ]; then
        kill "$(head -1 "$SM_PIDFILE")" 2>/dev/null || true
        sleep 2; rm -f "$SM_PIDFILE"
    fi
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=; fi
    if [ -n "$RSYSLOG_PID" ]; then sleep 1; kill "$RSYSLOG_PID" 2>/dev/null || true; wait "$RSYSLOG_PID" 2>/dev/null || true; RSYSLOG_PID=; fi
}
trap stop_everything EXIT

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
if ! command -v m4 >/dev/null || [ ! -d /usr/share/sendmail/cf ] || [ ! -x /usr/sbin/sensible-mda ] || ! command -v rsyslogd >/dev/null; then
    log "installing sendmail and rsyslog"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sendmail-bin sendmail-cf sensible-mda m4 rsyslog >/dev/null
fi
for u in bounces newsletter; do
    getent passwd "$u" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    home=$(getent passwd "$u" | cut -d: -f6); mkdir -p "$home"; chown "$u" "$home"
done
echo mx1.news.example.net > /etc/mailname
echo mx1.news.example.net > /etc/mail/local-host-names
echo news.example.net >> /etc/mail/local-host-names

cat > /etc/mail/sendmail.mc <<'EOF'
divert(-1)dnl
# emaillog capture configuration (written by tools/capture_sendmail.sh)
divert(0)dnl
define(`_USE_ETC_MAIL_')dnl
include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(`emaillog capture')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
undefine(`confHOST_STATUS_DIRECTORY')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl
define(`confDOMAIN_NAME', `mx1.news.example.net')dnl
define(`confSERVICE_SWITCH_FILE', `/etc/mail/service.switch-nodns')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`confTO_QUEUERETURN', `3m')dnl
define(`confTO_QUEUEWARN', `1m')dnl
define(`confMIN_QUEUE_AGE', `0m')dnl
define(`confTO_CONNECT', `5s')dnl
define(`SMART_HOST', `[127.0.0.2]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h 2525')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h 2525')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
LOCAL_DOMAIN(`news.example.net')dnl
FEATURE(`use_cw_file')dnl
FEATURE(`access_db', , `skip')dnl
FEATURE(`always_add_domain')dnl
MAILER_DEFINITIONS
MAILER(`local')dnl
MAILER(`smtp')dnl
EOF
m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf
(cd /etc/mail && makemap hash access < access)

mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR/rsyslog-spool"
stop_everything
rm -f /var/spool/mqueue/* /var/spool/mqueue-client/* /var/mail/bounces /var/mail/newsletter 2>/dev/null || true
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
$PY "$REPO/tools/smtp_sink.py" --host $SINK_HOST --port $SINK_PORT --record "$DIR/scenario.sink.jsonl" 2>>"$DIR/sink.stderr" &
SINK_PID=$!
sleep 1
mkdir -p "$(dirname "$SM_PIDFILE")"
/usr/sbin/sendmail -bd -q15s
for _ in $(seq 1 60); do
    ss -ltn 2>/dev/null | grep -q '127.0.0.1:25 ' && break
    sleep 1
done
log "sendmail running (pid $(head -1 "$SM_PIDFILE")), sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/scenario.scenario.json" --via smtp --port 25 \
    --delay 0.3 > "$DIR/send.out"
sleep 5
for t in $(seq 1 120); do
    if [ -z "$(ls /var/spool/mqueue/ 2>/dev/null)" ]; then log "queue empty"; break; fi
    sleep 5
done
sleep 3
mailq >&2 || true
stop_everything
mkdir -p "$DEST"
cp "$CAPTURE" "$DEST/scenario.log"; chmod 644 "$DEST/scenario.log"
cp "$DIR/scenario.sink.jsonl" "$DIR/scenario.scenario.json" "$DEST/"
log "wrote $DEST/scenario.log ($(wc -l < "$DEST/scenario.log") lines)"
