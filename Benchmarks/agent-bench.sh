#!/usr/bin/env bash
# The agent (issue 5): `tributary-agent` shipping a log file to the embedded broker with lz4, side by side
# with `kcat -P -l -z lz4` on the same file and broker, in one run; then the agent tailing many files at a
# low rate, and idle.
#
#   Benchmarks/agent-bench.sh [--size 1G | --quick] [--files 1000] [--seconds 30] [--prefill 0] [--tail-only] [--agent PATH] [--keep]
#
# * builds `tributary` and `tributary-agent` in release mode;
# * generates Benchmarks/data/corpus-<size>.log if missing (../shared/tools/gen-corpus, seed 1);
# * starts `tributary broker` on 127.0.0.1:0 with a temporary data directory;
# * (a) kcat -P -l -z lz4 -X acks=all -X enable.idempotence=true -X linger.ms=5 -X batch.size=1000000,
#       timed with /usr/bin/time;
# * (b) tributary-agent over the same file (start_at: beginning, lz4, linger 5ms, batch_bytes 1000000,
#       acks=all and idempotent as always): from its start until the topic holds every line (end offset of
#       its one partition, `kcat -Q` every 50 ms; then its positions file must show the file's size: it is
#       saved at most once a second, too coarse to time with), CPU from /proc/PID/stat, peak RSS = VmHWM;
# * broker CPU for each (/proc/<broker>/stat before and after); records counted with kcat -C;
# * (c) tailing: --files files, one line a second each for --seconds seconds (python3 writer), agent RSS
#       sampled every second; then idle (no writes) for 10 s; records counted; the idle agent's resident
#       memory per mapping from /proc/PID/smaps (binary, each shared library, anonymous). --tail-only runs
#       only (c) (no corpus, no kcat); --files 0 measures the idle agent with nothing to tail; --prefill N
#       writes N lines into each file before the agent starts (read at once at start, start_at: beginning);
#       --agent PATH measures that tributary-agent binary instead of the one built here (A/B comparisons).
# Prints a Markdown table; the targets (faster than kcat with less CPU per GB, peak RSS < 32 MB shipping,
# < 16 MB idle with 1,000 files) are reported, not enforced. Exit 1 on incomplete delivery.
set -euo pipefail

size=1G
files=1000
seconds=30
keep=0
tail_only=0
prefill=0
agent_binary=""
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size="$2"; shift 2 ;;
        --quick) size=32M; files=200; seconds=10; shift ;;
        --files) files="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        --tail-only) tail_only=1; shift ;;
        --prefill) prefill="$2"; shift 2 ;;
        --agent) agent_binary="$2"; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "agent-bench: unknown argument $1" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
# shellcheck source=lib.sh
source "$here/lib.sh"
bench_require_tools agent-bench kcat python3 bc /usr/bin/time
work="$(mktemp -d /tmp/agent-bench.XXXXXX)"

broker_pid=""
agent_pid=""
writer_pid=""
cleanup() {
    bench_stop "$writer_pid"
    bench_stop "$agent_pid"
    bench_stop "$broker_pid"
    if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== build (release)" >&2
bench_build tributary tributary-agent
agent="${agent_binary:-$bindir/tributary-agent}"
if [ "$tail_only" = 0 ]; then
corpus="$(cd "$(dirname "$(bench_corpus "$size")")" && pwd)/corpus-$size.log"
bytes=$(stat -c %s "$corpus")
lines=$(wc -l < "$corpus")
nonempty=$(grep -c -v '^$' "$corpus" || true)
fi
echo "== starting broker" >&2
bench_start_broker
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if [ "$tail_only" = 0 ]; then
# (a) kcat
echo "== kcat -P -l -z lz4 $corpus ($bytes bytes, $lines lines)" >&2
b0=$(bench_cpu_seconds "$broker_pid")
start=$(date +%s.%N)
/usr/bin/time -f '%U %S %M' -o "$work/kcat.time" kcat -P -b "$bootstrap" -t bench-kcat -l -z lz4 \
    -X enable.idempotence=true -X acks=all -X linger.ms=5 -X batch.size=1000000 "$corpus" 2> "$work/kcat.err"
end=$(date +%s.%N)
k_wall=$(echo "$end - $start" | bc -l)
k_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/kcat.time")
k_rss=$(awk '{ printf "%.1f", $3 / 1024 }' "$work/kcat.time")
k_bcpu=$(echo "$(bench_cpu_seconds "$broker_pid") - $b0" | bc -l)
k_load=$(cut -d' ' -f1-3 /proc/loadavg)

# (b) the agent
echo "== tributary-agent over the same file" >&2
bench_agent_config "$work/ship/agent.yaml" bench-agent "$corpus"
positions="$work/ship/state/files-bench-agent.json"
offset() { python3 -c 'import json,sys; print(max([s["offset"] for s in json.load(open(sys.argv[1]))["streams"]] or [0]))' "$positions" 2>/dev/null || echo 0; }
stored() { kcat -Q -b "$bootstrap" -t bench-agent:0:-1 2>/dev/null | sed -n 's/^bench-agent \[0\] offset \([0-9]*\)$/\1/p' | grep . || echo 0; }
b0=$(bench_cpu_seconds "$broker_pid")
start=$(date +%s.%N)
"$agent" --config "$work/ship/agent.yaml" 2> "$work/ship/agent.log" &
agent_pid=$!
agent_alive() {
    kill -0 "$agent_pid" 2>/dev/null || { echo "agent-bench: the agent exited:" >&2; tail "$work/ship/agent.log" >&2; exit 1; }
}
while [ "$(stored)" -lt "$lines" ]; do agent_alive; sleep 0.05; done
end=$(date +%s.%N)
a_wall=$(echo "$end - $start" | bc -l)
a_cpu=$(bench_cpu_seconds "$agent_pid")
a_rss=$(echo "$(bench_status_kib "$agent_pid" VmHWM) / 1024" | bc -l)
a_bcpu=$(echo "$(bench_cpu_seconds "$broker_pid") - $b0" | bc -l)
a_load=$(cut -d' ' -f1-3 /proc/loadavg)
while [ "$(offset)" -lt "$bytes" ]; do agent_alive; sleep 0.1; done
bench_stop "$agent_pid"; agent_pid=""

echo "== counting records" >&2
k_count=$(bench_count bench-kcat)
a_count=$(bench_count bench-agent)
fi

# (c) tailing many files at a low rate, then idle
echo "== tributary-agent tailing $files files, 1 line/s each for $seconds s" >&2
bench_make_log_files "$work/tail/logs" "$files" "$prefill"
bench_agent_config "$work/tail/agent.yaml" bench-tail "$work/tail/logs/*.log"
"$agent" --config "$work/tail/agent.yaml" 2> "$work/tail/agent.log" &
agent_pid=$!
bench_append_lines "$work/tail/logs" "$files" "$seconds" &
writer_pid=$!
t_cpu0=$(bench_cpu_seconds "$agent_pid")
t_rss_max=0
while kill -0 "$writer_pid" 2>/dev/null; do
    r=$(bench_status_kib "$agent_pid" VmRSS); [ "$r" -gt "$t_rss_max" ] && t_rss_max=$r
    sleep 1
done
wait "$writer_pid" || true; writer_pid=""
t_cpu=$(echo "$(bench_cpu_seconds "$agent_pid") - $t_cpu0" | bc -l)
i_cpu0=$(bench_cpu_seconds "$agent_pid")
i_rss_max=0
for _ in $(seq 1 10); do
    r=$(bench_status_kib "$agent_pid" VmRSS); [ "$r" -gt "$i_rss_max" ] && i_rss_max=$r
    sleep 1
done
i_cpu=$(echo "$(bench_cpu_seconds "$agent_pid") - $i_cpu0" | bc -l)
i_rss=$(bench_status_kib "$agent_pid" VmRSS)
t_hwm=$(bench_status_kib "$agent_pid" VmHWM)
open_fds=$(ls "/proc/$agent_pid/fd" | wc -l)
threads=$(ls "/proc/$agent_pid/task" | wc -l)
# Resident KiB per mapping (file-backed pages by file name, anonymous ones together), largest first.
smaps=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{ name = ($6 == "" ? "[anonymous]" : $6) }
             /^Rss:/{ rss[name] += $2 }
             END { for (n in rss) if (rss[n] > 0) printf "%d %s\n", rss[n], n }' "/proc/$agent_pid/smaps" | sort -rn)
bench_stop "$agent_pid"; agent_pid=""
t_count=$(bench_count bench-tail)
t_expected=$((files * (seconds + prefill)))

mbps() { echo "$bytes / 1000000 / $1" | bc -l; }
per_gb() { echo "$1 * 1000000000 / $bytes" | bc -l; }
if [ "$tail_only" = 0 ]; then
printf '\nCorpus: %s (%s bytes, %s lines, %s non-empty); load before: %s\n\n' "$corpus" "$bytes" "$lines" "$nonempty" "$load_before"
printf '| shipper | wall s | MB/s | CPU s | CPU s/GB | peak RSS MB | broker CPU s | records | load after |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
printf '| tributary-agent | %.2f | %.1f | %.2f | %.2f | %.1f | %.2f | %s | %s |\n' \
    "$a_wall" "$(mbps "$a_wall")" "$a_cpu" "$(per_gb "$a_cpu")" "$a_rss" "$a_bcpu" "$a_count" "$a_load"
printf '| kcat -P -l | %.2f | %.1f | %.2f | %.2f | %s | %.2f | %s | %s |\n' \
    "$k_wall" "$(mbps "$k_wall")" "$k_cpu" "$(per_gb "$k_cpu")" "$k_rss" "$k_bcpu" "$k_count" "$k_load"
else
printf '\nload before: %s, after: %s\n' "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
fi
printf '\n| agent, %s files | RSS max MB | CPU s | records |\n|---|---:|---:|---:|\n' "$files"
prefilled=""; [ "$prefill" = 0 ] || prefilled="$prefill lines at start + "
printf '| tailing, %s1 line/s per file, %s s | %.1f | %.2f | %s of %s |\n' "$prefilled" "$seconds" "$(echo "$t_rss_max / 1024" | bc -l)" "$t_cpu" "$t_count" "$t_expected"
printf '| idle 10 s after (%s descriptors open) | %.1f (now %.1f, VmHWM %.1f) | %.2f | |\n' "$open_fds" \
    "$(echo "$i_rss_max / 1024" | bc -l)" "$(echo "$i_rss / 1024" | bc -l)" "$(echo "$t_hwm / 1024" | bc -l)" "$i_cpu"
printf '\nIdle agent resident memory by mapping (/proc/PID/smaps Rss, %s threads):\n\n| mapping | MB |\n|---|---:|\n' "$threads"
echo "$smaps" | awk '{ printf "| %s | %.1f |\n", $2, $1 / 1024; total += $1 } END { printf "| total | %.1f |\n", total / 1024 }'
if [ "$tail_only" = 0 ]; then
faster=$(echo "$a_wall < $k_wall" | bc -l)
cheaper=$(echo "$a_cpu < $k_cpu" | bc -l)
printf '\nTarget faster than kcat with less CPU per GB: %s (wall ratio agent/kcat %.2f, CPU ratio %.2f)\n' \
    "$([ "$faster" = 1 ] && [ "$cheaper" = 1 ] && echo MET || echo MISSED)" "$(echo "$a_wall / $k_wall" | bc -l)" "$(echo "$a_cpu / $k_cpu" | bc -l)"
printf 'Target peak RSS < 32 MB shipping: %s\n' "$([ "$(echo "$a_rss < 32" | bc -l)" = 1 ] && echo MET || echo MISSED)"
fi
printf 'Target < 16 MB with %s files, tailing and idle: %s (tailing max %.1f MB, idle max %.1f MB)\n' "$files" \
    "$([ "$i_rss_max" -lt 16384 ] && [ "$t_rss_max" -lt 16384 ] && echo MET || echo MISSED)" \
    "$(echo "$t_rss_max / 1024" | bc -l)" "$(echo "$i_rss_max / 1024" | bc -l)"
status=0
if [ "$tail_only" = 0 ]; then
[ "$a_count" -ge "$lines" ] || { echo "INCOMPLETE: the agent stored $a_count records, expected $lines" >&2; status=1; }
[ "$k_count" -ge "$nonempty" ] || { echo "INCOMPLETE: kcat stored $k_count records, expected $nonempty" >&2; status=1; }
fi
[ "$t_count" -ge "$t_expected" ] || { echo "INCOMPLETE: tailing stored $t_count records, expected $t_expected" >&2; status=1; }
exit $status
