#!/usr/bin/env bash
# Installs Dovecot as a loopback-only IMAP server for one test user with a Maildir, for the IMAP
# integration tests (tests/imap_dovecot.rs); safe to run again on a machine where it already ran.
# It runs from its own configuration file, so the distribution's /etc/dovecot/dovecot.conf is
# left as it is.
#
# Usage: dovecot-setup.sh [setup|start|stop|restart|status|freeze|thaw|password [PW]]
#   setup    install, configure, (re)start and wait until it answers   [the default]
#   start    start the configured server and wait until it answers (the fault test uses it)
#   stop     stop it, wait until the ports are closed, and end the sessions it left running
#   restart  stop, then start
#   status   exit 0 when it answers IMAP
#   freeze   SIGSTOP every process of this server (the chaos test: a server that hangs)
#   thaw     SIGCONT them
#   password set the user's password to PW (default: FOLLOWUP_INTEROP_IMAP_PASSWORD) and end
#            the sessions logged in with the old one
#
# Needs root and Debian (apt-get). Reads, with these defaults:
#   FOLLOWUP_INTEROP_IMAP           127.0.0.1:143         STARTTLS and plain login (loopback)
#   FOLLOWUP_INTEROP_IMAPS          127.0.0.1:993         implicit TLS
#   FOLLOWUP_INTEROP_IMAP_USER      fuinterop             the login, also the system user
#   FOLLOWUP_INTEROP_IMAP_PASSWORD  followup-imap-test    its password (a test secret)
#   FOLLOWUP_INTEROP_IMAP_MAILDIR   /home/<user>/Maildir  its INBOX (Postfix delivers there too)
# TLS uses tests/it/fixtures/tls/{cert,key}.pem: a self-signed certificate for localhost/127.0.0.1.
#
# OAuth2: besides the password, the user logs in with AUTHENTICATE XOAUTH2 (and OAUTHBEARER).
# Dovecot's `oauth2` passdb checks each token by token introspection (`introspection_mode = post`)
# at http://127.0.0.1:${FOLLOWUP_INTEROP_OAUTH_PORT:-47143}/introspect, an endpoint the XOAUTH2
# tests run themselves (tests/it/support/introspection.rs) for as long as they need it: a token is
# good while the endpoint answers {"active": true, "username": "<user>"} for it. The password
# passdb serves PLAIN and LOGIN only and the oauth2 one XOAUTH2 and OAUTHBEARER only, so the
# password login works as before, endpoint or no endpoint.
set -euo pipefail

ACTION="${1:-setup}"
IMAP="${FOLLOWUP_INTEROP_IMAP:-127.0.0.1:143}"
IMAPS="${FOLLOWUP_INTEROP_IMAPS:-127.0.0.1:993}"
MAIL_USER="${FOLLOWUP_INTEROP_IMAP_USER:-fuinterop}"
PASSWORD="${FOLLOWUP_INTEROP_IMAP_PASSWORD:-followup-imap-test}"
MAILDIR="${FOLLOWUP_INTEROP_IMAP_MAILDIR:-/home/${MAIL_USER}/Maildir}"
HOST="${IMAP%:*}"
PORT="${IMAP##*:}"
TLS_HOST="${IMAPS%:*}"
TLS_PORT="${IMAPS##*:}"
OAUTH_PORT="${FOLLOWUP_INTEROP_OAUTH_PORT:-47143}"
WAIT_SECONDS=30

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything of this server lives apart from the distribution's own setup.
CONF_DIR=/etc/dovecot/followup-test
CONF="${CONF_DIR}/dovecot.conf"
BASE_DIR=/run/dovecot-followup-test
LOG=/var/log/dovecot-followup-test.log

say() { printf 'dovecot-setup: %s\n' "$*"; }
die() {
    printf 'dovecot-setup: error: %s\n' "$*" >&2
    exit 1
}

[[ "$(id -u)" -eq 0 ]] || die "must run as root (installs packages, creates a user, binds port ${PORT})"
[[ "$HOST" == "127.0.0.1" ]] || die "FOLLOWUP_INTEROP_IMAP must be on 127.0.0.1, not '$IMAP'"
[[ "$TLS_HOST" == "127.0.0.1" ]] || die "FOLLOWUP_INTEROP_IMAPS must be on 127.0.0.1, not '$IMAPS'"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "FOLLOWUP_INTEROP_IMAP has no numeric port: '$IMAP'"
[[ "$TLS_PORT" =~ ^[0-9]+$ ]] || die "FOLLOWUP_INTEROP_IMAPS has no numeric port: '$IMAPS'"
[[ "$MAILDIR" == */Maildir ]] || die "FOLLOWUP_INTEROP_IMAP_MAILDIR must end in /Maildir: '$MAILDIR'"
[[ "$PASSWORD" =~ ^[A-Za-z0-9._-]+$ ]] || die "keep the test password to letters, digits and . _ -"
[[ "$OAUTH_PORT" =~ ^[0-9]+$ ]] || die "FOLLOWUP_INTEROP_OAUTH_PORT is not a port number: '$OAUTH_PORT'"

# Prints the server's first line; fails when nothing listens or nothing is said within 3 s.
imap_greeting() {
    local line
    exec 3<>"/dev/tcp/${HOST}/${PORT}" || return 1
    IFS= read -r -t 3 line <&3 || return 1
    printf 'a LOGOUT\r\n' >&3 || true
    exec 3>&-
    printf '%s' "${line%$'\r'}"
}

# Whether something accepts connections on a port of 127.0.0.1.
port_open() { (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null; }

wait_until_up() {
    say "waiting up to ${WAIT_SECONDS}s for an IMAP greeting on ${IMAP}"
    local deadline=$((SECONDS + WAIT_SECONDS)) greeting=""
    while ((SECONDS < deadline)); do
        if greeting="$(imap_greeting 2>/dev/null)" && [[ "$greeting" == "* OK"* ]] &&
            port_open "$TLS_PORT"; then
            say "ready: ${greeting}"
            return 0
        fi
        sleep 0.2
    done
    die "Dovecot did not answer on ${IMAP} and ${IMAPS} within ${WAIT_SECONDS}s; see ${LOG}"
}

wait_until_down() {
    local deadline=$((SECONDS + WAIT_SECONDS))
    while ((SECONDS < deadline)); do
        if ! port_open "$PORT" && ! port_open "$TLS_PORT"; then
            return 0
        fi
        sleep 0.2
    done
    die "Dovecot still listens on ${IMAP} or ${IMAPS} ${WAIT_SECONDS}s after stop; see ${LOG}"
}

running() { [[ -f "${BASE_DIR}/master.pid" ]] && kill -0 "$(cat "${BASE_DIR}/master.pid")" 2>/dev/null; }

start() {
    [[ -f "$CONF" ]] || die "${CONF} is missing: run '$0 setup' first"
    if running; then
        say "already running (pid $(cat "${BASE_DIR}/master.pid"))"
    else
        # No systemd here (or not ours to use): the master process daemonizes itself.
        say "starting dovecot -c ${CONF}"
        # Its own output goes to the log: a daemon holding the caller's pipe would hang it. No
        # other descriptor is handed down either: the lock of `flock LOCK <this script>` would
        # otherwise be held by the daemon for as long as it runs, and every later `flock` wait.
        (
            for fd in /proc/self/fd/*; do
                fd="${fd##*/}"
                if ((fd > 2)); then
                    eval "exec ${fd}>&-" 2>/dev/null || true
                fi
            done
            exec dovecot -c "$CONF" </dev/null >>"$LOG" 2>&1
        )
    fi
    wait_until_up
}

stop() {
    if running; then
        # Listed before the master goes: its children outlive it (see below).
        local pids
        pids="$(server_pids | tr '\n' ' ')"
        say "stopping dovecot (pid $(cat "${BASE_DIR}/master.pid"))"
        doveadm -c "$CONF" stop >/dev/null 2>&1 || kill "$(cat "${BASE_DIR}/master.pid")"
        wait_until_down
        # The master exits and closes the ports, but an imap process serving a session (an IDLE
        # above all) goes on serving it, so a client never hears that the server went away.
        # A stopped server ends its sessions: each such process is told to stop, as a server
        # going down tells them, and the client hears `* BYE Server shutting down.`.
        # shellcheck disable=SC2086
        end_leftovers $pids $(titled_pids)
    else
        say "not running"
        wait_until_down
    fi
}

# Whether a pid is still a process of this server (its title names the instance).
ours() { [[ "$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null)" == dovecot-followup-test/* ]]; }

# Ends the processes among "$@" that are still this server's: SIGTERM, then SIGKILL after 5 s.
end_leftovers() {
    local pid left=()
    for pid in "$@"; do
        if ours "$pid"; then left+=("$pid"); fi
    done
    ((${#left[@]} > 0)) || return 0
    say "ending ${#left[@]} process(es) the master left running: ${left[*]}"
    kill -TERM "${left[@]}" 2>/dev/null || true
    local deadline=$((SECONDS + 5)) alive
    while ((SECONDS < deadline)); do
        alive=()
        for pid in "${left[@]}"; do
            if ours "$pid"; then alive+=("$pid"); fi
        done
        ((${#alive[@]} > 0)) || return 0
        sleep 0.1
    done
    say "killing ${alive[*]}: still there 5 s after SIGTERM"
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

setup() {
    # --- install ---------------------------------------------------------------------------------
    if dpkg-query -W -f='${Status}' dovecot-imapd 2>/dev/null | grep -q 'install ok installed'; then
        say "dovecot-imapd already installed"
    else
        say "installing dovecot-imapd"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends dovecot-imapd
    fi
    # The package's own instance, if a service manager started it, would hold ports 143 and 993.
    if [[ "$(ps -p 1 -o comm= 2>/dev/null || true)" == "systemd" ]]; then
        systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
    elif [[ -f /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
        say "stopping the distribution's own Dovecot instance"
        doveadm stop >/dev/null 2>&1 || true
    fi

    # --- the user and its Maildir ----------------------------------------------------------------
    if id "$MAIL_USER" >/dev/null 2>&1; then
        say "user ${MAIL_USER} exists"
    else
        say "creating user ${MAIL_USER}"
        useradd --create-home --home-dir "${MAILDIR%/Maildir}" --shell /usr/sbin/nologin "$MAIL_USER"
    fi
    install -d -m 0700 -o "$MAIL_USER" -g "$MAIL_USER" \
        "$MAILDIR" "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp"
    local uid gid
    uid="$(id -u "$MAIL_USER")"
    gid="$(id -g "$MAIL_USER")"

    # --- configuration ---------------------------------------------------------------------------
    say "configuring: ${MAIL_USER} on ${IMAP} (STARTTLS) and ${IMAPS} (TLS), mail in ${MAILDIR}"
    install -d -m 0755 "$CONF_DIR"
    install -m 0644 "$ROOT/tests/it/fixtures/tls/cert.pem" "$CONF_DIR/cert.pem"
    install -m 0600 "$ROOT/tests/it/fixtures/tls/key.pem" "$CONF_DIR/key.pem"
    # passwd-file: user:password:uid:gid:gecos:home:shell:extra fields.
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MAIL_USER" "$PASSWORD" "$uid" "$gid" "${MAILDIR%/Maildir}" \
        >"$CONF_DIR/users"
    # The auth process runs as the dovecot user; nobody else may read the file.
    chown root:dovecot "$CONF_DIR/users"
    chmod 0640 "$CONF_DIR/users"
    # The oauth2 passdb's settings (Dovecot 2.3): introspection by POST of `token=<token>`.
    cat >"$CONF_DIR/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = http://127.0.0.1:${OAUTH_PORT}/introspect
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
EOF
    chown root:dovecot "$CONF_DIR/oauth2.conf.ext"
    chmod 0640 "$CONF_DIR/oauth2.conf.ext"
    cat >"$CONF" <<EOF
# Written by .ci/dovecot-setup.sh: a loopback IMAP server for tests. Do not edit; run it again.
protocols = imap
listen = ${HOST}
base_dir = ${BASE_DIR}
instance_name = dovecot-followup-test
log_path = ${LOG}
# Clear-text login is allowed: this server listens on loopback only.
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
mail_location = maildir:${MAILDIR}
mail_privileged_group = mail
first_valid_uid = 1
# The process title shows each session's state ("IDLE"): the IDLE test waits for it.
verbose_proctitle = yes

ssl = yes
ssl_cert = <${CONF_DIR}/cert.pem
ssl_key = <${CONF_DIR}/key.pem
ssl_min_protocol = TLSv1.2

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${CONF_DIR}/users
  mechanisms = plain login
}
# Access tokens, checked by the tests' introspection endpoint on 127.0.0.1:${OAUTH_PORT}.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${CONF_DIR}/oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%u ${CONF_DIR}/users
}

namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
}

service imap-login {
  inet_listener imap {
    address = ${HOST}
    port = ${PORT}
  }
  inet_listener imaps {
    address = ${TLS_HOST}
    port = ${TLS_PORT}
    ssl = yes
  }
}
# Nothing but IMAP: no LMTP, no POP3, no stats listener on the network.
service lmtp {
  unix_listener lmtp {
    mode = 0
  }
}

protocol imap {
  # IDLE is on by default; the server says "still here" every 2 minutes.
  imap_idle_notify_interval = 2 mins
}
EOF
    doveconf -c "$CONF" -n >/dev/null || die "doveconf rejects ${CONF}"

    if running; then
        stop
    fi
    start
    say "mail for ${MAIL_USER} is read from ${MAILDIR}; deliver by writing into ${MAILDIR}/new"
}

# The pids of this server: its master and every process it started.
server_pids() {
    running || return 0
    local master
    master="$(cat "${BASE_DIR}/master.pid")"
    echo "$master"
    ps -o pid= --ppid "$master"
}

# Every process whose title names this instance, the master's children or not (a login
# process forked while the master was going outlives it, its parent then being init).
titled_pids() {
    local dir
    for dir in /proc/[0-9]*; do
        if ours "${dir#/proc/}"; then echo "${dir#/proc/}"; fi
    done
}

# The master and every process of this server.
every_pid() {
    running || return 0
    cat "${BASE_DIR}/master.pid"
    titled_pids
}

set_password() {
    local new="$1" users="${CONF_DIR}/users" rest
    [[ "$new" =~ ^[A-Za-z0-9._-]+$ ]] || die "keep the test password to letters, digits and . _ -"
    [[ -f "$users" ]] || die "${users} is missing: run '$0 setup' first"
    rest="$(cut -d: -f3- "$users")"
    printf '%s:{PLAIN}%s:%s\n' "$MAIL_USER" "$new" "$rest" >"${users}.new"
    chown root:dovecot "${users}.new"
    chmod 0640 "${users}.new"
    mv "${users}.new" "$users"
    doveadm -c "$CONF" kick "$MAIL_USER" >/dev/null 2>&1 || true
}

case "$ACTION" in
setup) setup ;;
# A short-lived child may end between the listing and the signal: only the master must be there.
freeze)
    running || die "not running"
    # The master first, so it forks nothing more; then every process of this server, by its
    # title, whoever its parent: a session left out would go on serving a hung server's client.
    kill -STOP "$(cat "${BASE_DIR}/master.pid")"
    every_pid | xargs -r kill -STOP 2>/dev/null || true
    ;;
thaw) every_pid | xargs -r kill -CONT 2>/dev/null || true ;;
password) set_password "${2:-$PASSWORD}" ;;
start) start ;;
stop) stop ;;
restart)
    stop
    start
    ;;
status) imap_greeting >/dev/null 2>&1 ;;
*) die "unknown action '${ACTION}'; expected setup, start, stop, restart, status, freeze, thaw or password" ;;
esac
