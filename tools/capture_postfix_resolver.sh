#!/bin/bash
# Genuine Postfix capture of DNS (resolver) failures.
#
#   sudo tools/capture_postfix_resolver.sh
#
# Postfix with DNS lookups on (smtp_dns_support_level = enabled,
# smtp_host_lookup = dns, no transport map) against the stub DNS server
# tools/stub_dns.py on 127.0.0.1:53.  Postfix runs in a private mount
# namespace where /etc/resolv.conf says "nameserver 127.0.0.1" (the rest of
# the machine keeps its resolver).  The zone (the scenario's "zone"):
#   example.com  MX 10 mx1.example.com, A 127.0.0.2   -> the sink on 127.0.0.2:25
#   example.org  A 127.0.0.2 only (no MX)              -> the sink
#   no-such-domain.example       NXDOMAIN             -> bounced at once
#   dnsfail.example (and below)  SERVFAIL             -> deferred "try again", expired
#   dnstimeout.example           no answer            -> deferred, expired
#   badmx.example  MX -> a host name that is NXDOMAIN
#   mxfail.example MX -> a host name that SERVFAILs
#   nullmx.example MX 0 . (RFC 7505)
#   nodata.example only a TXT record
# rsyslogd writes mail.* in Debian's traditional format.
#
# Output: tests/logs/resolver/postfix.{log,sink.jsonl,scenario.json,dns.jsonl}
# (dns.jsonl: every query the stub answered).  maximal_queue_lifetime 3m, so
# about 4-5 minutes.  Root only, no systemd; leaves no daemon running.
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/resolver_postfix"
DEST="$REPO/tests/logs/resolver"

stop_everything() {
    postfix_stop
    stop_sink
    stop_netns_resolver
    stop_rsyslog
}
trap stop_everything EXIT

need_root
install_postfix
mkdir -p "$WORK"; rm -rf "$DIR"; mkdir -p "$DIR"
stop_everything
rm -f "$WORK/dns.queries.jsonl"

$PY "$REPO/tools/send_scenario.py" build resolver --out "$DIR/postfix.scenario.json"
$PY "$REPO/tools/send_scenario.py" map "$DIR/postfix.scenario.json" zone > "$DIR/zone.json"

{
    echo "# emaillog capture configuration (written by tools/capture_postfix_resolver.sh)"
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
# the receiving side of every domain that resolves: 127.0.0.2:25
start_sink "$DIR/postfix.sink.jsonl" "" 127.0.0.2 25
in_ns postfix start
sleep 2
log "postfix running with the stub resolver, sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/postfix.scenario.json" --port 25 --delay 0.5 > "$DIR/send.out"
postfix_wait_queue_empty 900
stop_everything
copy_fixture "$CAPTURE" "$DEST/postfix.log"
copy_fixture "$DIR/postfix.sink.jsonl" "$DEST/postfix.sink.jsonl"
copy_fixture "$DIR/postfix.scenario.json" "$DEST/postfix.scenario.json"
copy_fixture "$WORK/dns.queries.jsonl" "$DEST/postfix.dns.jsonl"
log "wrote $DEST/postfix.log ($(wc -l < "$DEST/postfix.log") lines)"
