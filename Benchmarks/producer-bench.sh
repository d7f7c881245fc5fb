#!/usr/bin/env bash
# Producer throughput on real log lines: `tributary kafka produce` side by side with
# `kcat -P -l` (librdkafka) on the same file and broker, in one run (issue 4).
#
#   Benchmarks/producer-bench.sh [--size 200M | --quick] [--keep]
#
# * builds `tributary` in release mode;
# * generates Benchmarks/data/corpus-<size>.log if missing (../shared/tools/gen-corpus, seed 1);
# * starts `tributary broker` on 127.0.0.1:0 with a temporary data directory;
# * produces the corpus to fresh topics with the same settings: lz4, acks=all, idempotent,
#   linger 5 ms, batches up to 1,000,000 bytes:
#     tributary kafka produce --topic bench-tributary --compression lz4 --linger-ms 5 < corpus
#     kcat -P -l -z lz4 -X enable.idempotence=true -X acks=all -X linger.ms=5 -X batch.size=1000000
# * for each: wall time, user+sys CPU of the producer (/usr/bin/time) and of the broker
#   (/proc/<pid>/stat before and after), MB/s of raw text, CPU seconds per GB;
# * checks the record counts with kcat -C (tributary sends empty lines too; kcat skips them).
# Exit status 0 when both deliveries were complete; the target (at least as fast as kcat with less
# CPU per GB) is reported, not enforced.
set -euo pipefail

size=200M
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size="$2"; shift 2 ;;
        --size=*) size="${1#--size=}"; shift ;;
        --quick) size=32M; shift ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "producer-bench: unknown argument $1" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
# shellcheck source=lib.sh
source "$here/lib.sh"
bench_require_tools producer-bench kcat python3 bc /usr/bin/time

work="$(mktemp -d /tmp/producer-bench.XXXXXX)"
broker_pid=""
cleanup() {
    bench_stop "$broker_pid"
    if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== build (release)" >&2
bench_build tributary
corpus="$(bench_corpus "$size")"
bytes=$(stat -L -c %s "$corpus")
lines=$(wc -l < "$corpus")
nonempty=$(grep -c -v '^$' "$corpus" || true)

echo "== starting broker" >&2
bench_start_broker

# run NAME CMD...: runs CMD under /usr/bin/time with the corpus on stdin; sets wall, cpu, bcpu, load.
run() {
    local name="$1"; shift
    local before after start end
    before=$(bench_cpu_seconds "$broker_pid")
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$work/$name.time" "$@" < "$corpus" > "$work/$name.out" 2> "$work/$name.err" || {
        echo "producer-bench: $name failed:" >&2; tail -20 "$work/$name.err" >&2; exit 1; }
    end=$(date +%s.%N)
    after=$(bench_cpu_seconds "$broker_pid")
    wall=$(echo "$end - $start" | bc -l)
    cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/$name.time")
    rss=$(awk '{ printf "%.0f", $3 / 1024 }' "$work/$name.time")
    bcpu=$(echo "$after - $before" | bc -l)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    printf '   %s: wall %.2fs, producer %.2fs CPU (max RSS %s MB), broker %.2fs CPU, load %s\n' \
        "$name" "$wall" "$cpu" "$rss" "$bcpu" "$load" >&2
}


load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== produce $corpus ($bytes bytes, $lines lines) with tributary" >&2
run tributary "$bin" kafka produce --brokers "$bootstrap" --topic bench-tributary --compression lz4 \
    --linger-ms 5 --batch-bytes 1000000 --acks all
t_wall=$wall t_cpu=$cpu t_rss=$rss t_bcpu=$bcpu t_load=$load
cat "$work/tributary.err" >&2

echo "== produce with kcat" >&2
run kcat kcat -P -b "$bootstrap" -t bench-kcat -l -z lz4 -X enable.idempotence=true -X acks=all \
    -X linger.ms=5 -X batch.size=1000000 /dev/stdin
k_wall=$wall k_cpu=$cpu k_rss=$rss k_bcpu=$bcpu k_load=$load

echo "== counting records" >&2
t_count=$(bench_count bench-tributary)
k_count=$(bench_count bench-kcat)

mbps() { echo "$bytes / 1000000 / $1" | bc -l; }
per_gb() { echo "$1 * 1000000000 / $bytes" | bc -l; }
printf '\nCorpus: %s (%s bytes, %s lines, %s non-empty); load before: %s\n\n' "$corpus" "$bytes" "$lines" "$nonempty" "$load_before"
printf '| producer | wall s | MB/s | producer CPU s | CPU s/GB | max RSS MB | broker CPU s | records | load after |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
printf '| tributary kafka produce | %.2f | %.1f | %.2f | %.2f | %s | %.2f | %s | %s |\n' \
    "$t_wall" "$(mbps "$t_wall")" "$t_cpu" "$(per_gb "$t_cpu")" "$t_rss" "$t_bcpu" "$t_count" "$t_load"
printf '| kcat -P -l | %.2f | %.1f | %.2f | %.2f | %s | %.2f | %s | %s |\n' \
    "$k_wall" "$(mbps "$k_wall")" "$k_cpu" "$(per_gb "$k_cpu")" "$k_rss" "$k_bcpu" "$k_count" "$k_load"
printf '\nRatios tributary/kcat: wall %.2f, producer CPU %.2f\n' \
    "$(echo "$t_wall / $k_wall" | bc -l)" "$(echo "$t_cpu / $k_cpu" | bc -l)"
faster=$(echo "$t_wall <= $k_wall" | bc -l)
cheaper=$(echo "$t_cpu < $k_cpu" | bc -l)
if [ "$faster" = 1 ] && [ "$cheaper" = 1 ]; then echo "Target (as fast as kcat, less CPU per GB): MET"; else echo "Target (as fast as kcat, less CPU per GB): MISSED"; fi
status=0
[ "$t_count" = "$lines" ] || { echo "INCOMPLETE: tributary stored $t_count records, expected $lines" >&2; status=1; }
[ "$k_count" = "$nonempty" ] || { echo "INCOMPLETE: kcat stored $k_count records, expected $nonempty" >&2; status=1; }
exit $status
