#!/usr/bin/env bash
# A walk through queuectl: a job that succeeds, one that retries with backoff into the dead
# letter queue, a DLQ retry, parallel workers, and a restart that loses nothing.
# usage: examples/demo.sh            (uses ./queuectl from the repo; QUEUECTL=/path/to/queuectl to override)
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
q=${QUEUECTL:-$repo/queuectl}
export QUEUECTL_HOME="$(mktemp -d /tmp/queuectl-demo.XXXXXX)/home"
trap '"$q" worker stop --timeout 30s >/dev/null 2>&1 || true; rm -rf "$(dirname "$QUEUECTL_HOME")"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ queuectl'; printf ' %q' "$@"; printf '\n'; "$q" "$@"; }
wait_for() { # wait_for SECONDS STATE ID
  local limit=$((SECONDS + $1))
  until [ -f "$QUEUECTL_HOME/$2/$3.json" ]; do
    [ $SECONDS -lt $limit ] || { echo "demo: $3 did not reach $2 in $1 s" >&2; exit 1; }
    sleep 0.1
  done
}

step "1. A job that succeeds"
run init
run enqueue '{"id":"hello","command":"echo hello from queuectl"}'
run worker start --count 1
wait_for 20 completed hello
run logs hello
run show hello | head -12

step "2. A failing job: retried after 2 s, then 4 s (backoff-base 2), then dead"
run config set backoff-base 2
run enqueue --command "echo trying >&2; exit 3" --id flaky --max-retries 2
wait_for 30 dead flaky
run dlq list
"$q" show flaky | python3 -c '
import json, sys
for a in json.load(sys.stdin)["history"]:
    print("  attempt %d started %s, exit %d -> %s" % (a["attempt"], a["started_at"], a["exit_code"], a["outcome"]))'

step "3. Retry it from the dead letter queue (it fails again: the command has not changed)"
run dlq retry flaky
run status

step "4. Three workers run three 1-second jobs in parallel"
run worker start --count 2
for i in 1 2 3; do run enqueue --command "sleep 1" --id "p$i"; done
start=$SECONDS
for i in 1 2 3; do wait_for 30 completed "p$i"; done
echo "3 jobs of 1 s done in about $((SECONDS - start)) s"
run worker list

step "5. Restart: stop the workers, jobs wait on disk, a new worker finishes them"
run worker stop
run enqueue --command "echo survived the restart" --id after-restart
run status
run worker start --count 1
wait_for 20 completed after-restart
run logs after-restart
run worker stop
echo
echo "demo: done"
