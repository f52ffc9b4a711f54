# Shared helpers for the capture scripts written after capture_postfix.sh
# (capture_postfix_filter.sh, capture_postfix_resolver.sh, ...).  Source it:
#
#   . "$(dirname "$0")/capture_lib.sh"
#
# Everything it starts is recorded in a PID variable and stopped by
# stop_common (call it from the script's EXIT trap).  Nothing here kills by
# name.

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
WORK=${WORK:-/var/tmp/emaillog-capture}
PY=${PYTHON:-/usr/bin/python3}
SINK_PORT=${SINK_PORT:-2525}
SINK_PID=
RSYSLOG_PID=
DNS_PID=
NS_PID=       # the process holding the private mount namespace (see start_netns_resolver)

log() { echo "[$(basename "$0") $(date -u +%H:%M:%S)] $*" >&2; }

need_root() { [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }; }

# install_postfix: postfix + rsyslog, without debconf questions.  Installing
# postfix removes exim4 or sendmail (they conflict in apt).
install_postfix() {
    if ! command -v postfix >/dev/null || ! command -v rsyslogd >/dev/null; then
        log "installing postfix and rsyslog"
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        echo "postfix postfix/mailname string mx1.news.example.net" | debconf-set-selections
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix rsyslog >/dev/null
    fi
    echo mx1.news.example.net > /etc/mailname
    local u
    for u in bounces newsletter; do
        getent passwd "$u" >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    done
}

# postfix_base_main_cf: the main.cf of tools/capture_postfix.sh (syslog
# logging), printed on stdout; callers append their own settings.
postfix_base_main_cf() {
    cat <<EOF
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
maillog_file =
EOF
}

# the transport map of capture_postfix.sh: test domains -> the sink
postfix_sink_transport() {
    cat <<EOF
example.com         smtp:[127.0.0.1]:$SINK_PORT
example.org         smtp:[127.0.0.1]:$SINK_PORT
example.net         smtp:[127.0.0.1]:$SINK_PORT
mail.example.co.uk  smtp:[127.0.0.1]:$SINK_PORT
deadhost.example    smtp:[127.0.0.1]:2626
EOF
}

# postfix_plain_master [CONFIG_DIR]: master.cf without the services other
# capture scripts add (capture_postfix_filter.sh's smtp-amavis and the
# re-injection smtpd on 127.0.0.1:10025), chroot off everywhere
postfix_plain_master() {
    local c=${1:-/etc/postfix}
    postconf -c "$c" -MX smtp-amavis/unix 127.0.0.1:10025/inet 2>/dev/null || true
    postconf -c "$c" -F '*/*/chroot = n'
}

postfix_stop() {
    if [ -f /var/spool/postfix/pid/master.pid ] && postfix status >/dev/null 2>&1; then
        postfix stop >/dev/null 2>&1 || true
        local _
        for _ in $(seq 1 20); do postfix status >/dev/null 2>&1 || break; sleep 0.5; done
    fi
}

postfix_clean_queue() {
    postsuper -d ALL >/dev/null 2>&1 || true
    rm -f /var/mail/bounces /var/mail/newsletter
}

# wait_port HOST PORT [tries]: until something accepts TCP there
wait_port() {
    local _
    for _ in $(seq 1 "${3:-50}"); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.2
    done
    log "nothing listens on $1:$2"; return 1
}

# start_sink RECORD [RULES] [HOST] [PORT]
start_sink() {
    local record=$1 rules=${2:-} host=${3:-127.0.0.1} port=${4:-$SINK_PORT}
    local args=(--host "$host" --port "$port" --record "$record")
    [ -n "$rules" ] && args+=(--rules "$rules")
    rm -f "$record"
    $PY "$REPO/tools/smtp_sink.py" "${args[@]}" 2>>"$WORK/sink.stderr" &
    SINK_PID=$!
    wait_port "$host" "$port" || exit 1
}

stop_sink() {
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=; fi
}

# start_rsyslog OUTFILE [TEMPLATE] [SELECTOR]: mail.* (or SELECTOR) to OUTFILE,
# Debian's traditional format by default, host name "mx1", no rate limit.
start_rsyslog() {
    local out=$1 tmpl=${2:-RSYSLOG_TraditionalFileFormat} sel=${3:-mail.*}
    local spool="$WORK/rsyslog-spool.$$"
    rm -f "$out"; mkdir -p "$spool"
    cat > "$WORK/rsyslog.$$.conf" <<EOF
global(workDirectory="$spool" localHostname="mx1")
module(load="imuxsock" SysSock.RateLimit.Interval="0")
$sel  action(type="omfile" file="$out" template="$tmpl")
EOF
    rsyslogd -f "$WORK/rsyslog.$$.conf" -i "$WORK/rsyslogd.$$.pid" -n &
    RSYSLOG_PID=$!
    sleep 1
}

stop_rsyslog() {
    if [ -n "$RSYSLOG_PID" ]; then
        sleep 1; kill "$RSYSLOG_PID" 2>/dev/null || true; wait "$RSYSLOG_PID" 2>/dev/null || true
        RSYSLOG_PID=
    fi
}

# postfix_wait_queue_empty MAX_SECONDS
postfix_wait_queue_empty() {
    local max=$1 t=0
    sleep 5
    while [ "$t" -lt "$max" ]; do
        if [ -z "$(postqueue -j 2>/dev/null)" ]; then
            log "queue empty after ~$((t + 5))s"
            sleep 3
            return 0
        fi
        sleep 5; t=$((t + 5))
    done
    log "queue still not empty after ${max}s"; postqueue -p | tail -5 >&2
}

# Stub DNS on 127.0.0.1:53 (tools/stub_dns.py) and a private mount namespace
# in which /etc/resolv.conf names it.  Daemons started with in_ns see the stub;
# the rest of the machine keeps its own resolver.
#   start_netns_resolver ZONEFILE
#   in_ns COMMAND...
start_netns_resolver() {
    local zone=$1
    $PY "$REPO/tools/stub_dns.py" --zone "$zone" --log "$WORK/dns.queries.jsonl" 2>>"$WORK/dns.stderr" &
    DNS_PID=$!
    sleep 1
    kill -0 "$DNS_PID" 2>/dev/null || { log "stub DNS did not start"; exit 1; }
    printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' > "$WORK/resolv.conf.stub"
    # a process that sits in a private mount namespace where the stub resolv.conf
    # is bind-mounted; in_ns enters it with nsenter.  With NS_HOSTNAME set, also
    # a private UTS namespace with that host name, and an /etc/hosts naming it.
    if [ -n "${NS_HOSTNAME:-}" ]; then
        printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s %s\n' "$NS_HOSTNAME" "${NS_HOSTNAME%%.*}" > "$WORK/hosts.ns"
        unshare -m -u --propagation private sh -c \
            "hostname '$NS_HOSTNAME' && mount --bind '$WORK/hosts.ns' /etc/hosts && mount --bind '$WORK/resolv.conf.stub' /etc/resolv.conf && exec sleep 100000" &
    else
        unshare -m --propagation private sh -c \
            "mount --bind '$WORK/resolv.conf.stub' /etc/resolv.conf && exec sleep 100000" &
    fi
    NS_PID=$!
    local _
    for _ in $(seq 1 20); do
        [ "$(nsenter -t "$NS_PID" -m cat /etc/resolv.conf 2>/dev/null | head -1)" = "nameserver 127.0.0.1" ] && return 0
        sleep 0.2
    done
    log "private resolv.conf namespace did not come up"; exit 1
}

in_ns() {
    if [ -n "${NS_HOSTNAME:-}" ]; then nsenter -t "$NS_PID" -m -u -- "$@"; else nsenter -t "$NS_PID" -m -- "$@"; fi
}

stop_netns_resolver() {
    if [ -n "$NS_PID" ]; then kill "$NS_PID" 2>/dev/null || true; wait "$NS_PID" 2>/dev/null || true; NS_PID=; fi
    if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null || true; wait "$DNS_PID" 2>/dev/null || true; DNS_PID=; fi
}

# copy_fixture SRC DEST: copy a capture into the repo, world-readable
copy_fixture() {
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2"; chmod 644 "$2"
}
