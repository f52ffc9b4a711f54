#!/bin/bash
# Produce genuine Postfix log captures for the emaillog golden tests.
#
#   sudo tools/capture_postfix.sh [scenario|sample|rfc3339|all]   (default: all)
#
# Runs a real Postfix on loopback (127.0.0.1:25) that relays every test domain
# to the scripted sink tools/smtp_sink.py on [127.0.0.1]:2525, submits a
# scenario with tools/send_scenario.py (SMTP and /usr/sbin/sendmail), waits
# until the queue is empty (deferred mail expires after a few minutes), stops
# Postfix and copies the log, the sink's record and the scenario into the repo:
#
#   scenario -> tests/logs/postfix/scenario.{log,sink.jsonl,scenario.json}
#               (Postfix maillog_file, i.e. postlogd's own format)
#   sample   -> sample_logs/mail.log, Postfix -> syslog -> rsyslog in the classic
#               BSD format of Debian's /var/log/mail.log, sink answers from
#               tools/sample_rules.json; the same log, sink record and scenario
#               also as tests/logs/postfix/sample_mail.{log,sink.jsonl,scenario.json}
#   rfc3339  -> tests/logs/postfix/rfc3339.{log,...}: Postfix -> syslog -> rsyslog
#               with template RSYSLOG_FileFormat (RFC 3339 timestamps)
#
# Root only, no systemd needed.  Installs postfix and rsyslog if missing.
# Leaves no daemon running.  Takes about 6-8 minutes per case (the deferred
# recipients must expire: maximal_queue_lifetime = 4m).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/emaillog-capture}
SINK_PORT=2525
PY=${PYTHON:-python3}
SINK_PID=
RSYSLOG_PID=

log() { echo "[capture_postfix $(date -u +%H:%M:%S)] $*" >&2; }

install_postfix() {
    if ! command -v postfix >/dev/null || ! command -v rsyslogd >/dev/null; then
        log "installing postfix and rsyslog"
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        echo "postfix postfix/mailname string mx1.news.example.net" | debconf-set-selections
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix rsyslog >/dev/null
    fi
    echo mx1.news.example.net > /etc/mailname
    for u in bounces newsletter; do
        getent passwd "$u" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    done
}

stop_everything() {
    if [ -f /var/spool/postfix/pid/master.pid ] && postfix status >/dev/null 2>&1; then
        postfix stop >/dev/null 2>&1 || true
        for _ in $(seq 1 20); do postfix status >/dev/null 2>&1 || break; sleep 0.5; done
    fi
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=; fi
    if [ -n "$RSYSLOG_PID" ]; then kill "$RSYSLOG_PID" 2>/dev/null || true; sleep 1; RSYSLOG_PID=; fi
}
trap stop_everything EXIT

# configure_postfix SCENARIO_JSON MAILLOG_FILE   (MAILLOG_FILE empty: log to syslog)
configure_postfix() {
    local scenario=$1 maillog=$2
    cat > /etc/postfix/main.cf <<EOF
# emaillog capture configuration (written by tools/capture_postfix.sh)
compatibility_level = 3.6
myhostname = mx1.news.example.net
mydomain = news.example.net
myorigin = \$mydomain
mydestination = \$myhostname, news.example.net, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
recipient_delimiter = +
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:/etc/postfix/recipient_access,
    permit_mynetworks, reject_unauth_destination
transport_maps = texthash:/etc/postfix/transport
virtual_alias_maps = texthash:/etc/postfix/virtual
header_checks = regexp:/etc/postfix/header_checks
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_connect_timeout = 5s
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 30s
maximal_queue_lifetime = 4m
bounce_queue_lifetime = 4m
delay_warning_time = 2m
maillog_file = $maillog
EOF
    cat > /etc/postfix/transport <<EOF
example.com         smtp:[127.0.0.1]:$SINK_PORT
example.org         smtp:[127.0.0.1]:$SINK_PORT
example.net         smtp:[127.0.0.1]:$SINK_PORT
mail.example.co.uk  smtp:[127.0.0.1]:$SINK_PORT
deadhost.example    smtp:[127.0.0.1]:2626
EOF
    echo '/^X-Campaign-ID:/ INFO' > /etc/postfix/header_checks
    $PY "$REPO/tools/send_scenario.py" map "$scenario" virtual > /etc/postfix/virtual
    $PY "$REPO/tools/send_scenario.py" map "$scenario" access > /etc/postfix/recipient_access
    # no chroot: the chroot jail would need copies of /etc files that only the
    # init script maintains
    postconf -F '*/*/chroot = n'
    postfix check
}

start_sink() {  # record [rules]
    local rules=()
    [ -n "${2:-}" ] && rules=(--rules "$2")
    rm -f "$1"
    $PY "$REPO/tools/smtp_sink.py" --port $SINK_PORT --record "$1" "${rules[@]}" 2>>"$WORK/sink.stderr" &
    SINK_PID=$!
    for _ in $(seq 1 50); do
        (exec 3<>/dev/tcp/127.0.0.1/$SINK_PORT) 2>/dev/null && return 0
        sleep 0.2
    done
    log "sink did not start"; exit 1
}

start_rsyslog() {  # output-file template
    local out=$1 tmpl=$2
    rm -f "$out"
    cat > "$WORK/rsyslog.conf" <<EOF
global(workDirectory="$WORK/rsyslog-spool" localHostname="mx1")
module(load="imuxsock")
mail.*  action(type="omfile" file="$out" template="$tmpl")
EOF
    mkdir -p "$WORK/rsyslog-spool"
    rsyslogd -f "$WORK/rsyslog.conf" -i "$WORK/rsyslogd.pid" -n &
    RSYSLOG_PID=$!
    sleep 1
}

wait_queue_empty() {  # max seconds
    local max=$1 t=0
    sleep 5
    while [ $t -lt "$max" ]; do
        if [ -z "$(postqueue -j 2>/dev/null)" ]; then
            log "queue empty after ~$((t + 5))s"
            sleep 3
            return 0
        fi
        sleep 5; t=$((t + 5))
    done
    log "queue still not empty after ${max}s"; postqueue -p | tail -5 >&2
}

# run_case NAME PROFILE LOGMODE(maillog|bsd|rfc3339) DEST_LOG DEST_PREFIX [RULES]
run_case() {
    local name=$1 profile=$2 mode=$3 dest_log=$4 dest_prefix=$5 rules=${6:-}
    local dir="$WORK/$name"
    log "=== case $name (profile $profile, logging $mode)"
    stop_everything
    rm -rf "$dir"; mkdir -p "$dir"
    local capture="$dir/$name.log"
    $PY "$REPO/tools/send_scenario.py" build "$profile" --out "$dir/$name.scenario.json"
    case $mode in
        maillog) configure_postfix "$dir/$name.scenario.json" "$capture" ;;
        bsd) configure_postfix "$dir/$name.scenario.json" ""
             start_rsyslog "$capture" RSYSLOG_TraditionalFileFormat ;;
        rfc3339) configure_postfix "$dir/$name.scenario.json" ""
                 start_rsyslog "$capture" RSYSLOG_FileFormat ;;
    esac
    # start from an empty queue and empty mailboxes
    postsuper -d ALL >/dev/null 2>&1 || true
    rm -f /var/mail/bounces /var/mail/newsletter
    start_sink "$dir/$name.sink.jsonl" "$rules"
    postfix start
    sleep 2
    $PY "$REPO/tools/send_scenario.py" send "$dir/$name.scenario.json" --port 25 --delay 0.3 \
        > "$dir/send.out"
    wait_queue_empty 900
    stop_everything
    sleep 1
    mkdir -p "$(dirname "$dest_log")" "$(dirname "$dest_prefix")"
    cp "$capture" "$dest_log"
    if [ -n "$dest_prefix" ]; then
        cp "$dir/$name.sink.jsonl" "$dest_prefix.sink.jsonl"
        cp "$dir/$name.scenario.json" "$dest_prefix.scenario.json"
    fi
    log "wrote $dest_log ($(wc -l < "$dest_log") lines, $(wc -c < "$dest_log") bytes)"
}

main() {
    [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
    mkdir -p "$WORK"
    install_postfix
    local what=${1:-all}
    local pf="$REPO/tests/logs/postfix"
    case $what in
        scenario|all) run_case scenario postfix maillog "$pf/scenario.log" "$pf/scenario" ;;&
        rfc3339|all) run_case rfc3339 rfc3339 rfc3339 "$pf/rfc3339.log" "$pf/rfc3339" ;;&
        sample|all) run_case sample sample bsd "$REPO/sample_logs/mail.log" \
                        "$pf/sample_mail" "$REPO/tools/sample_rules.json"
                    cp "$REPO/sample_logs/mail.log" "$pf/sample_mail.log" ;;&
        scenario|rfc3339|sample|all) ;;
        *) echo "usage: $0 [scenario|sample|rfc3339|all]" >&2; exit 2 ;;
    esac
}

main "$@"
