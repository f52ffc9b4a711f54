#!/bin/bash
# Genuine capture of Sendmail's MSP (submit.cf) relaying into Postfix.
#
#   sudo tools/capture_sendmail_msp.sh
#
# The apt packages sendmail-bin and postfix conflict, so Postfix stays
# installed (apt) and Sendmail is NOT installed: the script fetches Debian's
# sendmail-bin, sendmail-base and sendmail-cf with `apt-get download` and
# unpacks them with `dpkg -x` into $WORK/sendmail_msp/root (nothing of it goes
# to /usr).  The MSP configuration is Debian's own
# /usr/share/sendmail/cf/debian/submit.mc (DOMAIN(debian-msp),
# FEATURE(msp, [127.0.0.1], 25)) built with m4 against the unpacked cf tree
# (its absolute /usr/share/sendmail/cf paths rewritten to the unpacked copy).
# Each message is submitted with the unpacked binary as Debian's
# /usr/sbin/sendmail would run it: `sendmail -Ac -C submit.cf -i -f SENDER -- RCPTS`.
#
# The MSP runs in a private UTS + mount namespace whose host name is
# mx1.news.example.net and whose /etc/hosts names it (without DNS, Sendmail
# cannot qualify "vm" and sleeps 60 s per invocation, see capture_sendmail.sh).
# Users smmsp (the MSP's RunAsUser) and the queue /var/spool/mqueue-client
# are created as Debian's postinst would.
#
# Postfix is the main.cf of capture_postfix.sh on 127.0.0.1:25 (syslog), relaying
# to the sink on 127.0.0.1:2525.  One rsyslogd writes mail.* (traditional
# format), so the log has the MSP's "sendmail[pid]: ... relay=[127.0.0.1]
# [127.0.0.1], dsn=2.0.0, stat=Sent (Ok: queued as X)" and Postfix's lines for X.
#
# Output: tests/logs/msp/sendmail_postfix.{log,sink.jsonl,scenario.json}
# Root only, no systemd; leaves no daemon running.  About 5 minutes (a
# deferred recipient must expire in Postfix: 4m).
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/sendmail_msp"
ROOT="$DIR/root"
DEST="$REPO/tests/logs/msp"
MSP_NS_PID=

stop_everything() {
    postfix_stop
    if [ -n "$MSP_NS_PID" ]; then kill "$MSP_NS_PID" 2>/dev/null || true; wait "$MSP_NS_PID" 2>/dev/null || true; MSP_NS_PID=; fi
    stop_sink
    stop_rsyslog
}
trap stop_everything EXIT

need_root
install_postfix
command -v m4 >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq m4 >/dev/null; }
mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR/debs" "$ROOT"
stop_everything

# --- Sendmail, unpacked (not installed)
log "fetching sendmail-bin, sendmail-base, sendmail-cf (apt-get download) and unpacking them"
(cd "$DIR/debs" && apt-get download sendmail-bin sendmail-base sendmail-cf 2>/dev/null) || {
    apt-get update -qq; (cd "$DIR/debs" && apt-get download sendmail-bin sendmail-base sendmail-cf); }
for d in "$DIR"/debs/*.deb; do dpkg -x "$d" "$ROOT"; done
SM="$ROOT/usr/libexec/sendmail/sendmail"
[ -x "$SM" ] || { log "no sendmail binary in $ROOT"; exit 1; }
# the shared libraries sendmail-bin depends on (plain libraries: no conflict with postfix)
if ldd "$SM" | grep -q 'not found'; then
    log "installing sendmail-bin's libraries"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libdb5.3 libldap-2.5-0 liblockfile1 \
        libnsl2 libsasl2-2 libssl3 libwrap0 >/dev/null
fi
! ldd "$SM" | grep 'not found' >&2 || exit 1
CFDIR="$ROOT/usr/share/sendmail/cf"
grep -rl '/usr/share/sendmail/cf' "$CFDIR" | xargs sed -i "s#/usr/share/sendmail/cf#$CFDIR#g"
cp "$CFDIR/debian/submit.mc" "$DIR/submit.mc"
m4 -D_CF_DIR_="$CFDIR/" "$DIR/submit.mc" > "$DIR/submit.cf"
grep -q '^D{MTAHost}\[127.0.0.1\]' "$DIR/submit.cf"
getent group smmsp >/dev/null || groupadd --system smmsp
getent passwd smmsp >/dev/null || useradd --system -g smmsp --no-create-home --home-dir /var/lib/sendmail --shell /usr/sbin/nologin smmsp
mkdir -p /var/spool/mqueue-client /var/lib/sendmail /run/sendmail/msp
chown smmsp:smmsp /var/spool/mqueue-client /run/sendmail/msp; chmod 2770 /var/spool/mqueue-client
chown smmsp:smmsp /var/lib/sendmail
touch /var/lib/sendmail/sm-client.st; chown smmsp:smmsp /var/lib/sendmail/sm-client.st
rm -f /var/spool/mqueue-client/* 2>/dev/null || true
mkdir -p /etc/mail
[ -f /etc/mail/helpfile ] || cp "$ROOT/etc/mail/helpfile" /etc/mail/helpfile 2>/dev/null || true

# the namespace the MSP runs in: host name mx1.news.example.net, /etc/hosts naming it
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmx1.news.example.net mx1\n' > "$DIR/hosts"
unshare -m -u --propagation private sh -c \
    "hostname mx1.news.example.net && mount --bind '$DIR/hosts' /etc/hosts && exec sleep 100000" &
MSP_NS_PID=$!
for _ in $(seq 1 20); do
    [ "$(nsenter -t "$MSP_NS_PID" -u hostname 2>/dev/null)" = mx1.news.example.net ] && break
    sleep 0.2
done
cat > "$DIR/sendmail" <<EOF
#!/bin/sh
# the MSP as Debian's /usr/sbin/sendmail runs it, inside the capture namespace
exec nsenter -t $MSP_NS_PID -m -u -- "$SM" -Ac -C "$DIR/submit.cf" "\$@"
EOF
chmod +x "$DIR/sendmail"

# --- Postfix
$PY "$REPO/tools/send_scenario.py" build msp --out "$DIR/sendmail_postfix.scenario.json"
{
    echo "# emaillog capture configuration (written by tools/capture_sendmail_msp.sh)"
    postfix_base_main_cf
} > /etc/postfix/main.cf
postfix_sink_transport > /etc/postfix/transport
echo '/^X-Campaign-ID:/ INFO' > /etc/postfix/header_checks
$PY "$REPO/tools/send_scenario.py" map "$DIR/sendmail_postfix.scenario.json" virtual > /etc/postfix/virtual
$PY "$REPO/tools/send_scenario.py" map "$DIR/sendmail_postfix.scenario.json" access > /etc/postfix/recipient_access
postfix_plain_master
postfix check

CAPTURE="$DIR/mail.log"
start_rsyslog "$CAPTURE"
postfix_clean_queue
start_sink "$DIR/sendmail_postfix.sink.jsonl"
postfix start
sleep 2
log "postfix running, submitting through the MSP"
$PY "$REPO/tools/send_scenario.py" send "$DIR/sendmail_postfix.scenario.json" --via sendmail \
    --sendmail "$DIR/sendmail" --delay 1 > "$DIR/send.out"
# exit 69 (EX_UNAVAILABLE) is the MSP reporting Postfix's 5xx for optout@; 126/127: no binary
if grep -E '"exit": 12[67]' "$DIR/send.out" >&2; then log "the MSP could not run"; exit 1; fi
sleep 5
for _ in $(seq 1 30); do [ -z "$(ls /var/spool/mqueue-client/ 2>/dev/null)" ] && break; sleep 2; done
[ -z "$(ls /var/spool/mqueue-client/ 2>/dev/null)" ] || log "MSP queue not empty: $(ls /var/spool/mqueue-client/)"
postfix_wait_queue_empty 900
stop_everything
copy_fixture "$CAPTURE" "$DEST/sendmail_postfix.log"
copy_fixture "$DIR/sendmail_postfix.sink.jsonl" "$DEST/sendmail_postfix.sink.jsonl"
copy_fixture "$DIR/sendmail_postfix.scenario.json" "$DEST/sendmail_postfix.scenario.json"
log "wrote $DEST/sendmail_postfix.log ($(wc -l < "$DEST/sendmail_postfix.log") lines)"
