#!/usr/bin/env bash
# The main job, as far as it exists: start the embedded broker (`tributary broker`),
# ship this host's logs to it as lz4 record batches, read them back, and check a
# file of record batches with `tributary batch`. The agent, collector and search
# replace the kcat steps as those parts land.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tributary
bin="$(swift build -c release --show-bin-path)/tributary"

work="$(mktemp -d)"
broker_pid=""
cleanup() {
  if [ -n "$broker_pid" ]; then kill -TERM "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# This host's logs, or the real samples when the host has none readable.
shopt -s nullglob
logs=()
for f in /var/log/*.log; do [ -r "$f" ] && [ -s "$f" ] && logs+=("$f"); done
if [ ${#logs[@]} -eq 0 ]; then
  logs=(../shared/data/loghub/*.log)
  echo "run: no readable /var/log/*.log here; using the samples in ../shared/data/loghub" >&2
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
echo "run: $ready"

# 2. Ship the logs (one record per line) with lz4, acks=all, waiting for every acknowledgement.
cat "${logs[@]}" | kcat -P -b "127.0.0.1:$port" -t host-logs -z lz4 -X acks=all -X linger.ms=50
lines=$(cat "${logs[@]}" | wc -l)
echo "run: shipped $lines lines from ${#logs[@]} file(s) to topic host-logs"

# 3. Read them back from the broker.
echo "== first lines of topic host-logs =="
kcat -C -b "127.0.0.1:$port" -t host-logs -o beginning -c 5 -e
stored=$(kcat -C -b "127.0.0.1:$port" -t host-logs -o beginning -e -q -f '%o\n' | wc -l)
echo "run: $stored records stored in host-logs"

# 4. The same lines as a file of record batches, checked batch by batch (CRC-32C).
cat "${logs[@]}" | "$bin" batch encode --compression lz4 --output "$work/batches.log"
echo "== tributary batch dump =="
"$bin" batch dump "$work/batches.log" | tail -n 1
