#!/usr/bin/env bash
# Scores one message of each kind (every step, the notices, the digest) with SpamAssassin from
# Debian's package: each must score 0.0 or lower on its own content.
#
# The messages are the ones the message suite (tests/it/messages.rs) received over SMTP from the
# real daemon code, written to a directory by FOLLOWUP_MESSAGES_DIR. Scoring uses local tests only
# (`spamassassin -L -t`: no DNS, no network) and drops any Received header first, so ALL_TRUSTED
# (a bonus for mail that only crossed trusted relays) cannot hide what the content rules say.
#
# Usage: .ci/spamassassin.sh [DIR]   (DIR keeps the messages and scores.txt; default: a temp dir)
# Needs root to install SpamAssassin when it is missing (apt-get).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DIR="${1:-$(mktemp -d)}"
mkdir -p "$DIR"

say() { printf 'spamassassin: %s\n' "$*"; }

if ! command -v spamassassin >/dev/null 2>&1; then
    say "installing spamassassin"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends spamassassin
fi
say "$(spamassassin --version | head -1)"

rm -f "$DIR"/*.eml "$DIR"/scores.txt
say "writing the messages to $DIR"
FOLLOWUP_MESSAGES_DIR="$DIR" cargo test --locked --test it \
    messages::every_message_meets_the_standards_as_it_goes_over_smtp -- --exact --quiet

shopt -s nullglob
messages=("$DIR"/*.eml)
if [ "${#messages[@]}" -lt 10 ]; then
    say "expected at least 10 kinds of message in $DIR, found ${#messages[@]}"
    exit 1
fi

# The header section without Received headers (and their continuation lines), then the body.
without_received() {
    awk 'BEGIN { head = 1; skip = 0 }
         head && /^\r?$/ { head = 0 }
         head && /^[Rr]eceived:/ { skip = 1; next }
         head && skip && /^[ \t]/ { next }
         { skip = 0; print }' "$1"
}

failed=0
for message in "${messages[@]}"; do
    kind="$(basename "$message" .eml)"
    # No Bayes: a score must not depend on what an earlier run taught this machine.
    report="$(without_received "$message" |
        spamassassin -L -t --cf='use_bayes 0' --cf='bayes_auto_learn 0' 2>/dev/null)"
    status="$(printf '%s\n' "$report" | awk '/^X-Spam-Status:/ { s = $0; getline n
              while (n ~ /^[ \t]/) { sub(/^[ \t]+/, " ", n); s = s n; getline n } print s; exit }')"
    score="$(printf '%s\n' "$status" | sed -n 's/.*score=\(-\{0,1\}[0-9.]*\).*/\1/p')"
    tests="$(printf '%s\n' "$status" | sed -n 's/.*tests=\(.*\)/\1/p' |
        sed 's/ autolearn=.*//; s/ version=.*//' | tr -d ' ')"
    if [ -z "$score" ]; then
        say "$kind: no score in SpamAssassin's report"
        failed=1
        continue
    fi
    line="$(printf '%-24s %6s  %s' "$kind" "$score" "$tests")"
    printf '%s\n' "$line" | tee -a "$DIR/scores.txt"
    if ! awk -v s="$score" 'BEGIN { exit !(s + 0 <= 0) }'; then
        say "$kind scores $score, above 0.0:"
        printf '%s\n' "$report" | sed -n '/^Content analysis details/,/^$/p'
        failed=1
    fi
done

if [ "$failed" -ne 0 ]; then
    say "some messages score above 0.0 (see above); the messages are in $DIR"
    exit 1
fi
say "all ${#messages[@]} messages score 0.0 or lower"
