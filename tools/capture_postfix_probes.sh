#!/bin/bash
# Genuine Postfix capture of address-verification probes and odd addresses.
#
#   sudo tools/capture_postfix_probes.sh
#
# Postfix (the main.cf of capture_postfix.sh, syslog logging) with
#   smtpd_recipient_restrictions = check_recipient_access ...,
#       reject_unverified_recipient, permit_mynetworks, reject_unauth_destination
#   smtpd_sender_restrictions = reject_unverified_sender
#   unverified_recipient_reject_code = 550, unverified_sender_reject_code = 550
#   address_verify_map =            (in memory: every run probes afresh)
# so verify(8) sends probes (logged status=deliverable / status=undeliverable)
# before smtpd accepts or refuses a recipient.  The sink listens on
# 127.0.0.2:25 (the transport map sends the test domains there), so an
# address literal user@[127.0.0.2] reaches it too; user@[127.0.0.1] is our
# own address (local delivery).  Quoted local parts ("john smith"@...,
# "a,b"@...) are relayed to the sink.
#
# Output: tests/logs/postfix_probes/probes.{log,sink.jsonl,scenario.json}
# Root only, no systemd; leaves no daemon running.  About 1-2 minutes.
set -euo pipefail
. "$(dirname "$0")/capture_lib.sh"

DIR="$WORK/postfix_probes"
DEST="$REPO/tests/logs/postfix_probes"

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

$PY "$REPO/tools/send_scenario.py" build probes --out "$DIR/probes.scenario.json"
{
    echo "# emaillog capture configuration (written by tools/capture_postfix_probes.sh)"
    postfix_base_main_cf | sed -e '/^smtpd_recipient_restrictions =/,/reject_unauth_destination$/d'
    cat <<'EOF'
smtpd_recipient_restrictions = check_recipient_access texthash:/etc/postfix/recipient_access,
    reject_unverified_recipient, permit_mynetworks, reject_unauth_destination
smtpd_sender_restrictions = reject_unverified_sender
unverified_recipient_reject_code = 550
unverified_sender_reject_code = 550
address_verify_map =
EOF
} > /etc/postfix/main.cf
cat > /etc/postfix/transport <<EOF
example.com         smtp:[127.0.0.2]:25
example.org         smtp:[127.0.0.2]:25
example.net         smtp:[127.0.0.2]:25
EOF
echo '/^X-Campaign-ID:/ INFO' > /etc/postfix/header_checks
: > /etc/postfix/virtual
$PY "$REPO/tools/send_scenario.py" map "$DIR/probes.scenario.json" access > /etc/postfix/recipient_access
postfix_plain_master
postfix check
grep -q '^smtpd_recipient_restrictions = check_recipient_access' /etc/postfix/main.cf

CAPTURE="$DIR/mail.log"
start_rsyslog "$CAPTURE"
postfix_clean_queue
start_sink "$DIR/probes.sink.jsonl" "" 127.0.0.2 25
postfix start
sleep 2
log "postfix running, sending"
$PY "$REPO/tools/send_scenario.py" send "$DIR/probes.scenario.json" --port 25 --delay 1 > "$DIR/send.out"
postfix_wait_queue_empty 600
stop_everything
copy_fixture "$CAPTURE" "$DEST/probes.log"
copy_fixture "$DIR/probes.sink.jsonl" "$DEST/probes.sink.jsonl"
copy_fixture "$DIR/probes.scenario.json" "$DEST/probes.scenario.json"
log "wrote $DEST/probes.log ($(wc -l < "$DEST/probes.log") lines)"
