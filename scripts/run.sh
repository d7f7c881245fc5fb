#!/usr/bin/env bash
# The main job, as far as it exists: pack this host's logs into compressed Kafka
# record batches and read them back (CRC-checked). Grows into broker + agent +
# search as those parts land.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tributary
bin="$(swift build -c release --show-bin-path)/tributary"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# This host's logs, or the real samples when the host has none readable.
shopt -s nullglob
logs=()
for f in /var/log/*.log; do [ -r "$f" ] && [ -s "$f" ] && logs+=("$f"); done
if [ ${#logs[@]} -eq 0 ]; then
  logs=(../shared/data/loghub/*.log)
  echo "run: no readable /var/log/*.log here; using the samples in ../shared/data/loghub" >&2
fi

cat "${logs[@]}" | "$bin" batch encode --compression lz4 --output "$work/batches.log"
echo "== first records, read back from $(du -h "$work/batches.log" | cut -f1) of lz4 record batches =="
"$bin" batch dump --print-data "$work/batches.log" | head -n 12
echo "== summary =="
"$bin" batch dump "$work/batches.log" | tail -n 1
