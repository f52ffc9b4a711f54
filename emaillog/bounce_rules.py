"""The bounce classifier's knowledge, as data: phrase rules, enhanced status
codes and reply codes, each with a sample reply that a test checks it against.

`classify.py` holds the logic; this file holds only tables. To teach the
classifier a new wording, add one line to the right reason's list below with a
real reply as its sample (tests/test_classify.py walks every rule and its
sample). Order matters in one way only: `PHRASES` is searched in the order the
groups are listed and the first rule that matches wins, so specific wordings
sit above the generic ones that would also match them ("the recipient account
is blocked" above "blocked", "sender address ... does not exist" above "does
not exist").

Patterns are regular expressions matched against the reply lower-cased with
runs of whitespace folded to one space; they always match whole words (a
pattern is anchored at non-alphanumeric edges). Write the receiver's wording
literally; use a regex only where the wording varies. No pattern may have a
top-level `|`: write two rules instead.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- our reason words and their classes (SPEC §2a) -------------------------

PERMANENT = "permanent"
SPAM_BLOCK = "spam_block"
TECHNICAL = "technical"

#: The hard class of each reason when the reply is permanent (5xx). A reason
#: mapped to None is soft even when the receiver sent it as a 5xx.
REASON_CLASS: dict[str, str | None] = {
    "user_unknown": PERMANENT,
    "bad_domain": PERMANENT,
    "mailbox_disabled": PERMANENT,
    "has_moved": PERMANENT,
    "blocklisted": SPAM_BLOCK,
    "policy": SPAM_BLOCK,
    "auth_failure": SPAM_BLOCK,
    "spam_content": SPAM_BLOCK,
    "message_too_large": TECHNICAL,
    "relay_denied": TECHNICAL,
    "mailbox_full": None,
    "rate_limited": None,
    "greylisted": None,
    "connection": None,
    "dns_tempfail": None,
    "tls": None,
    "expired": None,
    "system": None,
    "unknown": None,
}


@dataclass(frozen=True)
class Phrase:
    """One wording of one reason.

    `bounce_class` overrides the reason's class (syntax errors and mail loops
    are reason `system` but class `technical`). `source` names the receiver or
    MTA whose wording this is ("" for wording many use).
    """

    reason: str
    pattern: str
    sample: str
    source: str = ""
    bounce_class: str | None = None

    @property
    def name(self) -> str:
        kind = self.source or "phrase"
        return f"{kind}:{self.reason}:'{self.pattern}'"


def _rules(reason: str, rows: list[tuple], *, bounce_class: str | None = None) -> list[Phrase]:
    """Rows are (pattern, sample) or (pattern, sample, source)."""
    return [Phrase(reason, *row, bounce_class=bounce_class) for row in rows]


# --- phrase rules, highest priority first ----------------------------------

# Wordings that contain a more generic rule's words but mean something else.
_OVERRIDES = (
    _rules("mailbox_disabled", [
        (r"recipient account is blocked", "550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked. LPN007_426", "laposte"),
        (r"account (?:has been |is )?(?:blocked|locked) by (?:the )?administrator", "550 5.2.1 Account blocked by administrator"),
    ])
    + _rules("policy", [
        (r"blocked by the recipient", "550 5.7.1 You have been blocked by the recipient"),
        (r"recipient preferences", "550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes#rcp Refused due to recipient preferences", "facebook"),
        (r"blocked senders list", "550 5.7.1 The sender is on the recipient's blocked senders list"),
        (r"rejected by recipients?", "550 Mail is rejected by recipients", "tencent"),
        (r"user reject(?:ed)?", "550 5.1.2 User reject"),
    ])
    + _rules("system", [
        (r"duplicate header", "554 Transaction failed: Duplicate header 'DKIM-Signature'.", "ses"),
    ], bounce_class=TECHNICAL)
    + _rules("dns_tempfail", [
        (r"host not found, try again", "Host or domain name not found. Name service error for name=example.com type=MX: Host not found, try again", "postfix"),
    ])
    # Exim waiting for the retry time of an earlier failure (routing defer
    # -51/-52, or every host of the domain): temporary, cause not given.
    # Above the expiry rules, which keep "... for any host after a long
    # failure period" (Exim giving up).
    + _rules("unknown", [
        (r"retry time not (?:yet )?reached(?! for any host after a long failure period)", "routing defer (-52): retry time not reached", "exim"),
    ])
    + _rules("spam_content", [
        (r"spam classification", "550 Your email to group x@example.com was rejected due to spam classification", "google-groups"),
    ])
    + _rules("blocklisted", [
        (r"too many invalid recipients", "554 too many invalid recipients from 192.0.2.1", "cox"),
        (r"unusual rate of unsolicited mail", "550-5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP address.", "gmail"),
        (r"(?:low|poor|bad) (?:email )?reputation", "550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address.", "gmail"),
        (r"reputation", "451 4.7.650 The mail server [192.0.2.25] has been temporarily rate limited due to IP reputation.", "microsoft"),
    ])
)

_RATE_LIMITED = _rules("rate_limited", [
    (r"rate limit(?:ed|ing)?", "421 4.7.0 [IP] Our system has detected an unusual rate limit exceeded for this IP"),
    (r"rate that prevents", "550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.", "gmail"),
    (r"receiving mail too quickly", "450 4.2.1 The user you are trying to contact is receiving mail too quickly.", "gmail"),
    (r"unusual rate of mail", "421 4.7.28 Gmail has detected an unusual rate of mail originating from your IP address", "gmail"),
    (r"too many (?:recipients|rcpt)", "552 Too many recipients"),
    (r"too many (?:messages|mails|emails)", "421 4.7.0 Too many messages from this IP, try later"),
    (r"too many (?:connections|sessions|concurrent)", "421 Too many connections from your IP"),
    (r"too many (?:smtp )?commands", "421 too many SMTP commands"),
    (r"(?:connection|ip|domain|sender) frequency limited", "550 Connection frequency limited", "tencent"),
    (r"(?:sending|receiving|relay) (?:quota|limit) (?:has been )?(?:exceeded|reached)", "550 5.4.5 Daily sending quota exceeded", "gmail"),
    (r"daily (?:smtp relay |user )?(?:sending )?(?:limit|quota)", "550 5.4.5 Daily user sending limit exceeded", "gmail"),
    (r"submission quota exceeded", "550 5.2.2 Submission quota exceeded", "microsoft"),
    (r"submissionquotaexceededexception", "554 5.2.2 mailbox full; STOREDRV.Submission.Exception:SubmissionQuotaExceededException", "microsoft"),
    (r"(?:per hour|hourly|daily) message receive limit", "550 5.2.121 Recipient's per hour message receive limit from specific sender exceeded", "microsoft"),
    (r"exceeded (?:the )?(?:permitted|maximum|allowed) (?:limits|number|rate)", "550 5.7.508 Access denied, has exceeded permitted limits within the last hour", "microsoft"),
    (r"tenant has exceeded threshold", "550 5.7.705 Access denied, tenant has exceeded threshold", "microsoft"),
    (r"(?:excessive|unexpected) volume", "421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints", "yahoo"),
    (r"to many (?:recipients|messages)", "452 to many recipients"),
    (r"(?:sent to|sending to) too many", "550 5.1.1 <x@y> - 203.0.113.222 has sent to too many recipients this hour. IB607", "godaddy"),
    (r"message threshold exceeded", "421 message threshold exceeded", "cox"),
    (r"max(?:imum)? (?:message|messages|mails) per connection", "421 Max message per connection reached, closing transmission channel", "yahoo"),
    (r"try again slower", "451 4.7.1 Client host rejected: Please try again slower"),
    (r"(?:throttled|throttling)", "421 4.7.0 Throttled: too many messages"),
    (r"slow down", "421 4.7.0 Slow down, too many messages"),
    (r"thread limit exceeded", "432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded", "microsoft"),
    (r"rcpt-?rate", "452 4.3.0 rcpt-rate exceeded"),
    (r"rt_limit", "554 RT_LIMIT exceeded", "gmx"),
    (r"cxtmpr", "421 CXTMPR Try later", "comcast"),
])

_GREYLISTED = _rules("greylisted", [
    (r"(?:greylisted|greylisting|greylist|graylisted|graylisting|graylist|grey-listed|grey-listing)", "450 4.2.0 <x@y>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html", "postgrey"),
    (r"come back later", "451 Please come back later", "mimecast"),
    (r"not yet authorized to deliver", "451 4.7.1 not yet authorized to deliver mail from <a@b> to <c@d>"),
    (r"gl01", "421 4.7.0 [GL01] Message from 192.0.2.1 temporarily deferred - 4.16.50", "yahoo"),
    (r"deferred for (?:\d+ )?(?:seconds|minutes)", "451 4.7.1 Deferred for 300 seconds"),
])

_MAILBOX_FULL = _rules("mailbox_full", [
    (r"mailbox (?:is )?full", "552 5.2.2 <x@y>: Recipient address rejected: Mailbox full"),
    (r"mailbox (?:is )?(?:over|exceeded|exceeds) (?:the )?(?:quota|storage|size)", "552 5.2.2 Mailbox exceeded the quota"),
    (r"over (?:the )?quota", "552 5.2.2 <x@icloud.com>: user is over quota", "icloud"),
    (r"quota (?:has been |was )?exceeded", "552 5.2.2 Quota exceeded (mailbox for user is full)", "dovecot"),
    (r"exceeded (?:the |its |their )?(?:storage|quota|mailbox size)", "552 5.2.2 Requested mail action aborted: exceeded storage allocation"),
    (r"storage allocation", "552 5.2.2 Requested mail action aborted: exceeded storage allocation"),
    (r"out of storage", "452 4.2.2 The recipient's inbox is out of storage space.", "gmail"),
    (r"(?:insufficient|not enough) (?:disk )?space", "452 Insufficient disk space; try again later"),
    (r"disk quota", "Disk quota exceeded"),
    (r"(?:storage|quota) limit (?:has been |was )?(?:reached|exceeded)", "552 5.2.2 Account storage limit reached", "godaddy"),
    (r"account storage limit", "552 Account storage limit", "godaddy"),
    (r"quotaexceededexception", "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException", "microsoft"),
    (r"(?:mailbox|inbox|account) (?:is )?(?:over|at) capacity", "452 4.2.2 Mailbox over capacity"),
    (r"too much mail data", "552 too much mail data", "docomo"),
    (r"boite (?:\S+ ){0,3}pleine", "552 5.2.2 Boite du destinataire pleine. Recipient mailbox is full", "orange"),
    (r"mailbox size limit", "552 5.2.2 Mailbox size limit exceeded"),
    (r"user quota", "452 4.2.2 user quota exceeded"),
    (r"mail system full", "550 5.0.0 Mail system full"),
])

# Mail loops and protocol errors: our setup or our MTA is at fault.
_TECHNICAL_SYSTEM = _rules("system", [
    (r"(?:mail|routing) loop", "554 5.4.6 Hop count exceeded - possible mail loop"),
    (r"too many hops", "554 5.4.6 Too many hops"),
    (r"hop count exceeded", "554 5.4.6 Hop count exceeded"),
    (r"exceeded \d+ hops", "554 5.4.6 Message exceeded 50 hops, this may indicate a mail loop", "gmail"),
    (r"maximum hop count", "Maximum hop count exceeded. Message probably in a routing loop."),
    (r"loops back to myself", "mail for example.jp loops back to myself", "postfix"),
    (r"message is looping", "554 This message is looping: it already has my Delivered-To line. (#5.4.6)", "qmail"),
    (r"loop detected", "554 mail loop detected", "mimecast"),
    (r"not rfc ?5322 compliant", "550 5.7.1 This message is not RFC 5322 compliant. There are multiple Subject headers.", "gmail"),
    (r"not rfc compliant", "554 5.7.9 Headers are not RFC compliant", "yahoo"),
    (r"multiple addresses in from", "550 5.7.1 Messages with multiple addresses in From: header are not accepted.", "gmail"),
    (r"multiple (?:subject|from|date|message-id|to) headers", "550 5.7.1 There are multiple Subject headers"),
    (r"bare (?:lf|line ?feeds?)", "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds", "microsoft"),
    (r"barelinefeedsareillegal", "550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal", "microsoft"),
    (r"bad sequence of commands", "503 5.5.1 Bad sequence of commands"),
    (r"improper sequence of commands", "503 Improper sequence of commands"),
    (r"command parameter not implemented", "504 Command parameter not implemented"),
    (r"syntax error", "501 5.5.2 Syntax error in parameters or arguments"),
    (r"(?:unrecognized|unrecognised|unknown) command", "500 5.5.1 Unrecognized command"),
    (r"command not (?:recognized|implemented)", "502 5.5.1 Command not implemented"),
    (r"line too long", "500 5.5.0 Line too long"),
    (r"protocol violation", "550 Protocol violation"),
], bounce_class=TECHNICAL)

_MESSAGE_TOO_LARGE = _rules("message_too_large", [
    (r"(?:message|mail|email|data|headers?) (?:is )?too (?:large|big)", "552 5.3.4 Message too big for system"),
    (r"(?:message|mail|email|header) size (?:\(\d+\) )?(?:exceeds|exceeded|over)", "552 5.3.4 Message size exceeds fixed maximum message size (10485760)"),
    (r"(?:size|length) exceeds (?:fixed |the )?(?:maximum|limit|administrative)", "552 5.2.3 Message length exceeds administrative limit"),
    (r"exceeds (?:the )?(?:maximum|max|fixed maximum) (?:allowed )?(?:message )?size", "552 5.3.4 Message exceeds the maximum size allowed"),
    (r"exceeded google's message (?:header )?size limits?", "552 5.2.3 Your message exceeded Google's message size limits.", "gmail"),
    (r"recipsizelimit", "550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large for this recipient", "microsoft"),
    (r"sendsizelimit", "550 5.2.3 RESOLVER.RST.SendSizeLimit.Org; message too large for this organization", "microsoft"),
    (r"maximum (?:email|message) size exceeded", "554 Maximum email size exceeded", "mimecast"),
    (r"message size limit", "552 5.3.4 Message size limit exceeded"),
    (r"size limit exceeded", "552 Size limit exceeded"),
    (r"exceeds (?:size|length) limit", "552 Message exceeds size limit"),
    (r"too many attachments", "552 5.3.4 Too many attachments"),
    (r"exceeds google's limit of \S+ attachments", "552 5.3.4 The number of attachments exceeds Google's limit of 500 attachments.", "gmail"),
])

_RELAY_DENIED = _rules("relay_denied", [
    (r"(?:relay|relaying) (?:access )?(?:denied|not permitted|prohibited|not allowed)", "554 5.7.1 <x@y>: Relay access denied", "postfix"),
    (r"unable to relay", "550 5.7.1 Unable to relay for x@y", "exchange"),
    (r"relaying denied", "550 5.7.1 Relaying denied"),
    (r"not (?:configured|permitted|allowed|authorized) to relay", "550 5.7.1 This system is not configured to relay mail"),
    (r"(?:open|no) relay(?:ing)?", "550 5.7.0 Recipient address rejected: No relaying"),
    (r"we do not relay", "550 we do not relay non-local mail"),
    (r"relay not permitted", "550 relay not permitted"),
    (r"email address is not verified", "554 Message rejected: Email address is not verified. The following identities failed the check", "ses"),
    (r"mail relay denied", "550 5.7.0 Mail relay denied", "gmail"),
    (r"rcpt_hosts", "550 relaying to <x@y> prohibited by administrator (rcpt_hosts)", "exim"),
    (r"tenantattribution", "550 5.7.64 TenantAttribution; Relay Access Denied", "microsoft"),
])

_AUTH_FAILURE = _rules("auth_failure", [
    (r"dmarc", "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy.", "gmail"),
    (r"spf", "550 5.7.1 SPF check failed for 192.0.2.1"),
    (r"dkim", "550 5.7.30 This mail has been blocked because DKIM does not pass.", "gmail"),
    (r"sender policy framework", "550 5.7.23 The message was rejected because of Sender Policy Framework violation", "microsoft"),
    (r"authentication checks", "550 5.7.1 This message does not have authentication information or fails to pass authentication checks.", "gmail"),
    (r"unauthenticated (?:email|mail|message)", "550 5.7.1 Unauthenticated email is not accepted from this domain.", "gmail"),
    (r"sender is unauthenticated", "550 5.7.26 This mail has been blocked because the sender is unauthenticated.", "gmail"),
    (r"(?:authentication|authenticate) (?:failed|failure|required|checks?)", "570 5.7.0 Authentication failure"),
    (r"authrequired", "550 5.7.1 RESOLVER.RST.AuthRequired; authentication required", "microsoft"),
    (r"unauthenticated senders", "550 Unauthenticated senders not allowed", "sendgrid"),
    (r"smtp authentication", "Please turn on SMTP Authentication in your mail client.", "messagelabs"),
    (r"(?:sender|client) was not authenticated", "550 5.7.136 Sender was not authenticated", "microsoft"),
    (r"not authenticated to send", "550 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM", "microsoft"),
    (r"emetteur invalide", "421 Emetteur invalide, Veuillez verifier la configuration SPF/DNS", "orange"),
    (r"arc validation", "550 5.7.29 ARC validation failure"),
    (r"hme1", "554 5.7.1 [HME1] This message was blocked for failing both SPF and DKIM authentication checks.", "icloud"),
    (r"(?:username|password|credentials) (?:and password )?not accepted", "535 5.7.8 Username and Password not accepted", "gmail"),
    (r"pol-p7", "550 5.7.1 POL-P7 http://postmaster.facebook.com/response_codes Message must be authenticated", "facebook"),
])

# The receiver refuses *us* for a reason about our sending setup (sender
# address, reverse DNS, HELO). Above user_unknown: "domain of sender address
# does not exist" must not read as a dead recipient.
_POLICY_SENDER = _rules("policy", [
    (r"sender (?:address )?(?:rejected|denied|refused|blocked|invalid|not allowed)", "501 5.1.8 Sender address rejected", "postfix"),
    (r"(?:domain of )?sender (?:address|domain) (?:\S+ )?(?:does not exist|not found|must exist|must resolve)", "553 5.1.8 <a@b>... Domain of sender address a@b does not exist", "sendmail"),
    (r"domain of sender address", "553 5.1.8 Domain of sender address root@example.com does not exist", "sendmail"),
    (r"sender verify failed", "550 Sender verify failed", "exim"),
    (r"(?:unknown|invalid|bad) sender", "550 5.1.7 Unknown sender address", "microsoft"),
    (r"sender domain (?:is )?(?:invalid|unknown|not resolvable|must)", "553 5.1.8 Sender domain must exist"),
    (r"bad outbound sender", "550 5.1.8 Access denied, bad outbound sender", "microsoft"),
    (r"from: domain is invalid", "550 5.2.0 <a@b> From: Domain is invalid. Please provide a valid From: IB506", "godaddy"),
    (r"unresolvable rfc\.?5321 domain", "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the domain is unresolvable rfc.5321 domain", "yahoo"),
    (r"responsible address", "550 5.7.1 can't determine Purported Responsible Address"),
    (r"(?:does not|doesn't) (?:have|meet) .{0,30}ptr", "550 5.7.25 The IP address sending this message does not have a PTR record setup", "gmail"),
    (r"ptr (?:record|resource record)", "571 No PTR Record found."),
    (r"reverse (?:dns|lookup|resolution)", "550 5.7.1 Client host rejected: cannot find your reverse hostname; Reverse DNS required", "postfix"),
    (r"rdns", "554 rejected - no rDNS", "cox"),
    (r"(?:cannot|can't|could not) find your (?:reverse )?hostname", "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]", "postfix"),
    (r"ip name lookup failed", "450 4.7.1 Access denied. IP name lookup failed [192.0.2.222]"),
    (r"mismatches client ip", "550 domain [example.com] mismatches client ip 192.0.2.225."),
    (r"without a valid sender domain", "550 5.7.1 Connections not accepted from servers without a valid sender domain."),
    (r"(?:bad|invalid|illegal) helo", "550 5.7.506 Access denied, bad HELO", "microsoft"),
    (r"helo(?:/ehlo)? (?:argument|command) (?:is )?(?:invalid|rejected|not allowed)", "501 5.5.4 HELO/EHLO argument is invalid.", "gmail"),
    (r"helo command rejected", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", "postfix"),
    (r"invalid domain name", "501 5.0.0 Invalid domain name"),
    (r"use the smtp server of your isp", "550 5.7.0 Please use the smtp server of your ISP."),
    (r"dynamic (?:ip|address|pool)", "550 5.7.1 Rejected: dynamic IP address, please use your ISP's relay"),
    (r"not a registered gateway user", "550 'a@b' is not a registered gateway user"),
    (r"unregistered domains", "550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains", "microsoft"),
    (r"not in allowed-senders list", "550 5.7.124 Sender not in allowed-senders list", "microsoft"),
    (r"not permitted to send", "550 mail0.example.com is not permitted to send"),
    (r"cdrbl", "550 5.1.0 <a@b> sender rejected. AUP#CDRBL", "cox"),
    (r"aup#(?:in|out)-\d+", "550 5.1.0 <a@b> sender rejected. AUP#In-1310", "spectrum"),
])

_MAILBOX_DISABLED = _rules("mailbox_disabled", [
    (r"(?:account|mailbox|address|user) (?:has been |is |was )?(?:disabled|deactivated|discontinued|suspended|closed|terminated|frozen|locked|inactive)", "550 5.2.1 This account has been disabled"),
    (r"account that you tried to reach is (?:disabled|inactive)", "550 5.2.1 The email account that you tried to reach is disabled.", "gmail"),
    (r"disabled (?:recipient|user|account|mailbox)", "525 5.7.13 Disabled recipient address"),
    (r"(?:user|recipient) account (?:is )?(?:disabled|expired)", "550 5.2.1 Recipient account is disabled"),
    (r"no longer (?:active|valid|in use|available|exists)", "550 5.1.1 This address is no longer valid", "yahoo"),
    (r"(?:user|account|mailbox) (?:\S+ )?(?:temporar(?:y|ily) )?locked", "550 5.7.1 Recipient address rejected: User ann temporary locked. Please try again later!"),
    (r"deactivated mailbox", "550 Mailbox unavailable: x@qq.com is a deactivated mailbox", "tencent"),
    (r"inactive (?:email address|mailbox|account|user)", "550 5.1.1 <x@icloud.com>: inactive email address", "icloud"),
    (r"mailbox (?:is )?(?:inactive|disabled|suspended|frozen|locked)", "550 Mailbox is frozen."),
    (r"mailbox cannot be accessed", "550 5.2.1 Mailbox cannot be accessed", "microsoft"),
    (r"banned recipient", "550 5.7.505 Access denied, banned recipient", "microsoft"),
    (r"has been disabled or discontinued", "554 delivery error: dd Sorry your message to x@y cannot be delivered. This account has been disabled or discontinued [#102].", "yahoo"),
    (r"recipient suspend", "550 5.0.0 Recipient suspend the service"),
    (r"(?:domain|service) (?:\S+ )?is (?:currently )?suspended", "550 The domain example.net is currently suspended."),
    (r"account expired", "550 5.2.1 Account expired"),
    (r"disableduser", "550 5.2.1 https://support.google.com/mail/?p=DisabledUser", "gmail"),
    (r"rcp-t4", "450 4.2.1 RCP-T4 Temporary failure: recipient disabled", "facebook"),
])

_HAS_MOVED = _rules("has_moved", [
    (r"has moved", "550 5.1.6 Destination mailbox has moved, no forwarding address"),
    (r"no longer on (?:this )?server", "550 5.1.6 recipient no longer on server: x@icloud.com", "icloud"),
    (r"has been replaced by", "550 5.1.6 address x@y has been replaced by z@y"),
    (r"(?:mailbox|domain) owner has changed", "551 5.7.17 Mailbox owner has changed"),
    (r"not our (?:customer|user)", "551 not our customer"),
    (r"user not local", "551 User not local; please try <x@z>"),
    (r"changed (?:his|her|their) (?:email )?address", "550 5.1.6 The user has changed their address"),
])

_BAD_DOMAIN = _rules("bad_domain", [
    (r"host not found", "DNS; Host not found"),
    (r"host unknown", "550 5.1.2 <x@y>... Host unknown (Name server: y: host not found)", "sendmail"),
    (r"(?:no such|unknown|invalid) domain", "550 5.1.7 No such domain neko.example.com"),
    (r"domain (?:name )?(?:does not exist|doesn't exist|not found|not exist)", "Domain does not exist"),
    (r"host or domain name not found", "Host or domain name not found. Name service error for name=example.jp type=A: Host not found", "postfix"),
    (r"(?:couldn't|could not|cannot|can't|unable to) find (?:any host|a mail exchanger|the recipient domain)", "Sorry, I couldn't find any host named example.com. (#5.1.2)", "qmail"),
    (r"null mx", "DNS type 'mx' lookup of example.org responded with code NOERROR: returned Null MX", "gmail"),
    (r"(?:does not|doesn't) (?:accept|receive) (?:e-?mail|mail)", "550 5.1.10 host/domain does not accept mail"),
    (r"domain is not reachable", "554 The mail could not be delivered to the recipient because the domain is not reachable. Please check the domain and try again", "outlook"),
    (r"nxdomain", "DNS type 'mx' lookup of example.jp responded with code NXDOMAIN", "gmail"),
    (r"illegal host/domain", "Illegal host/domain name found"),
    (r"nonexistentdomain", "550 5.4.4 SMTPSEND.DNS.NonExistentDomain; nonexistent domain", "microsoft"),
    (r"nonexistent domain", "550 5.4.4 nonexistent domain", "microsoft"),
    (r"bad destination system address", "550 5.1.2 Bad destination system address"),
    (r"no mx (?:record|host)", "550 5.1.2 No MX record for domain"),
    (r"mx (?:record )?lookup failed permanently", "550 5.1.2 MX lookup failed permanently"),
    (r"unrouteable domain", "550 Unrouteable domain", "exim"),
    # Exim's router found no way to the domain (dnslookup: NXDOMAIN, no
    # MX/A); Sisimai and KumoMTA file it as host unknown / routing errors.
    (r"unrouteable address", "Unrouteable address", "exim"),
    (r"all relevant mx records point to non-existent hosts", "all relevant MX records point to non-existent hosts", "exim"),
    # RFC 7505 null MX as Exim's dnslookup router says it (above the
    # connection rule "no smtp service").
    (r"mx or srv record indicated no smtp service", "an MX or SRV record indicated no SMTP service", "exim"),
    (r"domain (?:has )?(?:expired|been parked|is parked)", "550 5.1.2 domain has expired"),
])

_USER_UNKNOWN = _rules("user_unknown", [
    # Microsoft Exchange Online's directory-based edge blocking: the address is not in the tenant.
    (r"recipient address rejected: access denied", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "microsoft"),
    (r"recipnotfound", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", "microsoft"),
    (r"recipientnotfound", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "microsoft"),
    (r"exrecipnotfound", "550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found", "microsoft"),
    (r"user unknown", "550 5.1.1 <x@y>: Recipient address rejected: User unknown in local recipient table", "postfix"),
    (r"unknown user", "550 Unknown user x@y"),
    (r"unknown (?:local[- ]part|recipient|address|mailbox|alias)(?! error)", "550 5.1.1 Unknown recipient"),
    (r"unknown or illegal (?:user|alias)", "550 5.1.1 unknown or illegal alias: x@icloud.com", "icloud"),
    (r"no such (?:user|recipient|mailbox|account|address|person)", "550 5.1.1 No such user here"),
    (r"(?:user|recipient|mailbox|address|account|addressee) (?:was )?not found", "550 5.1.1 Recipient not found"),
    (r"(?:user|recipient|mailbox|address|account|addressee) (?:does not|doesn't|did not) exist", "550 5.1.1 Mailbox does not exist"),
    (r"(?:user|recipient|mailbox|address|account|addressee) (?:is )?(?:unknown|invalid|not valid)", "550 5.1.1 Recipient is invalid"),
    (r"account that you tried to reach does not exist", "550 5.1.1 The email account that you tried to reach does not exist.", "gmail"),
    (r"(?:email )?address couldn't be found", "** Address not found ** Your message wasn't delivered to x@y because the address couldn't be found.", "gmail"),
    (r"address not found", "** Address not found **", "gmail"),
    (r"invalid (?:recipient|mailbox|address|user)", "550 5.1.1 Invalid recipient"),
    (r"(?:not a valid|bad destination) (?:mailbox|recipient|user|address)", "550 5.1.1 Bad destination mailbox address"),
    (r"no mailbox (?:here )?(?:by that name|for)", "550 sorry, no mailbox here by that name (#5.1.1)", "qmail"),
    (r"mailbox (?:is )?unavailable", "550 5.1.1 Requested action not taken: mailbox unavailable", "exchange"),
    (r"mailbox not (?:available|present)", "550 Mailbox not available"),
    (r"(?:doesn't|does not) have an? \S+ account", "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]", "yahoo"),
    (r"not (?:a )?(?:valid|known) (?:user|recipient|mailbox)", "550 not a valid user"),
    (r"no valid recipients?", "554 5.5.1 Error: no valid recipients"),
    (r"address rejected(?! ?:)", "550 5.1.1 Address rejected kijitora@example.co.jp"),
    (r"recipient rejected", "550 recipient rejected", "cox"),
    (r"illegal user", "553 5.1.1 unknown or illegal user: x@y"),
    (r"destinataire invalide", "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]", "orange"),
    (r"(?:compte|adresse) (?:de messagerie )?inexistante?", "550 5.1.1 Adresse inexistante"),
    (r"unbekannt", "550 5.1.1 Empfaenger unbekannt"),
    (r"mailbox unknown", "550 5.1.1 Mailbox unknown", "gmx"),
    (r"rcp-p1", "550 5.1.1 RCP-P1 http://postmaster.facebook.com/response_codes#rcp Attempt to email a non-existent user", "facebook"),
    (r"nosuchuser", "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser", "gmail"),
    (r"answer=6596", "550 5.1.1 http://support.google.com/mail/bin/answer.py?answer=6596 - gsmtp", "gmail"),
    (r"invalid x\.400 address", "550 5.1.2 Invalid X.400 address", "microsoft"),
    (r"(?:remote server returned )?unknown recipient or mailbox unavailable", "550 5.1.351 Remote server returned unknown recipient or mailbox unavailable", "exchange"),
    (r"no such local user", "550 No such local user"),
    (r"not listed in (?:domino )?directory", "550 5.1.1 User not listed in Domino directory", "domino"),
    (r"mailbox (?:name )?not allowed", "553 5.1.1 Requested action not taken: mailbox name not allowed"),
])

_BLOCKLISTED = _rules("blocklisted", [
    (r"spamhaus", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "spamhaus"),
    (r"blocked using", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.spamcop.net", "postfix"),
    (r"(?:blacklisted|blacklist|blocklisted|blocklist|denylisted|denylist|black list|block list|black listed|block listed|black-list|block-list)", "550 5.7.1 IP address blacklisted by recipient"),
    (r"listed (?:in|on|at|by) (?:the )?\S*(?:bl|rbl|spamcop|barracuda|sorbs|uceprotect|spamhaus)\S*", "550 Your IP is listed in b.barracudacentral.org"),
    (r"(?:dnsbl|dnsbls)", "554 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.225", "proofpoint"),
    (r"rbl", "554 RBL Reject.", "godaddy"),
    (r"barracuda", "554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation", "barracuda"),
    (r"spamcop", "551 Server access forbidden by your IP 192.0.2.2 websites spamcop.net, mailspike.net for removal"),
    (r"sorbs", "blocked using dnsbl.sorbs.net"),
    (r"cloudmark", "550 Client host blocked. Ref http://csi.cloudmark.com/reset-request/?ip=10.0.0.1", "orange"),
    (r"banned (?:sending )?(?:ip|sender|address)", "550 5.7.606 Access denied, banned sending IP [192.0.2.225].", "microsoft"),
    (r"s3150", "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", "microsoft"),
    (r"s3140", "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. (S3140)", "microsoft"),
    (r"(?:client host|ip|address|host|server|sender) (?:\S+ )?(?:is )?blocked", "550 mwinf5c04 ME Adresse IP source bloquee pour incident de spam. Client host blocked for spamming issues. OFR006_102", "orange"),
    (r"(?:spamming|spam) (?:issues|source|origin|activity|abuse)", "550 Client host blocked for spamming issues"),
    (r"spam abuse detected", "550 5.7.501 Access denied, spam abuse detected", "microsoft"),
    (r"ip (?:address )?(?:\S+ )?(?:has been |is |was )?(?:blocked|banned|rejected|blacklisted|not allowed|refused)", "550 Access from ip address 192.0.2.1 blocked."),
    (r"invalid ip for sending", "554 INVALID IP FOR SENDING MAIL OF DOMAIN amazonses.com"),
    (r"access forbidden by your ip", "551 Server access forbidden by your IP 192.0.2.2"),
    (r"host network not allowed", "554 Host network not allowed - https://community.mimecast.com/docs/DOC-1369#554", "mimecast"),
    (r"bloquee", "550 Adresse IP source bloquee pour incident de spam.", "orange"),
    (r"(?:ofr004|ofr006)", "550 mwinf5c04 ME OFR006_102 Ref", "orange"),
    (r"customer block list", "550 5.7.513 Service unavailable, Client host blocked by example.com using Customer Block list (AS16012607)", "microsoft"),
    (r"not in whitelist", "421 4.7.0 IP not in whitelist for RCPT domain, closing connection.", "gmail"),
    (r"(?:bl21|bl22|bl23)", "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list", "yahoo"),
    (r"pol-p[1-4]", "550 5.7.1 POL-P1 http://postmaster.facebook.com/response_codes Your mail server's IP address is listed on the Spamhaus PBL", "facebook"),
    (r"\(bl\)", "554 IP=192.0.2.254 - A problem occurred. (Ask your postmaster for help or to contact neko@example.org to clarify.) (BL)"),
    (r"ip temporarily blacklisted", "451 IP temporarily blacklisted", "mimecast"),
    (r"mail flood", "550 5.7.28 Mail flood detected"),
    (r"suspected (?:spam ip|bounce attack)", "550 Suspected spam ip", "tencent"),
    (r"blocked - see", "554 Blocked - see https://support.proofpoint.com/dnsbl-lookup.cgi?ip=192.0.2.225", "proofpoint"),
])

_SPAM_CONTENT = _rules("spam_content", [
    (r"virus", "550 Virus Detected; Content Rejected"),
    (r"malware", "554 5.7.1 Malware detected"),
    (r"(?:message|mail|content) (?:was |has been |is )?(?:classified|identified|detected|scored|marked|flagged) as spam", "554 5.6.0 This message has been scored as spam with a probability of more than 90%"),
    (r"scored as spam", "554 5.6.0 This message has been scored as spam"),
    (r"spam (?:detected|content|message|score|signature|filter|mail)", "570 5.7.7 Spam Detected"),
    (r"(?:considered|looks like|appears to be|identified as|suspected) (?:as )?spam", "550 5.7.1 Message considered as spam or virus"),
    (r"likely (?:unsolicited|spam|suspicious)", "550 5.7.1 Our system has detected that this message is likely unsolicited mail.", "gmail"),
    (r"(?:message|mail) content (?:rejected|denied|not accepted)", "550 5.7.1 Message content rejected, UBE, id=00000-22-225", "amavis"),
    (r"content (?:rejected|denied|filter)", "550 5.7.1 Content rejected"),
    (r"ube", "550 5.7.1 Message content rejected, UBE, id=00000-22-225", "amavis"),
    (r"mcspamsignature", "554 email rejected due to security policies - MCSpamSignature.sa.2.2", "mimecast"),
    (r"potential security issue", "552 5.7.0 This message was blocked because its content presents a potential security issue.", "gmail"),
    (r"mail score", "554 5.7.1 Mail Score (59) over MessageScoringUpperLimit (50)"),
    (r"mail rejete", "550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]", "orange"),
    (r"ofr_506", "550 5.2.0 Mail rejected. OFR_506 [506]", "orange"),
    (r"spam", "554 5.7.0 Reject, id=22222-22 - SPAM"),
    (r"suspicious (?:content|links?|urls?|attachments?)", "554 5.7.1 Suspicious URL in message"),
    (r"nature of the content", "421 4.7.0 This message is suspicious due to the nature of the content or the links within.", "gmail"),
    (r"prohibited (?:attachment|content|file)", "554 5.7.1 Message contains prohibited attachment"),
    (r"attachment extension is forbidden", "552 attachment extension is forbidden", "cox"),
    (r"(?:banned|blocked|dangerous) attachment", "554 5.7.1 Blocked attachment type"),
    (r"(?:phishing|spoofed|spoofing|spoof)", "550 5.7.1 Rejected by header based anti-spoofing policy", "mimecast"),
    (r"quarantined", "550 5.2.1 Content Filter agent quarantined this message", "microsoft"),
    (r"uribl", "554 5.7.1 URIBL listed"),
    (r"(?:message|mail|email) (?:was |has been )?(?:filtered|blocked)", "550 5.2.0 Message Filtered"),
    (r"pol-p[56]", "550 5.7.1 POL-P5 Message contains a virus", "facebook"),
    (r"(?:improperly formatted|improperly-formatted|improper use of)", "550 5.6.9 improper use of 8-bit data in message header"),
    (r"media error", "550 5.6.0 Recipient address rejected: Media error"),
    (r"invalid message content", "554 5.5.6 Invalid message content", "microsoft"),
])

# Generic refusals of the sender or the message. Below the specific reasons
# above, because their words ("access denied", "policy", "refused") also
# appear inside those.
_POLICY = _rules("policy", [
    (r"policy", "554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes", "yahoo"),
    (r"policies", "550 Rejected due to local policies"),
    (r"cs01", "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137", "icloud"),
    (r"access denied", "550 5.7.1 Access denied"),
    (r"administrative prohibition", "550 Administrative prohibition", "exim"),
    (r"prohibited", "550 5.7.1 Sending prohibited"),
    (r"envelope (?:blocked|rejected)", "550 Envelope blocked - User Entry", "mimecast"),
    (r"header error", "554 5.7.0 Header error"),
    (r"(?:refused|rejected) by (?:the )?(?:recipient|administrator|remote|server|receiver)", "550 5.7.507 Access denied, rejected by recipient", "microsoft"),
    (r"client host rejected", "554 5.7.1 <host[192.0.2.1]>: Client host rejected: Access denied", "postfix"),
    (r"(?:tss09|tss11)", "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred", "yahoo"),
    (r"will be permanently deferred", "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed.", "yahoo"),
    (r"lpn000_630", "554 5.7.1 Client host rejected: #216 lpn LPN000_630", "laposte"),
    (r"rcp-p[23]", "550 5.1.1 RCP-P3 Refused due to recipient preferences", "facebook"),
])

_TLS = _rules("tls", [
    (r"starttls", "530 5.7.0 Must issue a STARTTLS command first.", "gmail"),
    (r"tls (?:is )?(?:required|needed|negotiation|handshake|connection)", "421 4.7.0 TLS required for RCPT domain, closing connection.", "gmail"),
    (r"(?:requires|require|must use) (?:encryption|tls|ssl)", "553 This route requires encryption (TLS)", "mimecast"),
    (r"tls/ssl", "421 4.7.29 Gmail requires all bulk email senders to use TLS/SSL for SMTP connections.", "gmail"),
    (r"certificate", "454 4.7.5 certificate verification failed"),
    (r"mta-sts", "451 4.4.8 MX hosts of example.com failed MTA-STS validation", "microsoft"),
    (r"dane", "451 4.7.323 tlsa-invalid: The domain failed DANE validation", "microsoft"),
    (r"ssl (?:handshake|error|routines)", "SSL routines:ssl3_get_record:wrong version number"),
    (r"encryption (?:required|needed)", "538 5.7.11 Encryption required for requested authentication mechanism"),
    (r"cannot achieve exchange server authentication", "550 5.7.3 Cannot achieve Exchange Server authentication", "microsoft"),
    (r"high-strength ciphers", "553 This route requires high-strength ciphers", "mimecast"),
    (r"tlsa-invalid", "451 4.7.323 tlsa-invalid", "microsoft"),
    (r"tls", "Cannot start TLS: handshake failure"),
])

_EXPIRED = _rules("expired", [
    (r"(?:message|queue|delivery time) expired", "554 4.4.7 Message expired: unable to deliver in 840 minutes.", "microsoft"),
    (r"in the queue too long", "I'm not going to try again; this message has been in the queue too long.", "qmail"),
    (r"too long in (?:the )?queue", "Message has been too long in queue"),
    (r"(?:could not|couldn't|unable to) (?:be )?deliver(?:ed)? (?:this message )?(?:for|in|after|within) (?:too long|\d+)", "Message could not be delivered for 5 days", "sendmail"),
    (r"will be deleted from (?:the )?queue", "Message will be deleted from queue"),
    (r"retry time(?:out)? (?:not reached|exceeded)", "retry timeout exceeded", "exim"),
    (r"delivery timeout", "Delivery timeout", "godaddy"),
    (r"has been delayed", "Delivery to the following recipient has been delayed.", "gmail"),
    (r"(?:message|delivery) (?:was |has been )?delayed", "4.4.7 Message delayed", "exchange"),
    (r"will be retried", "Message will be retried for 2 more day(s)", "gmail"),
    (r"(?:gave|giving) up", "Giving up on 192.0.2.1."),
    (r"expired", "Delivery time expired"),
    (r"past the expiration", "Journal messages past the expiration date", "mimecast"),
])

_CONNECTION = _rules("connection", [
    (r"connection (?:timed out|timeout|refused|reset|dropped|closed|lost|failed)", "connect to mx.example.com[192.0.2.1]:25: Connection timed out", "postfix"),
    (r"timed out", "conversation with mx.example.com[192.0.2.1] timed out while receiving the initial server greeting", "postfix"),
    (r"no route to host", "connect to mx.example.com[192.0.2.2]:25: No route to host", "postfix"),
    (r"network is unreachable", "connect to mx.example.com[2001:db8::1]:25: Network is unreachable", "postfix"),
    (r"lost connection", "lost connection with mx.example.com[192.0.2.1] while performing the HELO handshake", "postfix"),
    (r"(?:failed|unable|not able|wasn't able) to (?:connect|establish)", "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", "qmail"),
    (r"did not accept our requests to connect", "The recipient server did not accept our requests to connect.", "gmail"),
    (r"(?:unable|failed) to connect successfully", "due to being unable to connect successfully to the destination mail server.", "exchange"),
    (r"connection (?:was )?(?:refused|closed|dropped)", "Connection refused by mx.example.com"),
    (r"(?:service|server) (?:is )?not (?:available|active)", "421 Service not available, closing transmission channel"),
    (r"(?:closing|close) (?:transmission )?(?:channel|connection)", "421 4.7.0 Try again later, closing connection."),
    (r"not accepting connections", "554 mx.me.com ESMTP not accepting connections", "icloud"),
    (r"winsock error", "Failed to connect. Winsock error code: 10060", "exchange"),
    (r"no answer from host", "4.4.1 (Persistent transient failure - routing/network: no answer from host)"),
    (r"too many errors", "421 4.7.0 Error: too many errors"),
    (r"refused to talk to me", "host mx.example.com[192.0.2.1] refused to talk to me: 421 Service not available", "postfix"),
    (r"no smtp service", "554 No SMTP service here"),
    (r"unexpected (?:eof|end of file)", "unexpected EOF"),
])

_DNS_TEMPFAIL = _rules("dns_tempfail", [
    (r"host name lookup failure", "Name server: example.co.jp.: host name lookup failure", "sendmail"),
    (r"host lookup (?:for \S+ )?did not complete", "R=dnslookup defer (-1): host lookup did not complete", "exim"),
    (r"(?:dns|name server|nameserver) (?:query |lookup )?(?:failed|failure|timeout|error|temporary)", "451 4.4.312 DNS query failed", "microsoft"),
    (r"malformed or unexpected name server reply", "Name service error for name=example.org type=MX: Malformed or unexpected name server reply", "postfix"),
    (r"temporary failure in name resolution", "Temporary failure in name resolution"),
    (r"servfail", "DNS SERVFAIL"),
    (r"(?:unable|failed) to (?:resolve|look up)", "unable to resolve mx.example.com"),
    (r"had no relevant answers", "DNS type 'mx' lookup of example.com had no relevant answers.", "gmail"),
    (r"dns", "DNS Error"),
])

_SYSTEM = _rules("system", [
    (r"(?:internal|system|local|server|temporary|operating system) (?:server |system )?(?:error|problem|failure)", "451 4.3.0 Internal server error"),
    (r"(?:local|system) configuration error", "554 5.3.5 Local configuration error"),
    (r"(?:config|configuration) error", "500 5.3.5 System config error"),
    (r"system incorrectly configured", "550 5.3.5 System incorrectly configured", "microsoft"),
    (r"(?:service|server|system|resource|resources) (?:is |are )?(?:currently |temporarily )?(?:unavailable|busy|overloaded)", "554 Service currently unavailable"),
    (r"insufficient system storage", "452 4.3.1 Insufficient system storage"),
    (r"insufficient (?:system )?(?:resources|permission)", "452 4.3.1 Insufficient system resources"),
    (r"mailer error", "554 5.3.0 unknown mailer error 255"),
    (r"temporarily rejected", "451-4.3.0 Mail server temporarily rejected message.", "gmail"),
    (r"queue file write error", "451 4.3.0 Error: queue file write error", "postfix"),
    (r"transaction failed", "554 Transaction failed"),
    (r"ldap", "Unable to contact LDAP server. (#4.4.3)"),
    (r"could not load drd", "451 Could not load DRD for domain", "mxlogic"),
    (r"(?:try|retry|trying) (?:again )?later", "451 4.3.0 Please try again later."),
    (r"essayer plus tard", "421 Service refuse. Veuillez essayer plus tard. Service refused, please try later.", "orange"),
    (r"storedrv", "451 4.4.0 STOREDRV.Deliver; mailbox database error", "microsoft"),
    (r"procmail", "procmail: Couldn't create \"/var/spool/mail/neko\""),
    (r"pipe to \|", "pipe to |/usr/local/bin/filter"),
    (r"temporary failure", "450 4.0.0 Temporary failure"),
    (r"not accepting network messages", "521 5.3.2 System not accepting network messages"),
    (r"mailbox (?:is )?(?:busy|locked|in use)", "450 4.2.1 Mailbox busy"),
    (r"requested action aborted", "451 Requested action aborted: local error in processing"),
])

# The last resort for a refusal: bare "rejected", "refused", "blocked".
_POLICY_GENERIC = _rules("policy", [
    (r"not (?:accepted|allowed|permitted|authorized)", "550 5.7.1 Delivery not authorized, message refused"),
    (r"(?:message|mail|email) (?:was )?(?:rejected|refused|denied)", "550 5.7.1 Message rejected"),
    (r"refused", "550 5.7.1 Message refused"),
    (r"rejected", "550 5.7.1 Rejected"),
    (r"blocked", "554 Blocked"),
    (r"denied", "550 5.7.1 Denied"),
    (r"forbidden", "550 5.7.1 Forbidden"),
])

PHRASES: tuple[Phrase, ...] = tuple(
    _OVERRIDES + _AUTH_FAILURE + _RATE_LIMITED + _GREYLISTED + _MAILBOX_FULL
    + _TECHNICAL_SYSTEM + _MESSAGE_TOO_LARGE + _RELAY_DENIED + _POLICY_SENDER
    + _MAILBOX_DISABLED + _HAS_MOVED + _BAD_DOMAIN + _USER_UNKNOWN
    + _BLOCKLISTED + _SPAM_CONTENT + _POLICY + _TLS + _EXPIRED + _CONNECTION
    + _DNS_TEMPFAIL + _SYSTEM + _POLICY_GENERIC
)

#: Words which, on a 5xx, mean the receiver itself calls the failure
#: temporary (SPEC §2a: "try again later" is soft even when sent as 5xx).
SOFT_MARKERS: tuple[tuple[str, str], ...] = (
    (r"(?:try|retry|trying) (?:again )?later", "550 5.7.1 User temporary locked. Please try again later!"),
    (r"try again (?:in|after) (?:\d+|a few|some)", "550 5.7.1 Too busy, try again in 5 minutes"),
    (r"temporar(?:y|ily)", "550 The account is temporarily suspended"),
    (r"essayer plus tard", "550 5.5.0 Service refuse. Veuillez essayer plus tard."),
)

#: Texts that are only an MTA's word for its exit status, not the receiver's
#: reply: with an enhanced status code beside them, the code decides. Sendmail
#: logs `stat=` from sm_sysexitmsg() (sysexits.h EX_UNAVAILABLE is "Service
#: unavailable") when it has no `reply=`, e.g. `dsn=5.1.10, stat=Service
#: unavailable` for a null MX. Whole normalised texts, not patterns.
STATUS_WORDS: frozenset[str] = frozenset({
    "service unavailable",
    "remote protocol error",
    "data format error",
})

#: Reasons about the address itself: a "try again later" elsewhere in the
#: text (often another reply the MTA quoted alongside) does not soften them.
FINAL_REASONS = frozenset({"user_unknown", "bad_domain", "has_moved"})

#: The generic user-unknown wordings that some receivers (Japanese mobile
#: carriers, filtering appliances) also send after end of DATA when a
#: per-recipient filter refuses the *message*: a recipient who was accepted at
#: RCPT TO exists. At the DATA stage these read as a filter refusal (policy),
#: not a dead address. Wordings that name the recipient explicitly (Yahoo's
#: "doesn't have a yahoo.com account") are not in this list.
DATA_STAGE_FILTERED = frozenset({
    "phrase:user_unknown:'unknown user'",
    "postfix:user_unknown:'user unknown'",
})

#: Texts showing that an end-of-DATA error merely repeats a RCPT TO rejection
#: (the MTA reports the 550 for RCPT followed by "503 need RCPT").
RCPT_STAGE_ECHO = (
    r"need rcpt", r"rcpt first", r"no valid recipients", r"valid rcpt command must precede",
    r"rcpt commands were rejected",
)

# --- enhanced status codes (RFC 3463, 5248; IANA registry; vendor extensions)

#: subject.detail -> (reason, bounce_class override or None). The class digit
#: (4/5) is decided separately: any 4.x.x is soft.
DSN_CODES: dict[str, tuple[str, str | None]] = {
    "1.0": ("user_unknown", None),        # other address status
    "1.1": ("user_unknown", None),        # bad destination mailbox address
    "1.2": ("bad_domain", None),          # bad destination system address
    "1.3": ("user_unknown", None),        # bad destination mailbox address syntax
    "1.4": ("user_unknown", None),        # destination mailbox address ambiguous
    "1.6": ("has_moved", None),           # destination mailbox has moved
    "1.7": ("policy", None),              # bad sender's mailbox address syntax
    "1.8": ("policy", None),              # bad sender's system address
    "1.10": ("bad_domain", None),         # recipient address has null MX (RFC 7505)
    "1.90": ("rate_limited", None),       # Microsoft: daily recipient limit
    "1.351": ("user_unknown", None),      # Exchange: unknown recipient or mailbox unavailable
    "2.0": ("policy", None),              # other mailbox status: receivers use it for filtered mail
    "2.1": ("mailbox_disabled", None),    # mailbox disabled, not accepting messages
    "2.2": ("mailbox_full", None),        # mailbox full
    "2.3": ("message_too_large", None),   # message length exceeds administrative limit
    "2.4": ("system", TECHNICAL),         # mailing list expansion problem
    "2.121": ("rate_limited", None),      # Microsoft: per-hour receive limit from sender
    "2.122": ("rate_limited", None),      # Microsoft: per-hour receive limit
    "3.0": ("system", None),              # other or undefined mail system status
    "3.1": ("system", None),              # mail system full
    "3.2": ("system", None),              # system not accepting network messages
    "3.3": ("system", TECHNICAL),         # system not capable of selected features
    "3.4": ("message_too_large", None),   # message too big for system
    "3.5": ("system", None),              # system incorrectly configured
    "4.0": ("connection", None),          # other network or routing status
    "4.1": ("connection", None),          # no answer from host
    "4.2": ("connection", None),          # bad connection
    "4.3": ("dns_tempfail", None),        # directory server failure
    "4.4": ("bad_domain", None),          # unable to route (Postfix: host or domain name not found)
    "4.5": ("rate_limited", None),        # mail system congestion
    "4.6": ("system", TECHNICAL),         # routing loop detected
    "4.7": ("expired", None),             # delivery time expired
    "4.8": ("tls", None),                 # MTA-STS / TLS policy failure (Microsoft)
    "4.300": ("expired", None),           # Exchange: message expired
    "4.310": ("bad_domain", None),        # Exchange: DNS domain does not exist
    "4.312": ("dns_tempfail", None),      # Exchange: DNS query failed
    "4.316": ("expired", None),           # Exchange: message expired, connection refused
    "4.317": ("tls", None),               # Exchange: STARTTLS is required
    "5.1": ("system", TECHNICAL),         # invalid command
    "5.2": ("system", TECHNICAL),         # syntax error
    "5.3": ("rate_limited", None),        # too many recipients
    "5.4": ("system", TECHNICAL),         # invalid command arguments
    "5.5": ("system", TECHNICAL),         # wrong protocol version
    "5.6": ("system", TECHNICAL),         # authentication exchange line too long
    "6.0": ("spam_content", None),        # other or undefined media error
    "6.1": ("spam_content", None),        # media not supported
    "6.11": ("system", TECHNICAL),        # Microsoft: bare line feeds
    "7.0": ("policy", None),              # other or undefined security status
    "7.1": ("policy", None),              # delivery not authorized, message refused
    "7.2": ("policy", None),              # mailing list expansion prohibited
    "7.3": ("tls", None),                 # security conversion required but not possible
    "7.4": ("tls", None),                 # security features not supported
    "7.5": ("tls", None),                 # cryptographic failure
    "7.6": ("tls", None),                 # cryptographic algorithm not supported
    "7.7": ("spam_content", None),        # message integrity failure
    "7.8": ("auth_failure", None),        # authentication credentials invalid
    "7.9": ("policy", None),              # Yahoo/AOL: message not accepted for policy reasons
    "7.10": ("tls", None),                # encryption needed
    "7.11": ("tls", None),                # encryption required for requested auth mechanism
    "7.13": ("mailbox_disabled", None),   # user account disabled
    "7.14": ("policy", None),             # trust relationship required
    "7.17": ("has_moved", None),          # RRVS: mailbox owner has changed
    "7.18": ("bad_domain", None),         # RRVS: domain owner has changed
    "7.20": ("auth_failure", None),       # no passing DKIM signature found
    "7.21": ("auth_failure", None),       # no acceptable DKIM signature found
    "7.22": ("auth_failure", None),       # no valid author-matched DKIM signature
    "7.23": ("auth_failure", None),       # SPF validation failed
    "7.24": ("auth_failure", None),       # SPF validation error
    "7.25": ("policy", None),             # reverse DNS validation failed
    "7.26": ("auth_failure", None),       # multiple authentication checks failed
    "7.27": ("policy", None),             # sender address has null MX
    "7.28": ("blocklisted", None),        # mail flood detected
    "7.29": ("auth_failure", None),       # ARC validation failure
    "7.30": ("tls", None),                # REQUIRETLS support required
    "7.57": ("auth_failure", None),       # Microsoft: client not authenticated
    "7.64": ("relay_denied", None),       # Microsoft: TenantAttribution; relay access denied
    "7.321": ("tls", None),               # Microsoft: starttls-not-supported
    "7.509": ("auth_failure", None),      # Microsoft: DMARC reject
    "7.510": ("policy", None),            # Microsoft: does not accept email over IPv6
    "7.511": ("blocklisted", None),       # Microsoft: banned sender
    "7.513": ("blocklisted", None),       # Microsoft: customer block list
    "7.750": ("policy", None),            # Microsoft: unregistered domains
}

#: Microsoft's numbered ranges within X.7.* (Exchange Online NDR reference).
DSN_RANGES: tuple[tuple[str, int, int, str], ...] = (
    ("7", 501, 503, "blocklisted"),       # access denied, spam abuse detected / banned sender
    ("7", 606, 649, "blocklisted"),       # access denied, banned sending IP
    ("7", 700, 749, "rate_limited"),      # tenant has exceeded threshold
    ("7", 850, 899, "blocklisted"),       # access denied, please try again later (suspicious IP)
    ("7", 900, 999, "policy"),            # delivery not authorized
)

#: When only the subject is known (X.7.nnn not in the tables above).
DSN_SUBJECTS: dict[str, str] = {
    "1": "user_unknown",
    "2": "mailbox_full",
    "3": "system",
    "4": "connection",
    "5": "system",
    "6": "spam_content",
    "7": "policy",
}

#: Samples for the code tables, so the rule-walk test can run them too.
DSN_SAMPLES: dict[str, str] = {
    "1.1": "550 5.1.1 <x@example.com>",
    "2.2": "552 5.2.2 <x@example.com>",
    "7.1": "550 5.7.1 Go away",
}

# --- bare reply codes (RFC 5321 §4.2.3), when text and DSN say nothing -----

#: code -> reason. A 5xx reply code without a usable enhanced code and without
#: a recognised text is soft ("unclear" in SPEC §2a) unless listed here with a
#: hard reason.
REPLY_CODES: dict[int, str] = {
    421: "connection",      # service not available, closing transmission channel
    450: "system",          # mailbox unavailable (busy)
    451: "system",          # local error in processing
    452: "system",          # insufficient system storage
    550: "unknown",         # mailbox unavailable / not found / policy: too vague
    551: "has_moved",       # user not local; please try <forward-path>
    552: "mailbox_full",    # exceeded storage allocation
    553: "user_unknown",    # mailbox name not allowed
    521: "bad_domain",      # RFC 7504: host does not accept mail
    556: "bad_domain",      # RFC 7504: domain does not accept mail
    554: "unknown",         # transaction failed
}
