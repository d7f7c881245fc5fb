#!/usr/bin/env bash
# The main job, as far as it exists: start the embedded broker (`tributary broker`) and the agent
# (`tributary-agent`) shipping this host's logs to it, wait until every line present at the start was
# acknowledged, show the first shipped lines with `tributary kafka consume`, print how many records each
# topic holds, and stop everything (agent first, then broker). The collector and `tributary grep` take
# over the reading side as they land.
#
# What is shipped: every readable, non-empty plain-text log in /var/log (and one directory below) to topic
# `logs`; the journal, when this host has one, to topic `journal`; the samples in ../shared/data/loghub when
# no log is readable.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tributary
swift build -c release --product tributary-agent
bindir="$(swift build -c release --show-bin-path)"
bin="$bindir/tributary"
agent="$bindir/tributary-agent"

work="$(mktemp -d)"
broker_pid=""
agent_pid=""
# stop PID NAME: SIGTERM, wait (at most 60 s, then SIGKILL), report a non-zero exit status.
stop() {
  local status=0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "run: $2 still running 60 s after SIGTERM; killing it" >&2
    kill -KILL "$1" 2>/dev/null || true
  fi
  wait "$1" 2>/dev/null || status=$?
  [ "$status" -eq 0 ] || echo "run: $2 exited with status $status" >&2
  return "$status"
}
cleanup() {
  local status=$?
  if [ -n "$agent_pid" ]; then stop "$agent_pid" tributary-agent || status=1; agent_pid=""; fi
  if [ -n "$broker_pid" ]; then stop "$broker_pid" "tributary broker" || status=1; broker_pid=""; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# This host's plain-text logs: readable, non-empty, not binary (grep -I), not compressed.
logdir="${RUN_LOG_DIR:-/var/log}"  # RUN_LOG_DIR: another directory to ship (tests of this script)
logs=()
while IFS= read -r -d '' f; do
  [ -r "$f" ] && [ -s "$f" ] || continue
  case "$f" in *.gz|*.xz|*.bz2|*.zst|*.lz4|*.journal|*.journal~) continue ;; esac
  LC_ALL=C grep -Iq . "$f" 2>/dev/null || continue  # binary (NULs) or no text: skipped
  logs+=("$f")
done < <(find "$logdir" -maxdepth 2 -type f -not -path "$logdir/journal/*" -print0 2>/dev/null | sort -z)
if [ ${#logs[@]} -eq 0 ]; then
  for f in ../shared/data/loghub/*.log; do logs+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
  echo "run: no readable plain-text log in $logdir; shipping the samples in ../shared/data/loghub" >&2
fi
[ ${#logs[@]} -gt 0 ] || { echo "run: no log files to ship" >&2; exit 1; }
# A journal: journald running (its socket) or journal files on disk.
journal=""
if [ -S /run/systemd/journal/socket ] || [ -n "$(find /var/log/journal /run/log/journal -name '*.journal' -print -quit 2>/dev/null)" ]; then
  journal=yes
fi

# 1. The embedded broker on a free loopback port; wait for its ready line.
"$bin" broker --listen 127.0.0.1:0 --data "$work/broker" > "$work/broker.out" 2> "$work/broker.log" &
broker_pid=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/broker.out" 2>/dev/null && break
  kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
  sleep 0.1
done
ready=$(grep -m1 "listening on" "$work/broker.out") || { echo "run: broker did not start" >&2; exit 1; }
port="${ready##*:}"
brokers="127.0.0.1:$port"
echo "run: $ready"

# 2. The agent, with a generated config: every file from its beginning, lz4, positions in $work/state.
mkdir -p "$work/state"
{
  echo "brokers: [\"$brokers\"]"
  echo "state_dir: $work/state"
  echo "compression: lz4"
  echo "shutdown_timeout: 10s"
  echo "inputs:"
  echo "  - type: file"
  echo "    topic: logs"
  echo "    start_at: beginning"
  echo "    paths:"
  for f in "${logs[@]}"; do echo "      - \"$f\""; done
  if [ -n "$journal" ]; then
    echo "  - type: journald"
    echo "    topic: journal"
  fi
} > "$work/agent.yaml"
"$agent" --config "$work/agent.yaml" --check-config > "$work/check-config.out"
head -n 1 "$work/check-config.out"
# The sizes now: the agent is done when its positions reach them (files may grow meanwhile; that is shipped too).
declare -A size
expected=0
for f in "${logs[@]}"; do
  size[$f]=$(stat -c %s "$f")
  expected=$((expected + $(head -c "${size[$f]}" "$f" | awk 'END { print NR }')))  # a last line without newline counts
done
"$agent" --config "$work/agent.yaml" 2> "$work/agent.log" &
agent_pid=$!
echo "run: tributary-agent shipping ${#logs[@]} file(s) ($expected lines) to topic logs${journal:+ and the journal to topic journal}:"
printf '  %s\n' "${logs[@]}"

# 3. Wait until every file's acknowledged position (saved at most once a second) reached its size at the start.
acknowledged() {  # prints the number of files whose saved offset reached the size noted above
  [ -s "$work/state/files-logs.json" ] || { echo 0; return; }
  for f in "${logs[@]}"; do printf '%s\t%s\n' "$f" "${size[$f]}"; done | python3 -c '
import json, sys
offsets = {}
for s in json.load(open(sys.argv[1]))["streams"]:
    offsets[s["path"]] = max(offsets.get(s["path"], 0), s["offset"])
print(sum(1 for line in sys.stdin for path, size in [line.rstrip("\n").split("\t")] if offsets.get(path, 0) >= int(size)))
' "$work/state/files-logs.json"
}
done_files=0
for _ in $(seq 1 1200); do
  done_files=$(acknowledged)
  [ "$done_files" -ge ${#logs[@]} ] && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "run: tributary-agent exited early; its log:" >&2; cat "$work/agent.log" >&2; exit 1; }
  sleep 0.1
done
[ "$done_files" -ge ${#logs[@]} ] || {
  echo "run: only $done_files of ${#logs[@]} files acknowledged after 120 s; agent log:" >&2; tail -n 20 "$work/agent.log" >&2; exit 1; }
echo "run: every line of the ${#logs[@]} file(s) acknowledged by the broker"

# 4. The first shipped lines, with their headers (host, source, offset, origin).
echo "== first shipped lines (tributary kafka consume --topic logs --count 5 --format json) =="
"$bin" kafka consume --brokers "$brokers" --topic logs --from beginning --count 5 --format json

# 5. Per topic: the records stored (a topic nothing was shipped to does not exist: 0).
echo "== records per topic =="
count() { { "$bin" kafka consume --brokers "$brokers" --topic "$1" --from beginning --exit-at-end 2>/dev/null || true; } | wc -l; }
stored=$(count logs)
echo "logs: $stored records ($expected lines in the files at the start)"
if [ -n "$journal" ]; then echo "journal: $(count journal) records"; fi
[ "$stored" -ge "$expected" ] || { echo "run: fewer records than lines" >&2; exit 1; }

# 6. Stop: the agent first (drains, saves positions, exit 0), then the broker (the EXIT trap).
stop "$agent_pid" tributary-agent; agent_pid=""
grep -E "stopping|delivered|warning|error" "$work/agent.log" | sed 's/^/agent: /' | tail -n 5
echo "run: tributary-agent stopped; stopping the broker"
