#!/usr/bin/env bash
# The main job, as far as it exists: start the embedded broker (`tributary broker`),
# run the agent (`tributary-agent`) shipping this host's logs to topic `logs`, wait
# until they arrived, and show the first shipped lines with `tributary kafka consume`.
# The collector and `tributary grep` take over the reading side as they land.
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
stop() {  # stop PID NAME: SIGTERM, wait, report a non-zero exit status
  local status=0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || status=$?
  [ "$status" -eq 0 ] || echo "run: $2 exited with status $status" >&2
}
cleanup() {
  if [ -n "$agent_pid" ]; then stop "$agent_pid" tributary-agent; agent_pid=""; fi
  if [ -n "$broker_pid" ]; then stop "$broker_pid" "tributary broker"; broker_pid=""; fi
  rm -rf "$work"
}
trap cleanup EXIT

# This host's logs, or the real samples when the host has none readable.
shopt -s nullglob
logs=()
for f in /var/log/*.log; do [ -r "$f" ] && [ -s "$f" ] && logs+=("$f"); done
if [ ${#logs[@]} -eq 0 ]; then
  for f in ../shared/data/loghub/*.log; do logs+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done
  echo "run: no readable /var/log/*.log here; shipping the samples in ../shared/data/loghub" >&2
fi
[ ${#logs[@]} -gt 0 ] || { echo "run: no log files to ship" >&2; exit 1; }

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

# 2. The agent, with a generated config: every file from its beginning, lz4, to topic `logs`.
mkdir -p "$work/state"
{
  echo "brokers: [\"$brokers\"]"
  echo "state_dir: $work/state"
  echo "compression: lz4"
  echo "inputs:"
  echo "  - type: file"
  echo "    topic: logs"
  echo "    start_at: beginning"
  echo "    paths:"
  for f in "${logs[@]}"; do echo "      - \"$f\""; done
} > "$work/agent.yaml"
"$agent" --config "$work/agent.yaml" --check-config > "$work/check-config.out"
head -n 1 "$work/check-config.out"
"$agent" --config "$work/agent.yaml" 2> "$work/agent.log" &
agent_pid=$!
expected=$(cat "${logs[@]}" | wc -l)
echo "run: tributary-agent shipping $expected lines from ${#logs[@]} file(s) to topic logs"

# 3. Wait until every line arrived (the agent acknowledges only what the broker stored).
count() { "$bin" kafka consume --brokers "$brokers" --topic logs --from beginning --exit-at-end | wc -l; }
stored=0
for _ in $(seq 1 120); do
  stored=$(count)
  [ "$stored" -ge "$expected" ] && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$work/agent.log" >&2; exit 1; }
  sleep 0.5
done
echo "== first shipped lines (tributary kafka consume --topic logs --from beginning --count 10) =="
"$bin" kafka consume --brokers "$brokers" --topic logs --from beginning --count 10
echo "run: $stored records in topic logs ($expected lines in the files)"
[ "$stored" -ge "$expected" ] || { echo "run: not every line arrived; agent log:" >&2; tail -n 20 "$work/agent.log" >&2; exit 1; }
