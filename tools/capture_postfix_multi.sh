#!/bin/bash
# Genuine Postfix multi-instance capture (postmulti): input instance -> output
# instance over loopback, the same two-queue-ID shape as a content filter.
#
#   sudo tools/capture_postfix_multi.sh
#
# The default instance (/etc/postfix, syslog_name postfix) is the main.cf of
# capture_postfix.sh plus the multi-instance settings of `postmulti -e init`;
# its transport map sends the test domains to smtp:[127.0.0.1]:10026.  The
# output instance postfix-out (`postmulti -I postfix-out -G mta -e create`:
# /etc/postfix-out, /var/spool/postfix-out, syslog_name postfix-out) listens
# on 127.0.0.1:10026 only and relays to the sink on 127.0.0.1:2525.
# `postfix start` starts both.  One rsyslogd writes mail.* (traditional
# format): postfix/... and postfix-out/... lines in one file.
#
# Output: tests/logs/postfix_multi/multi.{log,sink.jsonl,scenario.json}
# Root only, no systemd; leaves no daemon running.  About 5 minutes (a
# deferred copy must expire in postfix-out: 4m).
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/postfix_multi"
DEST="$REPO/tests/logs/postfix_multi"
OUT=/etc/postfix-out

stop_everything() {
    postfix_stop
    stop_sink
    stop_rsyslog
}
trap stop_everything EXIT

need_root
install_postfix
mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
stop_everything

$PY "$REPO/tools/send_scenario.py" build multi --out "$DIR/multi.scenario.json"

# --- input instance (default)
{
    echo "# emaillog capture configuration (written by tools/capture_postfix_multi.sh)"
    postfix_base_main_cf
    cat <<'EOF'
multi_instance_wrapper = ${command_directory}/postmulti -p --
multi_instance_enable = yes
EOF
} > /etc/postfix/main.cf
cat > /etc/postfix/transport <<EOF
example.com         smtp:[127.0.0.1]:10026
example.org         smtp:[127.0.0.1]:10026
example.net         smtp:[127.0.0.1]:10026
EOF
echo '/^X-Campaign-ID:/ INFO' > /etc/postfix/header_checks
$PY "$REPO/tools/send_scenario.py" map "$DIR/multi.scenario.json" virtual > /etc/postfix/virtual
$PY "$REPO/tools/send_scenario.py" map "$DIR/multi.scenario.json" access > /etc/postfix/recipient_access
postfix_plain_master

# --- output instance
if [ ! -f "$OUT/main.cf" ]; then
    postmulti -I postfix-out -G mta -e create
fi
postconf -e "multi_instance_directories = $OUT"
{
    echo "# emaillog capture output instance (written by tools/capture_postfix_multi.sh)"
    postfix_base_main_cf | sed -e '/^smtpd_recipient_restrictions =/,/reject_unauth_destination$/d' \
        -e '/^virtual_alias_maps =/d' -e '/^header_checks =/d' \
        -e 's#^transport_maps = .*#transport_maps = texthash:/etc/postfix-out/transport#' \
        -e 's/^inet_interfaces = .*/inet_interfaces = 127.0.0.1/' -e '/^myhostname =/d'
    cat <<EOF
myhostname = mx1-out.news.example.net
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
queue_directory = /var/spool/postfix-out
data_directory = /var/lib/postfix-out
multi_instance_name = postfix-out
multi_instance_group = mta
multi_instance_enable = yes
syslog_name = postfix-out
master_service_disable =
authorized_submit_users =
EOF
} > "$OUT/main.cf"
postfix_sink_transport > "$OUT/transport"
postconf -c "$OUT" -MX smtp/inet 2>/dev/null || true
postconf -c "$OUT" -M '127.0.0.1:10026/inet=127.0.0.1:10026 inet n - n - - smtpd'
postfix_plain_master "$OUT"
postfix check
postfix -c "$OUT" check

CAPTURE="$DIR/mail.log"
start_rsyslog "$CAPTURE"
postfix_clean_queue
postsuper -c "$OUT" -d ALL >/dev/null 2>&1 || true
start_sink "$DIR/multi.sink.jsonl"
postfix start
sleep 3
postmulti -l >&2
wait_port 127.0.0.1 10026 || exit 1
log "both instances running, sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/multi.scenario.json" --port 25 --delay 0.5 > "$DIR/send.out"
sleep 5
for t in $(seq 1 180); do
    if [ -z "$(postqueue -j 2>/dev/null)" ] && [ -z "$(postqueue -c "$OUT" -j 2>/dev/null)" ]; then
        log "both queues empty"; sleep 3; break
    fi
    sleep 5
done
stop_everything
copy_fixture "$CAPTURE" "$DEST/multi.log"
copy_fixture "$DIR/multi.sink.jsonl" "$DEST/multi.sink.jsonl"
copy_fixture "$DIR/multi.scenario.json" "$DEST/multi.scenario.json"
log "wrote $DEST/multi.log ($(wc -l < "$DEST/multi.log") lines)"
