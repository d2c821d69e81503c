#!/usr/bin/env bash
# The packaging checks of .ci/run: the units verify and stay hardened, deploy/install.sh lays out
# the right tree (and removes it again), and the Debian package builds, lists the right files,
# installs with dpkg and runs. Runs as root on Debian 12; leaves the machine as it found it
# (the package is purged at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The system unit's exposure (systemd-analyze's 0-10 scale) must stay at or below this.
SYSTEM_UNIT_THRESHOLD=1.5
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

part() {
    local title="$1" started=$SECONDS
    shift
    printf -- '--> %s\n' "$title"
    "$@"
    printf -- '--> %ss: %s\n' "$((SECONDS - started))" "$title"
}

fail() {
    echo "packaging: $*" >&2
    exit 1
}

# `path mode` for every file and directory under a root, sorted.
tree_of() { (cd "$1" && find . -mindepth 1 -printf '%P %m\n' | sort); }

expect_mode() {
    local path="$1" mode="$2"
    [ -e "$path" ] || fail "missing: $path"
    local found
    found="$(stat -c %a "$path")"
    [ "$found" = "$mode" ] || fail "$path has mode $found, expected $mode"
}

release_build() { cargo build --release --locked; }

install_system_tree() {
    local d="$WORK/system"
    deploy/install.sh --system --destdir "$d" --binary target/release/followup
    for f in usr/local/bin/followup; do expect_mode "$d/$f" 755; done
    for f in etc/systemd/system/followup.service \
        usr/local/share/bash-completion/completions/followup \
        usr/local/share/zsh/site-functions/_followup \
        usr/local/share/fish/vendor_completions.d/followup.fish \
        usr/local/share/man/man1/followup.1 \
        usr/local/share/doc/followup/README.md \
        usr/local/share/doc/followup/operations.md \
        usr/local/share/doc/followup/configuration.md; do
        expect_mode "$d/$f" 644
    done
    for f in var/lib/followup var/lib/followup/queue var/lib/followup/queue/pending \
        var/lib/followup/queue/approved var/lib/followup/queue/rejected \
        var/lib/followup/queue/sent; do
        expect_mode "$d/$f" 700
    done
    expect_mode "$d/etc/followup/smtp-password" 600
    [ -f "$d/etc/followup/followup.yaml" ] || fail "no starter config"
    grep -qx 'ExecStart=/usr/local/bin/followup --config %E/followup/followup.yaml run' \
        "$d/etc/systemd/system/followup.service" || fail "the unit does not run the installed binary"
    grep -qx 'Type=notify' "$d/etc/systemd/system/followup.service" || fail "the unit is not Type=notify"
    grep -q 'complete -F _followup' "$d/usr/local/share/bash-completion/completions/followup" ||
        fail "no bash completion"
    grep -q '^\.TH followup 1' "$d/usr/local/share/man/man1/followup.1" || fail "no man page"
    man -l "$d/usr/local/share/man/man1/followup.1" >/dev/null 2>&1 || true
    "$d/usr/local/bin/followup" --version | grep -Eq '^followup [0-9.]+ \(git [0-9a-f]{12}, built [0-9]{4}-[0-9]{2}-[0-9]{2}\)$' ||
        fail "--version does not name the revision and the build date"

    # Idempotent: a second run changes nothing, and keeps an edited config.
    echo "# edited" >>"$d/etc/followup/followup.yaml"
    local before
    before="$(tree_of "$d")"
    deploy/install.sh --system --destdir "$d" --binary target/release/followup >/dev/null
    [ "$(tree_of "$d")" = "$before" ] || fail "a second install changed the tree"
    tail -1 "$d/etc/followup/followup.yaml" | grep -qx '# edited' || fail "the config was overwritten"

    # Uninstall keeps the state, the queue and the config; --purge removes the state only.
    deploy/install.sh --system --destdir "$d" --uninstall >/dev/null
    [ ! -e "$d/usr/local/bin/followup" ] || fail "uninstall left the binary"
    [ ! -e "$d/etc/systemd/system/followup.service" ] || fail "uninstall left the unit"
    [ -d "$d/var/lib/followup/queue/pending" ] || fail "uninstall removed the queue"
    deploy/install.sh --system --destdir "$d" --uninstall --purge >/dev/null
    [ ! -e "$d/var/lib/followup" ] || fail "--purge left the state"
    [ -f "$d/etc/followup/followup.yaml" ] || fail "--purge removed the config"
}

install_user_tree() {
    local d="$WORK/user" home=/home/sam
    HOME="$home" XDG_CONFIG_HOME="" XDG_STATE_HOME="" \
        deploy/install.sh --user --destdir "$d" --binary target/release/followup >/dev/null
    expect_mode "$d$home/.local/bin/followup" 755
    expect_mode "$d$home/.config/systemd/user/followup.service" 644
    expect_mode "$d$home/.local/state/followup/queue/pending" 700
    expect_mode "$d$home/.config/followup/smtp-password" 600
    expect_mode "$d$home/.local/share/man/man1/followup.1" 644
    grep -qx "ExecStart=$home/.local/bin/followup --config %E/followup/followup.yaml run" \
        "$d$home/.config/systemd/user/followup.service" || fail "the user unit does not run the installed binary"
    grep -qx 'WantedBy=default.target' "$d$home/.config/systemd/user/followup.service" ||
        fail "the user unit is not wanted by default.target"
}

cargo_deb() {
    if ! cargo deb --version >/dev/null 2>&1; then
        cargo install cargo-deb --locked
    fi
}

build_deb() {
    rm -rf target/debian
    deploy/deb.sh
    DEB="$(ls target/debian/followup_*.deb)"
    dpkg-deb -c "$DEB" | awk '{print $1, $6}' | sed 's#^\(.\{10\}\) \./#\1 /#' | sort -k2 >"$WORK/deb.list"
    cat "$WORK/deb.list"
    local expected=(
        "-rwxr-xr-x /usr/bin/followup"
        "-rw-r--r-- /usr/lib/systemd/system/followup.service"
        "-rw-r--r-- /usr/lib/systemd/user/followup.service"
        "-rw-r--r-- /usr/lib/sysusers.d/followup.conf"
        "-rw-r--r-- /usr/share/bash-completion/completions/followup"
        "-rw-r--r-- /usr/share/zsh/vendor-completions/_followup"
        "-rw-r--r-- /usr/share/fish/vendor_completions.d/followup.fish"
        "-rw-r--r-- /usr/share/man/man1/followup.1.gz"
        "-rw-r--r-- /usr/share/doc/followup/README.md"
        "-rw-r--r-- /usr/share/doc/followup/operations.md"
        "-rw-r--r-- /usr/share/doc/followup/configuration.md"
        "-rw-r--r-- /usr/share/doc/followup/examples/followup.yaml"
    )
    for entry in "${expected[@]}"; do
        grep -qxF -- "$entry" "$WORK/deb.list" || fail "the package lacks $entry"
    done
    # The unit in the package is the shipped one, running /usr/bin/followup.
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/lib/systemd/system/followup.service |
        grep -qx 'ExecStart=/usr/bin/followup --config %E/followup/followup.yaml run' ||
        fail "the packaged unit does not run /usr/bin/followup"
}

# Marks the /etc/followup this script's package wrote, so a rerun may remove it and a real
# installation is never touched.
MARK=/etc/followup/.written-by-ci-packaging

install_deb() {
    if [ -e /etc/followup ] && [ ! -e "$MARK" ]; then
        fail "/etc/followup exists and was not written by this script (a real installation?); not installing the package over it"
    fi
    dpkg --purge followup >/dev/null 2>&1 || true
    rm -rf /etc/followup
    dpkg -i "$DEB"
    touch "$MARK"
    /usr/bin/followup --version
    getent passwd followup >/dev/null || fail "the package created no followup account"
    [ -L /etc/systemd/system/multi-user.target.wants/followup.service ] ||
        fail "the package did not enable the unit"
    [ -f /etc/followup/followup.yaml ] || fail "the package wrote no starter config"
    expect_mode /var/lib/followup 700
    [ "$(stat -c %U /var/lib/followup)" = followup ] || fail "/var/lib/followup is not the account's"
    # The starter has a username and the credential file is still empty: validate says so, and
    # how to check the config as the service sees it. With the password written as the postinst
    # says, the config is valid the way the unit hands it over.
    local refused
    if refused="$(runuser -u followup -- /usr/bin/followup --config /etc/followup/followup.yaml validate 2>&1)"; then
        fail "validate passed a starter config with no SMTP password"
    fi
    grep -qF 'CREDENTIALS_DIRECTORY=/etc/followup' <<<"$refused" ||
        fail "validate did not say how to check the config as the service sees it: $refused"
    printf 'ci-password\n' >/etc/followup/smtp-password
    CREDENTIALS_DIRECTORY=/etc/followup /usr/bin/followup --config /etc/followup/followup.yaml validate
}

# With the binary at /usr/bin/followup, as the units name it.
verify_units() {
    systemd-analyze verify deploy/followup.service deploy/followup-user.service
    local score
    score="$(systemd-analyze security --offline=true --no-pager deploy/followup-user.service | tail -1)"
    echo "user unit: $score"
    systemd-analyze security --offline=true --no-pager --threshold="$(threshold)" \
        deploy/followup.service | tail -1
}

# systemd-analyze counts exposure in tenths: 1.5 is 15.
threshold() { awk -v t="$SYSTEM_UNIT_THRESHOLD" 'BEGIN { printf "%d", t * 10 }'; }

purge_deb() {
    dpkg --purge followup
    [ ! -e /usr/bin/followup ] || fail "purging left /usr/bin/followup"
    rm -rf /etc/followup
    userdel followup 2>/dev/null || true
}

part "cargo build --release --locked" release_build
part "install.sh --system --destdir: the tree, twice, then uninstalled" install_system_tree
part "install.sh --user --destdir: the tree" install_user_tree
part "cargo install cargo-deb --locked" cargo_deb
part "deploy/deb.sh and dpkg-deb -c" build_deb
part "dpkg -i and /usr/bin/followup --version" install_deb
part "systemd-analyze verify and security (threshold $SYSTEM_UNIT_THRESHOLD)" verify_units
part "dpkg --purge" purge_deb
