#!/usr/bin/env bash
# followup against what a user would pick instead, on this machine, in one run:
#
#   1. N personalised messages to Postfix's smtp-sink on a loopback port, sent by
#      `followup run --once` (send mode, N interviews all due now), by Python's mailmerge (the
#      equivalent CSV and template), and by smtp-source over one session (the floor): wall, CPU
#      and peak memory of each, medians of RUNS runs, and the ratios. Then followup with 2N, for
#      how its CPU grows.
#   2. Start to the first round done with N records (`run --once`, nothing due).
#   3. The daemon idle for IDLE minutes with the N records and nothing due: CPU seconds, wake-ups
#      per minute (context switches summed over all its threads, /proc/PID/task/*/status), and
#      split by thread name: followup's own (the `followup` runtime thread, the file watcher),
#      tokio-cron-scheduler's `cron-ticker`, sled's I/O pool and flusher; RSS.
#   4. `validate` and `plan --json` over SCALE interviews, one to a file and in files of 100:
#      wall and peak memory, medians of RUNS runs.
#
# Runs as root on Debian 12: installs what it needs from Debian's packages (postfix for
# smtp-sink and smtp-source, time, python3-venv) and mailmerge from PyPI into a venv of its own.
# Postfix itself is never started by this script: when it installs the package it preseeds
# "No configuration" and forbids services from starting, so nothing listens on port 25 and
# nothing can be relayed; smtp-sink accepts and discards, on 127.0.0.1 only.
#
# Usage: bench/compare.sh [-n MESSAGES] [-r RUNS] [-i IDLE_MINUTES] [-s SCALE] [-o OUT_DIR]
#                         [-b BINARY] [-I] [-S]
#   -I: the idle measure only (3.), after one `run --once` that sends the N thank-yous.
#   -S: the scale measure only (4.); each run's figures are listed, with the best beside the
#       median (on a machine shared with other work, the best is the least disturbed run).
#   defaults: -n 1000 -r 3 -i 10 -s 100000 -o target/bench-compare; the binary is built with
#   `cargo build --release --locked` unless -b names one. The table is printed and written to
#   OUT_DIR/results.md; every run's own output is kept in OUT_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MESSAGES=1000
RUNS=3
IDLE_MINUTES=10
SCALE=100000
OUT="$ROOT/target/bench-compare"
BIN=""
IDLE_ONLY=""
SCALE_ONLY=""
PORT="${FOLLOWUP_BENCH_PORT:-25825}"
MAILMERGE_VERSION=2.3.0

while getopts "n:r:i:s:o:b:ISh" opt; do
    case "$opt" in
        n) MESSAGES="$OPTARG" ;;
        r) RUNS="$OPTARG" ;;
        i) IDLE_MINUTES="$OPTARG" ;;
        s) SCALE="$OPTARG" ;;
        o) OUT="$OPTARG" ;;
        b) BIN="$OPTARG" ;;
        I) IDLE_ONLY=1 ;;
        S) SCALE_ONLY=1 ;;
        *) sed -n '2,29p' "$0"; exit 2 ;;
    esac
done

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------- what it needs
install_tools() {
    local missing=()
    command -v smtp-sink >/dev/null 2>&1 || missing+=(postfix)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
    if [ "${#missing[@]}" -gt 0 ]; then
        [ "$(id -u)" = 0 ] || die "needs ${missing[*]}: run as root, or install them"
        say "installing ${missing[*]} from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        # The postfix package is an MTA: leave it unconfigured and keep every service from
        # starting while it installs. smtp-sink and smtp-source need no running Postfix.
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        local policy=/usr/sbin/policy-rc.d created_policy=""
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod 755 "$policy"
            created_policy=1
        fi
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
        [ -n "$created_policy" ] && rm -f "$policy"
    fi
    local venv="$OUT/venv"
    if [ -z "$IDLE_ONLY$SCALE_ONLY" ] && [ ! -x "$venv/bin/mailmerge" ]; then
        say "installing mailmerge $MAILMERGE_VERSION from PyPI into $venv"
        /usr/bin/python3 -m venv "$venv"
        "$venv/bin/pip" install -q "mailmerge==$MAILMERGE_VERSION"
    fi
    MAILMERGE="$venv/bin/mailmerge"
    if [ -z "$BIN" ]; then
        command -v cargo >/dev/null 2>&1 ||
            die "cargo is not on PATH: install Rust (rustup), or give a built binary with -b"
        say "cargo build --release --locked"
        (cd "$ROOT" && cargo build --release --locked --quiet)
        BIN="$ROOT/target/release/followup"
    fi
    [ -x "$BIN" ] || die "$BIN is not an executable"
}

# ---------------------------------------------------------------------------- measuring
# Runs a command under GNU time; appends "wall user sys maxrss_kb" to the file $1.
measure() {
    local into="$1" log="$2"
    shift 2
    /usr/bin/time -o "$into.last" -f '%e %U %S %M' "$@" >"$log" 2>&1 ||
        { cat "$log" >&2; die "failed: $*"; }
    cat "$into.last" >>"$into"
}

# The median of column $2 (1-based) of file $1; column 0 is user+sys.
median() {
    awk -v c="$2" '{ v = (c == 0) ? $2 + $3 : $c; print v }' "$1" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

sink_pid=""
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
}
trap cleanup EXIT

start_sink() {
    say "smtp-sink on 127.0.0.1:$PORT"
    # -u: it refuses to run as root otherwise; a backlog of 1000 connections (mailmerge opens
    # one a message).
    smtp-sink -u nobody "127.0.0.1:$PORT" 1000 &
    sink_pid=$!
    local deadline=$((SECONDS + 10))
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "smtp-sink did not start on port $PORT"
        sleep 0.1
    done
}

# A workspace of $2 interviews in $1, $3 to a file.
workspace() {
    rm -rf "$1"
    /usr/bin/python3 "$ROOT/bench/workspace.py" "$1" "$2" "$PORT" --per-file "${3:-1}"
}

# How many sends the state in workspace $1 holds as `sent`.
sent_in() {
    "$BIN" --config "$1/followup.yaml" state export |
        /usr/bin/python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin)["sends"] if s["state"] == "sent"))'
}

# Sends $2 messages with followup, RUNS times, each from a fresh state; results in $1.
followup_batch() {
    local results="$1" count="$2" ws="$OUT/ws-$2"
    : >"$results"
    for run in $(seq "$RUNS"); do
        workspace "$ws" "$count"
        measure "$results" "$OUT/followup-$count-$run.log" \
            "$BIN" --config "$ws/followup.yaml" --log-format text run --once
        local sent
        sent="$(sent_in "$ws")"
        [ "$sent" = "$count" ] || die "followup sent $sent of $count (see $OUT/followup-$count-$run.log)"
    done
}

# The CPU seconds (user+sys) of process $1 so far.
cpu_of() {
    local tick
    tick="$(getconf CLK_TCK)"
    awk -v t="$tick" '{ sub(/^.*\) /, ""); split($0, f, " "); printf "%.2f\n", (f[12] + f[13]) / t }' "/proc/$1/stat"
}

# Context switches (voluntary and not) of every thread of process $1, summed: each is a wake-up.
switches_of() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# Context switches and CPU clock ticks of each thread, by thread name: "NAME SWITCHES TICKS"
# lines, names with spaces joined by `_`, threads of one name summed.
switches_by_thread() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "$(tr ' ' '_' <"$t/comm" 2>/dev/null)" \
            "$(awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }' "$t/status" 2>/dev/null)" \
            "$(awk '{ sub(/^.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "$t/stat" 2>/dev/null)"
    done | awk '{ n[$1] += $2; c[$1] += $3 } END { for (k in n) print k, n[k], c[k] }' | sort
}

# Per thread name between two switches_by_thread snapshots, over MINUTES: wake-ups a minute and
# CPU seconds an hour.
per_thread_rate() {
    awk -v m="$3" -v t="$(getconf CLK_TCK)" 'NR == FNR { a[$1] = $2; b[$1] = $3; next }
        { printf "%s: %.1f wake-ups a minute, %.2f s CPU an hour\n", $1, ($2 - a[$1]) / m, ($3 - b[$1]) / t * 60 / m }' "$1" "$2"
}

field_of() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# `validate` and `plan --json` over SCALE interviews, $1 to a file, RUNS times each; results in
# OUT/validate-$1.txt and OUT/plan-$1.txt.
at_scale() {
    local per_file="$1" ws="$OUT/ws-scale-$1"
    workspace "$ws" "$SCALE" "$per_file"
    : >"$OUT/validate-$per_file.txt"
    : >"$OUT/plan-$per_file.txt"
    for run in $(seq "$RUNS"); do
        measure "$OUT/validate-$per_file.txt" "$OUT/validate-$per_file-$run.log" \
            "$BIN" --config "$ws/followup.yaml" validate
        measure "$OUT/plan-$per_file.txt" "$OUT/plan-$per_file-$run.log" \
            sh -c '"$1" --config "$2" plan --json >/dev/null' plan "$BIN" "$ws/followup.yaml"
    done
    rm -rf "$ws"
}

# The daemon idle in workspace $1 for IDLE_MINUTES: sets cpu0 cpu1 sw0 sw1 rss hwm threads and
# writes $OUT/idle-threads.txt (wake-ups a minute by thread name).
idle_measure() {
    local ws="$1"
    say "idle: the daemon with $MESSAGES records and nothing due, for $IDLE_MINUTES min"
    "$BIN" --config "$ws/followup.yaml" --log-format text run >"$OUT/idle.log" 2>&1 &
    daemon_pid=$!
    local deadline=$((SECONDS + 30))
    until grep -q "followup is running" "$OUT/idle.log"; do
        kill -0 "$daemon_pid" 2>/dev/null || { cat "$OUT/idle.log" >&2; die "the daemon stopped"; }
        [ "$SECONDS" -lt "$deadline" ] || die "the daemon did not start"
        sleep 0.2
    done
    sleep 5 # past the first round
    cpu0="$(cpu_of "$daemon_pid")"
    sw0="$(switches_of "$daemon_pid")"
    switches_by_thread "$daemon_pid" >"$OUT/idle-threads-0.txt"
    sleep "$((IDLE_MINUTES * 60))"
    cpu1="$(cpu_of "$daemon_pid")"
    sw1="$(switches_of "$daemon_pid")"
    switches_by_thread "$daemon_pid" >"$OUT/idle-threads-1.txt"
    per_thread_rate "$OUT/idle-threads-0.txt" "$OUT/idle-threads-1.txt" "$IDLE_MINUTES" \
        >"$OUT/idle-threads.txt"
    rss="$(field_of "$daemon_pid" VmRSS)"
    hwm="$(field_of "$daemon_pid" VmHWM)"
    threads="$(ls "/proc/$daemon_pid/task" | wc -l)"
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || true
    daemon_pid=""
}

# -I: one `run --once` that sends the N thank-yous, then the idle measure.
idle_only() {
    start_sink
    local ws="$OUT/ws-$MESSAGES"
    workspace "$ws" "$MESSAGES"
    measure "$OUT/once.txt" "$OUT/once.log" "$BIN" --config "$ws/followup.yaml" --log-format text run --once
    local cpu0 sw0 cpu1 sw1 rss hwm threads
    idle_measure "$ws"
    {
        echo "followup idle: $("$BIN" --version), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
        idle_line
        echo
        echo "wake-ups a minute by thread:"
        sed 's/^/    /' "$OUT/idle-threads.txt"
    } | tee "$OUT/results.md"
}

# The smallest of column $2 (1-based) of file $1.
best() { awk -v c="$2" '{ print $c }' "$1" | sort -g | head -n 1; }

# -S: `validate` and `plan --json` over SCALE interviews only.
scale_only() {
    say "validate and plan --json over $SCALE interviews, one to a file and 100 to a file, $RUNS runs"
    at_scale 1
    at_scale 100
    {
        echo "followup at scale: $("$BIN" --version), $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
        echo
        echo "$SCALE interviews, $RUNS runs: wall (s) and peak RSS (KiB), median and best"
        echo
        echo "| | per file | wall median | wall best | RSS median | RSS best | every run (wall user sys KiB) |"
        echo "|---|---|---|---|---|---|---|"
        local what per
        for what in validate plan; do
            for per in 1 100; do
                local f="$OUT/$what-$per.txt"
                echo "| $what | $per | $(median "$f" 1) | $(best "$f" 1) | $(median "$f" 4) |" \
                    "$(best "$f" 4) | $(paste -sd';' "$f") |"
            done
        done
    } | tee "$OUT/results.md"
}

idle_line() {
    echo "idle $IDLE_MINUTES min ($MESSAGES records, nothing due): CPU $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }') s" \
        "($(awk -v a="$cpu0" -v b="$cpu1" -v m="$IDLE_MINUTES" 'BEGIN { printf "%.2f", (b - a) * 60 / m }') s an hour)," \
        "$(awk -v a="$sw0" -v b="$sw1" -v m="$IDLE_MINUTES" 'BEGIN { printf "%.0f", (b - a) / m }') wake-ups a minute," \
        "RSS $rss KiB (peak $hwm), $threads threads"
}

main() {
    mkdir -p "$OUT"
    OUT="$(cd "$OUT" && pwd)"
    install_tools
    local load_before
    load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
    say "$("$BIN" --version); $(nproc) cores; load average $load_before"
    if [ -n "$IDLE_ONLY" ]; then
        idle_only
        return
    fi
    if [ -n "$SCALE_ONLY" ]; then
        scale_only
        return
    fi
    start_sink

    say "followup: $MESSAGES messages, $RUNS runs"
    followup_batch "$OUT/followup.txt" "$MESSAGES"
    say "followup: $((2 * MESSAGES)) messages, $RUNS runs"
    followup_batch "$OUT/followup-2x.txt" "$((2 * MESSAGES))"

    say "mailmerge $MAILMERGE_VERSION: $MESSAGES messages, $RUNS runs"
    local ws="$OUT/ws-$MESSAGES"
    : >"$OUT/mailmerge.txt"
    for run in $(seq "$RUNS"); do
        (cd "$ws/mailmerge" && measure "$OUT/mailmerge.txt" "$OUT/mailmerge-$run.log" \
            "$MAILMERGE" --no-dry-run --no-limit --output-format raw)
        grep -q ">>> message $MESSAGES sent" "$OUT/mailmerge-$run.log" ||
            die "mailmerge did not send $MESSAGES messages (see $OUT/mailmerge-$run.log)"
    done

    # The same size of message as followup's, as smtp-source counts it (without headers).
    local size
    size="$(wc -c <"$ws/mailmerge/mailmerge_template.txt")"
    say "smtp-source: $MESSAGES messages of $size bytes over one session, $RUNS runs"
    : >"$OUT/smtp-source.txt"
    for run in $(seq "$RUNS"); do
        measure "$OUT/smtp-source.txt" "$OUT/smtp-source-$run.log" \
            smtp-source -d -s 1 -m "$MESSAGES" -l "$size" -f sam@example.org \
            -t jane.roe@company.example.com "127.0.0.1:$PORT"
    done

    # The state of the last 1x run holds N sent thank-yous; nothing else is due for days.
    say "start to the first round done: run --once with $MESSAGES records, nothing due, 5 runs"
    : >"$OUT/start.txt"
    for run in 1 2 3 4 5; do
        measure "$OUT/start.txt" "$OUT/start-$run.log" \
            "$BIN" --config "$ws/followup.yaml" --log-format text run --once
    done

    local cpu0 sw0 cpu1 sw1 rss hwm threads
    idle_measure "$ws"
    say "validate and plan --json over $SCALE interviews, one to a file and 100 to a file, $RUNS runs"
    at_scale 1
    at_scale 100
    local load_after
    load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

    local f_wall f_cpu f_rss m_wall m_cpu m_rss s_wall s_cpu s_rss f2_cpu f2_wall
    f_wall="$(median "$OUT/followup.txt" 1)"
    f_cpu="$(median "$OUT/followup.txt" 0)"
    f_rss="$(median "$OUT/followup.txt" 4)"
    f2_wall="$(median "$OUT/followup-2x.txt" 1)"
    f2_cpu="$(median "$OUT/followup-2x.txt" 0)"
    m_wall="$(median "$OUT/mailmerge.txt" 1)"
    m_cpu="$(median "$OUT/mailmerge.txt" 0)"
    m_rss="$(median "$OUT/mailmerge.txt" 4)"
    s_wall="$(median "$OUT/smtp-source.txt" 1)"
    s_cpu="$(median "$OUT/smtp-source.txt" 0)"
    s_rss="$(median "$OUT/smtp-source.txt" 4)"
    local st_wall st_rss idle_cpu per_hour wakes
    st_wall="$(median "$OUT/start.txt" 1)"
    st_rss="$(median "$OUT/start.txt" 4)"
    idle_cpu="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')"
    per_hour="$(awk -v c="$idle_cpu" -v m="$IDLE_MINUTES" 'BEGIN { printf "%.2f", c * 60 / m }')"
    wakes="$(awk -v a="$sw0" -v b="$sw1" -v m="$IDLE_MINUTES" 'BEGIN { printf "%.0f", (b - a) / m }')"

    local v1 v1_rss v100 v100_rss p1 p1_rss p100 p100_rss
    v1="$(median "$OUT/validate-1.txt" 1)"
    v1_rss="$(median "$OUT/validate-1.txt" 4)"
    v100="$(median "$OUT/validate-100.txt" 1)"
    v100_rss="$(median "$OUT/validate-100.txt" 4)"
    p1="$(median "$OUT/plan-1.txt" 1)"
    p1_rss="$(median "$OUT/plan-1.txt" 4)"
    p100="$(median "$OUT/plan-100.txt" 1)"
    p100_rss="$(median "$OUT/plan-100.txt" 4)"

    {
        echo "followup compare: $("$BIN" --version), $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
        echo "load average before: $load_before; after: $load_after"
        echo
        echo "$MESSAGES personalised messages to smtp-sink on loopback, medians of $RUNS:"
        echo
        echo "| | followup | mailmerge $MAILMERGE_VERSION | smtp-source (one session) |"
        echo "|---|---|---|---|"
        echo "| wall (s) | $f_wall | $m_wall | $s_wall |"
        echo "| CPU, user+sys (s) | $f_cpu | $m_cpu | $s_cpu |"
        echo "| peak RSS (KiB) | $f_rss | $m_rss | $s_rss |"
        echo "| followup / it, wall | | $(ratio "$f_wall" "$m_wall") | $(ratio "$f_wall" "$s_wall") |"
        echo "| followup / it, CPU | | $(ratio "$f_cpu" "$m_cpu") | $(ratio "$f_cpu" "$s_cpu") |"
        echo
        echo "followup, $((2 * MESSAGES)) messages: wall $f2_wall s, CPU $f2_cpu s;" \
            "CPU $((2 * MESSAGES)) / $MESSAGES: $(ratio "$f2_cpu" "$f_cpu")"
        echo "start to the first round done ($MESSAGES records, nothing due), median of 5:" \
            "$st_wall s, peak RSS $st_rss KiB"
        echo "idle $IDLE_MINUTES min ($MESSAGES records, nothing due): CPU $idle_cpu s" \
            "($per_hour s an hour), $wakes wake-ups a minute, RSS $rss KiB (peak $hwm), $threads threads"
        echo "wake-ups a minute by thread: $(tr '\n' ' ' <"$OUT/idle-threads.txt")"
        echo
        echo "$SCALE interviews, medians of $RUNS:"
        echo
        echo "| | one to a file | 100 to a file | 100 to a file / one to a file |"
        echo "|---|---|---|---|"
        echo "| validate, wall (s) | $v1 | $v100 | $(ratio "$v100" "$v1") |"
        echo "| validate, peak RSS (KiB) | $v1_rss | $v100_rss | |"
        echo "| plan --json, wall (s) | $p1 | $p100 | $(ratio "$p100" "$p1") |"
        echo "| plan --json, peak RSS (KiB) | $p1_rss | $p100_rss | |"
    } | tee "$OUT/results.md"
}

main "$@"
