#!/usr/bin/env bash
# Installs Postfix as a loopback-only MTA that delivers mail for one local test domain into the
# Maildir of one local user, and relays nothing anywhere. Used by the interop test
# (tests/it/interop_postfix.rs); safe to run again on a machine where it already ran.
#
# Needs root and Debian (apt-get). Reads, with these defaults:
#   FOLLOWUP_INTEROP_SMTP     127.0.0.1:25                  where Postfix listens (127.0.0.1 only)
#   FOLLOWUP_INTEROP_RCPT     fuinterop@followup.test       the local user and the local domain
#   FOLLOWUP_INTEROP_MAILDIR  /home/<user>/Maildir          where that user's mail lands
set -euo pipefail

SMTP="${FOLLOWUP_INTEROP_SMTP:-127.0.0.1:25}"
RCPT="${FOLLOWUP_INTEROP_RCPT:-fuinterop@followup.test}"
MAIL_USER="${RCPT%@*}"
MAIL_DOMAIN="${RCPT#*@}"
MAILDIR="${FOLLOWUP_INTEROP_MAILDIR:-/home/${MAIL_USER}/Maildir}"
HOST="${SMTP%:*}"
PORT="${SMTP##*:}"
WAIT_SECONDS=30
# Postfix's own log file (postlogd): there may be no syslog daemon in a container.
MAIL_LOG=/var/log/postfix.log

say() { printf 'postfix-setup: %s\n' "$*"; }
die() {
    printf 'postfix-setup: error: %s\n' "$*" >&2
    exit 1
}

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages, creates a user)"
[[ "$HOST" == "127.0.0.1" ]] || die "FOLLOWUP_INTEROP_SMTP must be on 127.0.0.1, not '$SMTP'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "FOLLOWUP_INTEROP_SMTP has no numeric port: '$SMTP'"
[[ "$MAILDIR" == */Maildir ]] || die "FOLLOWUP_INTEROP_MAILDIR must end in /Maildir: '$MAILDIR'"

# --- install -------------------------------------------------------------------------------------
if dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'install ok installed'; then
    say "postfix already installed"
else
    say "installing postfix (Local only, mailname ${MAIL_DOMAIN})"
    debconf-set-selections <<EOF
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string ${MAIL_DOMAIN}
EOF
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends postfix
fi

# Installed with "No configuration" (as bench/compare.sh does, for smtp-sink alone), Postfix has
# no main.cf: start from Debian's own, which the settings below complete.
if [[ ! -f /etc/postfix/main.cf ]]; then
    say "no /etc/postfix/main.cf (installed unconfigured): starting from Debian's"
    cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
fi

# --- the local user and its Maildir --------------------------------------------------------------
if id "$MAIL_USER" >/dev/null 2>&1; then
    say "user ${MAIL_USER} exists"
else
    say "creating user ${MAIL_USER}"
    useradd --create-home --home-dir "${MAILDIR%/Maildir}" --shell /usr/sbin/nologin "$MAIL_USER"
fi
install -d -m 0700 -o "$MAIL_USER" -g "$MAIL_USER" \
    "$MAILDIR" "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp"

# --- configuration -------------------------------------------------------------------------------
say "configuring: ${MAIL_DOMAIN} delivered to ${MAILDIR}, no relaying, listening on ${SMTP} only"
postconf -e \
    "myhostname = ${MAIL_DOMAIN}" \
    "mydomain = ${MAIL_DOMAIN}" \
    "myorigin = ${MAIL_DOMAIN}" \
    "mydestination = ${MAIL_DOMAIN}, localhost" \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "mynetworks = 127.0.0.0/8" \
    "relayhost =" \
    "relay_transport = error:this test server relays nothing" \
    "default_transport = error:this test server relays nothing" \
    "home_mailbox = Maildir/" \
    "mailbox_command =" \
    "smtputf8_enable = yes" \
    "message_size_limit = 52428800" \
    "mailbox_size_limit = 0" \
    "smtpd_tls_security_level = none" \
    "smtp_tls_security_level = none" \
    "biff = no" \
    "maillog_file = ${MAIL_LOG}"

# Run the daemons outside Debian's chroot: without systemd nobody copies resolv.conf and friends
# into /var/spool/postfix, and a loopback test server gains nothing from it.
postconf -F '*/*/chroot = n'

# Port 25 is the stock `smtp` service. Another port is an extra service bound to 127.0.0.1 only.
if [[ "$PORT" != "25" ]]; then
    postconf -M "${HOST}:${PORT}/inet=${HOST}:${PORT} inet n - n - - smtpd"
fi

if [[ -f /etc/aliases ]]; then
    newaliases
fi
postfix check

# --- start ---------------------------------------------------------------------------------------
if [[ "$(ps -p 1 -o comm= 2>/dev/null || true)" == "systemd" ]]; then
    say "systemd is PID 1: enabling and restarting postfix.service"
    systemctl enable postfix >/dev/null 2>&1 || true
    systemctl restart postfix
elif postfix status >/dev/null 2>&1; then
    say "no systemd; postfix is running: reloading"
    postfix reload
else
    say "no systemd: postfix start"
    postfix start
fi

# --- wait until it answers -----------------------------------------------------------------------
# Prints the server's first line; fails when nothing listens or nothing is said within 3 s.
smtp_greeting() {
    local line
    exec 3<>"/dev/tcp/${HOST}/${PORT}" || return 1
    IFS= read -r -t 3 line <&3 || return 1
    printf 'QUIT\r\n' >&3 || true
    exec 3>&-
    printf '%s' "${line%$'\r'}"
}

say "waiting up to ${WAIT_SECONDS}s for an SMTP greeting on ${SMTP}"
deadline=$((SECONDS + WAIT_SECONDS))
greeting=""
while ((SECONDS < deadline)); do
    if greeting="$(smtp_greeting 2>/dev/null)" && [[ "$greeting" == 220* ]]; then
        break
    fi
    greeting=""
    sleep 1
done
[[ -n "$greeting" ]] ||
    die "nothing answered SMTP on ${SMTP} within ${WAIT_SECONDS}s; see 'postfix status' and ${MAIL_LOG}"

say "ready: ${greeting}"
say "mail for ${RCPT} lands in ${MAILDIR}/new"
