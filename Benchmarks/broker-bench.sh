#!/usr/bin/env bash
# Produce and fetch throughput of the embedded broker (`tributary broker`), with kcat as the
# load generator, in one run (issue 3).
#
#   Benchmarks/broker-bench.sh [--size 256M | --quick] [--keep]
#
# * builds `tributary` in release mode at the repo root;
# * generates Benchmarks/data/corpus-<size>.log if missing (../shared/tools/gen-corpus, seed 1);
# * starts the broker on 127.0.0.1:0 with a temporary data directory;
# * (a) produce: kcat -P -l corpus (one message a line), lz4, acks=all, linger.ms=5, batch.size=1000000;
# * (b) fetch:   kcat -C -o beginning -e, counting the records consumed;
# * for each phase: wall time, user+sys CPU of kcat (/usr/bin/time) and of the broker
#   (/proc/<pid>/stat utime+stime before and after, in clock ticks);
# * checks that the records consumed equal the corpus's (non-empty) line count;
# * prints a Markdown table and whether the target (broker CPU <= 0.5 x kcat CPU while
#   producing) is met. Exit status 0 when delivery was complete (the target is reported, not
#   enforced); 1 on incomplete delivery or a failed step.
set -euo pipefail

size=256M
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size="$2"; shift 2 ;;
        --size=*) size="${1#--size=}"; shift ;;
        --quick) size=32M; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "broker-bench: unknown argument $1" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

for tool in kcat python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "broker-bench: $tool is missing (apt-get install -y kafkacat time)" >&2; exit 1; }
done

echo "== build (release)" >&2
swift build -c release --product tributary >&2
bin="$(swift build -c release --show-bin-path)/tributary"

mkdir -p Benchmarks/data
corpus="Benchmarks/data/corpus-$size.log"
if [ ! -s "$corpus" ]; then
    echo "== generating $corpus" >&2
    python3 ../shared/tools/gen-corpus --size "$size" --seed 1 > "$corpus.tmp"
    mv "$corpus.tmp" "$corpus"
fi
bytes=$(stat -c %s "$corpus")
lines=$(wc -l < "$corpus")
# kcat -P skips empty lines, so those are the messages expected back.
nonempty=$(grep -c -v '^$' "$corpus" || true)

work="$(mktemp -d /tmp/broker-bench.XXXXXX)"
broker_pid=""
cleanup() {
    if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
        kill -TERM "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== starting broker" >&2
"$bin" broker --listen 127.0.0.1:0 --data "$work/data" --log-level warning \
    > "$work/broker.out" 2> "$work/broker.err" < /dev/null &
broker_pid=$!
port=""
for _ in $(seq 1 600); do  # waits on the ready line (at most 60 s)
    port=$(sed -n 's/^tributary broker: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/broker.out")
    [ -n "$port" ] && break
    kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.err" >&2; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "broker-bench: no ready line" >&2; exit 1; }
bootstrap="127.0.0.1:$port"
tick=$(getconf CLK_TCK)

# utime+stime of the broker, in clock ticks (fields 14 and 15 of /proc/<pid>/stat, counted
# after the parenthesised command name).
broker_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$broker_pid/stat"; }

# run_phase NAME OUT -- kcat args...: runs kcat under /usr/bin/time, stdout to OUT;
# sets wall, kcat_cpu, broker_cpu.
run_phase() {
    local name="$1" out="$2"; shift 3
    local before after start end
    before=$(broker_ticks)
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$work/$name.time" kcat "$@" > "$out" 2> "$work/$name.err" || {
        echo "broker-bench: kcat ($name) failed:" >&2; cat "$work/$name.err" "$work/broker.err" >&2; exit 1; }
    end=$(date +%s.%N)
    after=$(broker_ticks)
    wall=$(echo "$end - $start" | bc -l)
    kcat_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/$name.time")
    broker_cpu=$(echo "($after - $before) / $tick" | bc -l)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    printf '   %s: wall %.2fs, kcat %.2fs CPU, broker %.2fs CPU, load %s\n' "$name" "$wall" "$kcat_cpu" "$broker_cpu" "$load" >&2
}

echo "== produce ($size, $lines lines, $bytes bytes)" >&2
load_before_produce=$(cut -d' ' -f1-3 /proc/loadavg)
run_phase produce /dev/null -- -P -b "$bootstrap" -t bench -z lz4 -X acks=all -X linger.ms=5 \
    -X batch.size=1000000 -l "$corpus"
p_wall=$wall p_kcat=$kcat_cpu p_broker=$broker_cpu p_load=$load
if grep -qi 'fail\|error' "$work/produce.err"; then
    echo "broker-bench: kcat -P reported errors:" >&2; head -20 "$work/produce.err" >&2
fi

echo "== fetch" >&2
run_phase fetch "$work/fetched" -- -C -b "$bootstrap" -t bench -o beginning -e -q
f_wall=$wall f_kcat=$kcat_cpu f_broker=$broker_cpu f_load=$load
consumed=$(wc -l < "$work/fetched")
rm -f "$work/fetched"

mbps() { echo "$bytes / 1000000 / $1" | bc -l; }
ratio() { echo "$1 / $2" | bc -l; }
met=$(echo "$p_broker <= 0.5 * $p_kcat" | bc -l)

printf '\nCorpus: %s (%s bytes, %s lines, %s non-empty); records consumed: %s\n\n' \
    "$corpus" "$bytes" "$lines" "$nonempty" "$consumed"
printf '| phase | wall s | MB/s (raw text) | kcat CPU s | broker CPU s | broker/kcat | load (1/5/15 min, after) |\n'
printf '|---|---:|---:|---:|---:|---:|---|\n'
printf '| produce (lz4, acks=all) | %.2f | %.1f | %.2f | %.2f | %.2f | %s |\n' \
    "$p_wall" "$(mbps "$p_wall")" "$p_kcat" "$p_broker" "$(ratio "$p_broker" "$p_kcat")" "$p_load"
printf '| fetch | %.2f | %.1f | %.2f | %.2f | %.2f | %s |\n' \
    "$f_wall" "$(mbps "$f_wall")" "$f_kcat" "$f_broker" "$(ratio "$f_broker" "$f_kcat")" "$f_load"
printf '\nLoad before produce: %s\n' "$load_before_produce"
if [ "$met" = 1 ]; then
    printf 'Target (broker CPU <= 0.5 x kcat CPU while producing): MET (ratio %.2f)\n' "$(ratio "$p_broker" "$p_kcat")"
else
    printf 'Target (broker CPU <= 0.5 x kcat CPU while producing): MISSED (ratio %.2f, %.1fx the allowed 0.5)\n' \
        "$(ratio "$p_broker" "$p_kcat")" "$(echo "$p_broker / $p_kcat / 0.5" | bc -l)"
fi
if [ "$consumed" != "$nonempty" ]; then
    echo "INCOMPLETE DELIVERY: consumed $consumed records, expected $nonempty" >&2
    exit 1
fi
echo "Delivery complete: $consumed records consumed = $nonempty non-empty lines (wc -l: $lines)"
