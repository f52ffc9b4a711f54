#!/bin/bash
# Genuine Postfix capture of our own resolver failing for a while.
#
#   sudo tools/capture_postfix_resolver_flap.sh
#
# The set-up of capture_postfix_resolver.sh (DNS lookups on, no transport
# map, Postfix in a private mount namespace whose /etc/resolv.conf names the
# stub DNS tools/stub_dns.py on 127.0.0.1:53), scenario profile
# `resolver_flap`, sent one phase at a time:
#   phase 1  zone: flaky.example MX 10 mx1.flaky.example, A 127.0.0.2 (the
#            sink on 127.0.0.2:25), example.com as in `resolver`;
#            message 1 to ann@flaky.example, ok@example.com -> delivered
#   phase 2  the scenario's zone_failing is loaded (SIGHUP to the stub):
#            flaky.example and every name under it NXDOMAIN; message 2 to
#            bob@flaky.example, carol@no-such-domain.example -> both bounced
#            at once ("Host or domain name not found ... Host not found")
#   phase 3  the zone is restored; message 3 to dave@flaky.example -> delivered
# no-such-domain.example is NXDOMAIN throughout.  Postfix has no DNS cache and
# its smtp client asks the resolver each time (no nscd here; the C library
# does not cache); the sleep between phases is longer than
# smtp_connection_cache_time_limit (2s), so no cached connection to
# mx1.flaky.example is reused either.  rsyslogd writes mail.* in Debian's
# traditional format.
#
# Output: tests/logs/resolver_flap/postfix.{log,sink.jsonl,scenario.json,dns.jsonl}
# (dns.jsonl: every query the stub answered, with its rcode: the NXDOMAIN
# answers for flaky.example are the phase-2 ones).  About 1 minute.  Root
# only, no systemd; leaves no daemon running.
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/resolver_flap_postfix"
DEST="$REPO/tests/logs/resolver_flap"
SC="$DIR/postfix.scenario.json"

stop_everything() {
    postfix_stop
    stop_sink
    stop_netns_resolver
    stop_rsyslog
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

# phase N: send the messages of phase N, wait until the queue is empty
phase() {
    local msgs
    msgs=$($PY -c 'import json,sys; sc=json.load(open(sys.argv[1])); print(",".join(str(n) for p in sc["phases"] if p["phase"]==int(sys.argv[2]) for n in p["messages"]))' "$SC" "$1")
    log "phase $1: sending message(s) $msgs"
    $PY "$REPO/tools/send_scenario.py" send "$SC" --port 25 --delay 0.5 --messages "$msgs" >> "$DIR/send.out"
    postfix_wait_queue_empty 300
    sleep 3   # past smtp_connection_cache_time_limit
}

need_root
install_postfix
if command -v nscd >/dev/null || command -v unscd >/dev/null; then
    log "warning: nscd is installed; Postfix's smtp client does not use it (res_search), but check the log"
fi
mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
stop_everything
rm -f "$WORK/dns.queries.jsonl" "$WORK/dns.stderr"

$PY "$REPO/tools/send_scenario.py" build resolver_flap --out "$SC"
$PY "$REPO/tools/send_scenario.py" map "$SC" zone > "$DIR/zone.json"

{
    echo "# emaillog capture configuration (written by tools/capture_postfix_resolver_flap.sh)"
    postfix_base_main_cf | sed -e '/^transport_maps =/d' \
        -e 's/^smtp_dns_support_level = .*/smtp_dns_support_level = enabled/' \
        -e 's/^smtp_host_lookup = .*/smtp_host_lookup = dns/' \
        -e 's/^maximal_queue_lifetime = .*/maximal_queue_lifetime = 3m/' \
        -e 's/^bounce_queue_lifetime = .*/bounce_queue_lifetime = 3m/'
} > /etc/postfix/main.cf
echo '/^X-Campaign-ID:/ INFO' > /etc/postfix/header_checks
: > /etc/postfix/virtual
: > /etc/postfix/recipient_access
postfix_plain_master
postfix check

CAPTURE="$DIR/mail.log"
start_rsyslog "$CAPTURE"
postfix_clean_queue
start_netns_resolver "$DIR/zone.json"
start_sink "$DIR/postfix.sink.jsonl" "" 127.0.0.2 25
in_ns postfix start
sleep 2
: > "$DIR/send.out"
phase 1
set_zone zone_failing
phase 2
set_zone zone
phase 3
stop_everything

# the capture must show what it is for
grep -q 'to=<ann@flaky.example>.*status=sent' "$CAPTURE" || { log "ann@flaky.example was not delivered"; exit 1; }
grep -q 'to=<bob@flaky.example>.*status=bounced (Host or domain name not found. Name service error for name=flaky.example' "$CAPTURE" \
    || { log "bob@flaky.example was not bounced for flaky.example's lookup"; exit 1; }
grep -q 'to=<carol@no-such-domain.example>.*status=bounced' "$CAPTURE" || { log "carol was not bounced"; exit 1; }
grep -q 'to=<dave@flaky.example>.*status=sent' "$CAPTURE" || { log "dave@flaky.example was not delivered"; exit 1; }

copy_fixture "$CAPTURE" "$DEST/postfix.log"
copy_fixture "$DIR/postfix.sink.jsonl" "$DEST/postfix.sink.jsonl"
copy_fixture "$SC" "$DEST/postfix.scenario.json"
copy_fixture "$WORK/dns.queries.jsonl" "$DEST/postfix.dns.jsonl"
log "wrote $DEST/postfix.log ($(wc -l < "$DEST/postfix.log") lines)"
