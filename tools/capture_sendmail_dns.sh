#!/bin/bash
# Genuine Sendmail capture of DNS failures (deferrals, warnings, returns).
#
#   sudo tools/capture_sendmail_dns.sh
#
# Installs sendmail-bin, sendmail-cf, sensible-mda, m4 and rsyslog if missing
# (sendmail replaces any other MTA).  The sendmail.mc is that of
# tools/capture_sendmail.sh without SMART_HOST and nocanonify and with the
# service switch "hosts dns files" (accept_unresolvable_domains stays: the
# stub has no records for our own news.example.net, and without it Sendmail
# refuses our senders with 553 5.1.8 "Domain of sender address ... does not exist"):
# Sendmail canonifies recipient domains and looks up MX records itself, with
# the C resolver, against the stub DNS tools/stub_dns.py (zone of the
# `resolver` scenario, as in capture_postfix_resolver.sh): example.com and
# example.org resolve to 127.0.0.2, where the sink listens on port 25; the
# other domains fail (NXDOMAIN, SERVFAIL, no answer, null MX, NODATA, MX hosts
# that do not resolve).  Timeout.queuewarn 1m, Timeout.queuereturn 3m: the
# temporary failures give "sender notify: Cannot send message for 1 minute"
# warnings and the final return after 3 minutes.
#
# sendmail -bd -q15s runs in a private mount + UTS namespace: /etc/resolv.conf
# names the stub, the host name is mx1.news.example.net and /etc/hosts names
# it (so Sendmail does not sleep 60 s to qualify "vm").  rsyslogd writes
# mail.* in Debian's traditional format.
#
# Output: tests/logs/sendmail_dns/resolver.{log,sink.jsonl,scenario.json,dns.jsonl}
# Root only, no systemd; leaves no daemon running.  About 5 minutes.
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/sendmail_dns"
DEST="$REPO/tests/logs/sendmail_dns"
SM_PIDFILE=/run/sendmail/mta/sendmail.pid
NS_HOSTNAME=mx1.news.example.net

stop_sendmail() {
    if [ -s "$SM_PIDFILE" ]; then
        kill "$(head -1 "$SM_PIDFILE")" 2>/dev/null || true
        sleep 2; rm -f "$SM_PIDFILE"
    fi
}
stop_everything() {
    stop_sendmail
    stop_sink
    stop_netns_resolver
    stop_rsyslog
}
trap stop_everything EXIT

need_root
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
printf 'hosts\tdns files\naliases\tfiles\n' > /etc/mail/service.switch-dns

cat > /etc/mail/sendmail.mc <<'EOF'
divert(-1)dnl
# emaillog capture configuration (written by tools/capture_sendmail_dns.sh)
divert(0)dnl
define(`_USE_ETC_MAIL_')dnl
include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(`emaillog capture (DNS)')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
undefine(`confHOST_STATUS_DIRECTORY')dnl
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl
define(`confDOMAIN_NAME', `mx1.news.example.net')dnl
define(`confSERVICE_SWITCH_FILE', `/etc/mail/service.switch-dns')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`confTO_QUEUERETURN', `3m')dnl
define(`confTO_QUEUEWARN', `1m')dnl
define(`confMIN_QUEUE_AGE', `0m')dnl
define(`confTO_CONNECT', `5s')dnl
LOCAL_DOMAIN(`news.example.net')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`use_cw_file')dnl
FEATURE(`access_db', , `skip')dnl
FEATURE(`always_add_domain')dnl
MAILER_DEFINITIONS
MAILER(`local')dnl
MAILER(`smtp')dnl
EOF
m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf
(cd /etc/mail && touch access && makemap hash access < access)

mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
stop_everything
rm -f "$WORK/dns.queries.jsonl"
rm -f /var/spool/mqueue/* /var/mail/bounces /var/mail/newsletter 2>/dev/null || true

$PY "$REPO/tools/send_scenario.py" build resolver --out "$DIR/resolver.scenario.json"
$PY "$REPO/tools/send_scenario.py" map "$DIR/resolver.scenario.json" zone > "$DIR/zone.json"
CAPTURE="$DIR/mail.log"
start_rsyslog "$CAPTURE"
start_netns_resolver "$DIR/zone.json"
start_sink "$DIR/resolver.sink.jsonl" "" 127.0.0.2 25
mkdir -p "$(dirname "$SM_PIDFILE")"
in_ns /usr/sbin/sendmail -bd -q15s
wait_port 127.0.0.1 25 450 || exit 1
log "sendmail running (pid $(head -1 "$SM_PIDFILE")), sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/resolver.scenario.json" --via smtp --port 25 \
    --delay 0.5 > "$DIR/send.out"
# Sendmail-specific truth: a message with a recipient whose domain fails
# temporarily in DNS is deferred for all its recipients (the To: header cannot
# be canonified), so the others are not delivered either.
$PY - "$DIR/resolver.scenario.json" <<'PYEOF'
import json, sys
p = sys.argv[1]
sc = json.load(open(p))
for m in sc["messages"]:
    temp = [r["address"] for r in m["recipients"]
            if r["expect"].get("reason") == "dns_tempfail"]
    if not temp:
        continue
    for r in m["recipients"]:
        if r["expect"].get("events") == ["sent", "delivered"]:
            r["expect"] = {
                "events": ["sent", "soft_bounced"], "bounce_class": None,
                "reason": "dns_tempfail", "dsn": "4.4.2",
                "note": "Sendmail rewrites the To: header at delivery and cannot canonify "
                        + ", ".join(temp) + " (temporary DNS failure): the message is "
                        "deferred for this recipient too ('SYSERR(root): timeout writing "
                        "message to HOST' then 'dsn=4.4.2, stat=Deferred: Name server: "
                        "HOST: host name lookup failure'; the sink saw RCPT but no DATA) "
                        "until Timeout.queuereturn returns it"}
json.dump(sc, open(p, "w"), indent=1)
open(p, "a").write("\n")
PYEOF
sleep 5
for _ in $(seq 1 120); do
    if [ -z "$(ls /var/spool/mqueue/ 2>/dev/null)" ]; then log "queue empty"; break; fi
    sleep 5
done
sleep 3
ls /var/spool/mqueue/ >&2 || true
stop_everything
copy_fixture "$CAPTURE" "$DEST/resolver.log"
copy_fixture "$DIR/resolver.sink.jsonl" "$DEST/resolver.sink.jsonl"
copy_fixture "$DIR/resolver.scenario.json" "$DEST/resolver.scenario.json"
copy_fixture "$WORK/dns.queries.jsonl" "$DEST/resolver.dns.jsonl"
log "wrote $DEST/resolver.log ($(wc -l < "$DEST/resolver.log") lines)"
