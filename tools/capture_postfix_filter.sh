#!/bin/bash
# Genuine Postfix + amavisd-new capture: a content filter hop in the log.
#
#   sudo tools/capture_postfix_filter.sh
#
# Postfix (the main.cf of capture_postfix.sh, syslog logging) with
#   content_filter = smtp-amavis:[127.0.0.1]:10024
# and the two master.cf services of amavisd-new's README.postfix (an smtp
# client "smtp-amavis" with maxproc 2, and the re-injection smtpd on
# 127.0.0.1:10025 with content_filter= and the relaxed restrictions).
# amavisd-new runs in the foreground ($max_servers 2, virus and spam checks
# off as Debian ships it), logging to syslog like Postfix; one rsyslogd writes
# mail.* in Debian's traditional format, so the capture is a mixed
# /var/log/mail.log with postfix/... and amavis[...] lines.
#
# Every message crosses the filter: the first queue ID's line to
# relay=127.0.0.1[127.0.0.1]:10024 ends "status=sent (250 2.0.0 from
# MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as QID2)", a hop; QID2 is
# relayed to the sink (tools/smtp_sink.py on 127.0.0.1:2525) and has the
# outcome.  Aliases: virtual_alias_maps (orig_to=), a bare local name
# submitted with sendmail (orig_to=<sniptybounce>) and an /etc/aliases-style
# alias expanded by local(8) (forwarded as QID3, which crosses the filter again).
#
# Output: tests/logs/postfix_filter/amavis.{log,sink.jsonl,scenario.json}
# Root only, no systemd; installs postfix, rsyslog and amavisd-new; leaves no
# daemon running.  About 6 minutes (the deferred copy must expire: 4m).
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/postfix_filter"
DEST="$REPO/tests/logs/postfix_filter"
AMAVIS_PID=

stop_everything() {
    postfix_stop
    if [ -n "$AMAVIS_PID" ]; then
        kill "$AMAVIS_PID" 2>/dev/null || true; wait "$AMAVIS_PID" 2>/dev/null || true; AMAVIS_PID=
    fi
    stop_sink
    stop_rsyslog
}
trap stop_everything EXIT

need_root
install_postfix
if ! command -v amavisd >/dev/null; then
    log "installing amavisd-new"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq amavisd-new >/dev/null
fi
mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
stop_everything

$PY "$REPO/tools/send_scenario.py" build filter --out "$DIR/amavis.scenario.json"

# --- Postfix
{
    echo "# emaillog capture configuration (written by tools/capture_postfix_filter.sh)"
    postfix_base_main_cf | sed -e 's/^alias_maps =$/alias_maps = hash:\/etc\/postfix\/capture_aliases/' \
                               -e 's/^alias_database =$/alias_database = hash:\/etc\/postfix\/capture_aliases/'
    echo "content_filter = smtp-amavis:[127.0.0.1]:10024"
} > /etc/postfix/main.cf
postfix_sink_transport > /etc/postfix/transport
echo '/^X-Campaign-ID:/ INFO' > /etc/postfix/header_checks
$PY "$REPO/tools/send_scenario.py" map "$DIR/amavis.scenario.json" virtual > /etc/postfix/virtual
$PY "$REPO/tools/send_scenario.py" map "$DIR/amavis.scenario.json" access > /etc/postfix/recipient_access
$PY "$REPO/tools/send_scenario.py" map "$DIR/amavis.scenario.json" aliases > /etc/postfix/capture_aliases
postalias /etc/postfix/capture_aliases
postconf -F '*/*/chroot = n'
# amavisd-new's README.postfix, "Configuring a dedicated smtp-client" and the
# re-injection smtpd (service name as in the classic set-up: smtp-amavis)
postconf -M 'smtp-amavis/unix=smtp-amavis unix - - n - 2 smtp'
postconf -P 'smtp-amavis/unix/smtp_data_done_timeout=1200' \
            'smtp-amavis/unix/smtp_send_xforward_command=yes' \
            'smtp-amavis/unix/smtp_tls_note_starttls_offer=no'
postconf -M '127.0.0.1:10025/inet=127.0.0.1:10025 inet n - n - - smtpd'
postconf -P '127.0.0.1:10025/inet/content_filter=' \
            '127.0.0.1:10025/inet/smtpd_delay_reject=no' \
            '127.0.0.1:10025/inet/smtpd_client_restrictions=permit_mynetworks,reject' \
            '127.0.0.1:10025/inet/smtpd_helo_restrictions=' \
            '127.0.0.1:10025/inet/smtpd_sender_restrictions=' \
            '127.0.0.1:10025/inet/smtpd_recipient_restrictions=permit_mynetworks,reject' \
            '127.0.0.1:10025/inet/smtpd_data_restrictions=reject_unauth_pipelining' \
            '127.0.0.1:10025/inet/smtpd_end_of_data_restrictions=' \
            '127.0.0.1:10025/inet/smtpd_restriction_classes=' \
            '127.0.0.1:10025/inet/mynetworks=127.0.0.0/8' \
            '127.0.0.1:10025/inet/smtpd_error_sleep_time=0' \
            '127.0.0.1:10025/inet/smtpd_soft_error_limit=1001' \
            '127.0.0.1:10025/inet/smtpd_hard_error_limit=1000' \
            '127.0.0.1:10025/inet/smtpd_client_connection_count_limit=0' \
            '127.0.0.1:10025/inet/smtpd_client_connection_rate_limit=0' \
            '127.0.0.1:10025/inet/receive_override_options=no_header_body_checks,no_unknown_recipient_checks,no_milters' \
            '127.0.0.1:10025/inet/local_header_rewrite_clients=' \
            '127.0.0.1:10025/inet/smtpd_milters=' \
            '127.0.0.1:10025/inet/local_recipient_maps=' \
            '127.0.0.1:10025/inet/relay_recipient_maps='
postfix check

# --- amavisd-new: Debian's conf.d plus our host name and a small pool
cat > /etc/amavis/conf.d/99-emaillog-capture <<'EOF'
use strict;
# emaillog capture (written by tools/capture_postfix_filter.sh)
$myhostname = 'mx1.news.example.net';
$mydomain = 'news.example.net';
@local_domains_acl = ( ".$mydomain" );
$max_servers = 2;
$log_level = 0;
$inet_socket_bind = '127.0.0.1';
$forward_method = 'smtp:[127.0.0.1]:10025';
$notify_method = 'smtp:[127.0.0.1]:10025';
1;
EOF
mkdir -p /run/amavis; chown amavis:amavis /run/amavis
find /var/lib/amavis -maxdepth 1 -name 'amavis-*' -type d -exec rm -rf {} + 2>/dev/null || true
find /var/lib/amavis/tmp -maxdepth 1 -name 'amavis-*' -type d -exec rm -rf {} + 2>/dev/null || true

CAPTURE="$DIR/mail.log"
start_rsyslog "$CAPTURE"
postfix_clean_queue
start_sink "$DIR/amavis.sink.jsonl"
amavisd foreground >"$DIR/amavisd.out" 2>&1 &
AMAVIS_PID=$!
wait_port 127.0.0.1 10024 100 || { cat "$DIR/amavisd.out" >&2; exit 1; }
postfix start
sleep 2
log "postfix and amavisd (pid $AMAVIS_PID) running, sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/amavis.scenario.json" --port 25 --delay 0.5 > "$DIR/send.out"
postfix_wait_queue_empty 900
stop_everything
copy_fixture "$CAPTURE" "$DEST/amavis.log"
copy_fixture "$DIR/amavis.sink.jsonl" "$DEST/amavis.sink.jsonl"
copy_fixture "$DIR/amavis.scenario.json" "$DEST/amavis.scenario.json"
log "wrote $DEST/amavis.log ($(wc -l < "$DEST/amavis.log") lines)"
