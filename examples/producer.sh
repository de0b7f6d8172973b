#!/usr/bin/env bash
# Enqueue without the CLI, from any shell script: write the job into tmp/, then mv it into
# pending/ (one atomic rename, so a worker never sees half a file).
# usage: examples/producer.sh HOME COMMAND...
set -euo pipefail
home=${1:?usage: producer.sh HOME COMMAND...}; shift
id="sh-$(date +%Y%m%d-%H%M%S)-$$-$RANDOM"
json=$(printf '%s' "$*" | python3 -c 'import json,sys; print(json.dumps({"id": sys.argv[1], "command": sys.stdin.read(), "meta": {"producer": "producer.sh"}}))' "$id")
printf '%s\n' "$json" > "$home/tmp/$id.json"
mv "$home/tmp/$id.json" "$home/pending/$id.json"
echo "$id"
