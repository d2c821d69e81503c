#!/usr/bin/env bash
# Installs followup and its systemd unit, or removes them. Running it again is safe: binaries,
# units, completions and the manual are replaced; your config, records, password and state are
# never overwritten, and never removed without --purge (which removes the state and queue, not
# your config and records).
#
#   deploy/install.sh [--user|--system] [--prefix P] [--destdir D] [--binary PATH]
#   deploy/install.sh [--user|--system] --uninstall [--purge]
#
#   --user      for you alone: ~/.local/bin, ~/.config/followup, the queue in
#               ~/.local/state/followup/queue, a `systemctl --user` unit (default unless root)
#   --system    a service under its own `followup` account: /usr/local/bin, /etc/followup,
#               /var/lib/followup (default as root)
#   --prefix    where the binary, completions and manual go [/usr/local; ~/.local with --user]
#   --destdir   stage everything under this directory (for packaging); no account, no
#               systemctl, no doctor
#   --binary    install this binary instead of building one with `cargo build --release --locked`
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=""
PREFIX=""
DESTDIR=""
BINARY=""
UNINSTALL=0
PURGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --user) MODE=user ;;
        --system) MODE=system ;;
        --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
        --prefix=*) PREFIX="${1#*=}" ;;
        --destdir) DESTDIR="${2:?--destdir needs a directory}"; shift ;;
        --destdir=*) DESTDIR="${1#*=}" ;;
        --binary) BINARY="${2:?--binary needs a path}"; shift ;;
        --binary=*) BINARY="${1#*=}" ;;
        --uninstall) UNINSTALL=1 ;;
        --purge) PURGE=1 ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown option $1" >&2; usage ;;
    esac
    shift
done
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
    echo "install.sh: --purge goes with --uninstall" >&2
    exit 2
fi
if [ -z "$MODE" ]; then
    if [ "$(id -u)" = 0 ]; then MODE=system; else MODE=user; fi
fi
DESTDIR="${DESTDIR%/}"
if [ -n "$DESTDIR" ]; then
    mkdir -p "$DESTDIR"
    DESTDIR="$(cd "$DESTDIR" && pwd)"
fi

if [ "$MODE" = system ]; then
    [ -n "$DESTDIR" ] || [ "$(id -u)" = 0 ] || {
        echo "install.sh: --system needs root (sudo deploy/install.sh --system)" >&2
        exit 1
    }
    PREFIX="${PREFIX:-/usr/local}"
    CONFIG_DIR=/etc/followup
    STATE_DIR=/var/lib/followup
    UNIT_DIR=/etc/systemd/system
    UNIT_SOURCE="$ROOT/deploy/followup.service"
    SYSTEMCTL=(systemctl)
else
    : "${HOME:?install.sh --user needs \$HOME}"
    PREFIX="${PREFIX:-$HOME/.local}"
    CONFIG_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/followup"
    STATE_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/followup"
    UNIT_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
    UNIT_SOURCE="$ROOT/deploy/followup-user.service"
    SYSTEMCTL=(systemctl --user)
fi
BIN="$PREFIX/bin/followup"
SHARE="$PREFIX/share"
FILES=(
    "$BIN"
    "$UNIT_DIR/followup.service"
    "$SHARE/bash-completion/completions/followup"
    "$SHARE/zsh/site-functions/_followup"
    "$SHARE/fish/vendor_completions.d/followup.fish"
    "$SHARE/man/man1/followup.1"
    "$SHARE/doc/followup/README.md"
    "$SHARE/doc/followup/operations.md"
    "$SHARE/doc/followup/configuration.md"
)

say() { printf '%s\n' "$*"; }

# Whether systemctl can talk to the manager this install is for.
manager_reachable() {
    [ -z "$DESTDIR" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ] &&
        "${SYSTEMCTL[@]}" show-environment >/dev/null 2>&1
}

uninstall() {
    if manager_reachable; then
        "${SYSTEMCTL[@]}" disable --now followup.service 2>/dev/null || true
    fi
    for f in "${FILES[@]}"; do
        if [ -e "$DESTDIR$f" ]; then
            rm -f "$DESTDIR$f"
            say "removed $DESTDIR$f"
        fi
    done
    rmdir "$DESTDIR$SHARE/doc/followup" 2>/dev/null || true
    if manager_reachable; then "${SYSTEMCTL[@]}" daemon-reload; fi
    if [ "$PURGE" = 1 ]; then
        rm -rf "$DESTDIR$STATE_DIR"
        say "removed the state and the approval queue: $DESTDIR$STATE_DIR"
        if [ "$MODE" = system ] && [ -z "$DESTDIR" ] && getent passwd followup >/dev/null; then
            userdel followup && say "removed the followup account"
        fi
    else
        say "kept the state and the approval queue in $DESTDIR$STATE_DIR (--purge removes them)"
    fi
    say "kept your config, records and password in $DESTDIR$CONFIG_DIR (remove them yourself)"
}

# The binary to install: --binary, else a release build of this checkout.
binary() {
    if [ -n "$BINARY" ]; then
        [ -x "$BINARY" ] || { echo "install.sh: $BINARY is not an executable" >&2; exit 1; }
        printf '%s' "$BINARY"
        return
    fi
    command -v cargo >/dev/null || {
        echo "install.sh: no cargo to build with; install Rust (https://rustup.rs) or pass --binary PATH" >&2
        exit 1
    }
    (cd "$ROOT" && cargo build --release --locked >&2)
    printf '%s' "$ROOT/target/release/followup"
}

install_files() {
    local built
    built="$(binary)"
    install -D -m 0755 "$built" "$DESTDIR$BIN"
    say "installed $DESTDIR$BIN ($("$DESTDIR$BIN" --version))"

    if [ "$MODE" = system ] && [ -z "$DESTDIR" ] && ! getent passwd followup >/dev/null; then
        useradd --system --home-dir "$STATE_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "followup daemon" followup
        say "created the followup account"
    fi

    # The state and the approval queue: private to the account the daemon runs as.
    install -d -m 0700 "$DESTDIR$STATE_DIR" "$DESTDIR$STATE_DIR/queue"
    for folder in pending approved rejected sent; do
        install -d -m 0700 "$DESTDIR$STATE_DIR/queue/$folder"
    done

    # A starter config, example record and templates, only where there is no config yet.
    install -d -m 0755 "$DESTDIR$CONFIG_DIR"
    if [ -e "$DESTDIR$CONFIG_DIR/followup.yaml" ]; then
        say "kept the existing $DESTDIR$CONFIG_DIR/followup.yaml"
    else
        STATE_DIRECTORY="$DESTDIR$STATE_DIR" "$DESTDIR$BIN" init "$DESTDIR$CONFIG_DIR" >/dev/null
        say "wrote a starter config in $DESTDIR$CONFIG_DIR (edit it: your name, address, SMTP)"
        if [ "$MODE" = system ]; then
            # The daemon's account reads the config, records and templates; nobody else does.
            local group=followup
            [ -z "$DESTDIR" ] || group=root
            chown -R "root:$group" "$DESTDIR$CONFIG_DIR"
            chmod -R g+rX "$DESTDIR$CONFIG_DIR"
        fi
    fi
    if [ "$MODE" = system ] && [ -z "$DESTDIR" ]; then
        chown -R followup:followup "$STATE_DIR"
    fi
    # The unit hands this file to the daemon as a credential; it must exist, readable by its
    # owner only (root for the system service).
    if [ ! -e "$DESTDIR$CONFIG_DIR/smtp-password" ]; then
        install -m 0600 /dev/null "$DESTDIR$CONFIG_DIR/smtp-password"
    fi

    local completions
    completions="$(mktemp -d)"
    trap 'rm -rf "$completions"' RETURN
    for shell in bash zsh fish; do
        "$DESTDIR$BIN" completions "$shell" >"$completions/$shell"
    done
    install -D -m 0644 "$completions/bash" "$DESTDIR$SHARE/bash-completion/completions/followup"
    install -D -m 0644 "$completions/zsh" "$DESTDIR$SHARE/zsh/site-functions/_followup"
    install -D -m 0644 "$completions/fish" "$DESTDIR$SHARE/fish/vendor_completions.d/followup.fish"
    "$DESTDIR$BIN" man >"$completions/followup.1"
    install -D -m 0644 "$completions/followup.1" "$DESTDIR$SHARE/man/man1/followup.1"
    install -D -m 0644 "$ROOT/README.md" "$DESTDIR$SHARE/doc/followup/README.md"
    install -D -m 0644 "$ROOT/docs/operations.md" "$DESTDIR$SHARE/doc/followup/operations.md"
    install -D -m 0644 "$ROOT/docs/configuration.md" "$DESTDIR$SHARE/doc/followup/configuration.md"
    say "installed completions (bash, zsh, fish), the manual (man followup) and the docs"

    # The unit, pointing at the binary just installed.
    install -d -m 0755 "$DESTDIR$UNIT_DIR"
    sed -e "s#^ExecStart=/usr/bin/followup #ExecStart=$BIN #" \
        -e "s#file:///usr/share/doc/followup/#file://$SHARE/doc/followup/#" \
        "$UNIT_SOURCE" >"$DESTDIR$UNIT_DIR/followup.service.new"
    chmod 0644 "$DESTDIR$UNIT_DIR/followup.service.new"
    mv "$DESTDIR$UNIT_DIR/followup.service.new" "$DESTDIR$UNIT_DIR/followup.service"
    say "installed $DESTDIR$UNIT_DIR/followup.service"
    if manager_reachable; then
        "${SYSTEMCTL[@]}" daemon-reload
        "${SYSTEMCTL[@]}" enable followup.service
        # An upgrade: a running daemon restarts on the new binary.
        "${SYSTEMCTL[@]}" try-restart followup.service
    elif [ -z "$DESTDIR" ]; then
        say "(no systemd manager to talk to: enable the unit yourself once there is one)"
    fi
}

next_steps() {
    local sudo="" user_flag="" config="$CONFIG_DIR/followup.yaml"
    if [ "$MODE" = system ]; then sudo="sudo "; else user_flag="--user "; fi
    if [ -z "$DESTDIR" ]; then
        say ""
        say "==> followup doctor"
        if [ "$MODE" = system ]; then
            runuser -u followup -- "$BIN" --config "$config" doctor || true
        else
            "$BIN" --config "$config" doctor || true
        fi
    fi
    say ""
    say "Next:"
    say "  1. Edit $config: your name and address, time zone, the SMTP server (docs/configuration.md)."
    say "  2. Put the SMTP password in $CONFIG_DIR/smtp-password (${sudo}sh -c 'cat > $CONFIG_DIR/smtp-password', then Ctrl-D)."
    say "  3. Add your interviews to $CONFIG_DIR/interviews/ and check: ${sudo}followup --config $config validate"
    say "  4. Start it: ${sudo}systemctl ${user_flag}start followup; then ${sudo}systemctl ${user_flag}status followup"
    if [ "$MODE" = user ]; then
        say "  5. Keep it running when you log out: sudo loginctl enable-linger $(id -un)"
        say "Approve a message by moving its file from $STATE_DIR/queue/pending/ to $STATE_DIR/queue/approved/."
    else
        say "Approve with: sudo -u followup followup --config $config queue approve ID"
    fi
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
else
    install_files
    next_steps
fi
