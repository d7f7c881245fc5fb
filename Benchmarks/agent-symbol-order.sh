#!/usr/bin/env bash
# Regenerates Sources/tributary-agent/tributary-agent.order: every function of the release `tributary-agent`
# that runs while it starts, tails files and stops, as valgrind's callgrind counts them (an exact list, not a
# sample). The linker places these functions first (lld --symbol-ordering-file, Package.swift), so the code an
# idle or tailing agent has touched sits in few pages instead of being scattered over the binary, where the
# kernel maps 64 KB around each faulting page (docs/PERFORMANCE.md, issue 5: 1,000 tailed files, binary
# pages 9.9 -> 7.2 MB).
#
#   Benchmarks/agent-symbol-order.sh [--files 1000] [--seconds 10]
#
# * builds `tributary` and `tributary-agent` in release mode;
# * starts `tributary broker` on 127.0.0.1:0; --files files holding 3 lines each (start_at: beginning);
# * runs a copy of the agent without debug info (valgrind 3.19 cannot read the toolchain's DWARF 5) under
#   callgrind, appends one line a second to every file for --seconds seconds, then stops it with SIGTERM;
# * writes the executed functions defined in the binary, in callgrind's order, one mangled name a line.
# Functions missing later (renamed code) are ignored by the linker; code not listed is placed as before.
set -euo pipefail

files=1000
seconds=10
while [ $# -gt 0 ]; do
    case "$1" in
        --files) files="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "agent-symbol-order: unknown argument $1" >&2; exit 2 ;;
    esac
done

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
# shellcheck source=lib.sh
source "$here/lib.sh"
bench_require_tools agent-symbol-order valgrind objcopy nm python3
work="$(mktemp -d /tmp/agent-order.XXXXXX)"
output="Sources/tributary-agent/tributary-agent.order"

broker_pid=""
agent_pid=""
cleanup() {
    bench_stop "$agent_pid"
    bench_stop "$broker_pid"
    rm -rf "$work"
}
trap cleanup EXIT

echo "== build (release)" >&2
bench_build tributary tributary-agent
objcopy --strip-debug "$bindir/tributary-agent" "$work/tributary-agent"
bench_start_broker

bench_make_log_files "$work/logs" "$files" 3
bench_agent_config "$work/agent.yaml" order "$work/logs/*.log"
echo "== tributary-agent under callgrind: $files files, 1 line/s each for $seconds s" >&2
valgrind --tool=callgrind --dump-instr=no --compress-strings=no --demangle=no \
    --callgrind-out-file="$work/callgrind.out" "$work/tributary-agent" --config "$work/agent.yaml" \
    2> "$work/agent.log" &
agent_pid=$!
last="$(printf 'app-%05d.log' $((files - 1)))"
for _ in $(seq 1 1200); do
    grep -q "$last" "$work/agent.log" && break
    kill -0 "$agent_pid" 2>/dev/null || { tail "$work/agent.log" >&2; exit 1; }
    sleep 0.1
done
bench_append_lines "$work/logs" "$files" "$seconds"
sleep 3
bench_stop "$agent_pid"; agent_pid=""
[ -s "$work/callgrind.out" ] || { echo "agent-symbol-order: callgrind wrote nothing" >&2; tail "$work/agent.log" >&2; exit 1; }

nm --defined-only "$work/tributary-agent" | awk '$2 ~ /^[tTwW]$/ { print $3 }' > "$work/text-symbols"
# fn= names of every function with a cost; callgrind marks recursion levels with a 'N suffix.
sed -n "s/^fn=//p" "$work/callgrind.out" | sed "s/'[0-9]*\$//" | python3 -c '
import sys
defined = set(line.rstrip("\n") for line in open(sys.argv[1]))
seen = set()
for line in sys.stdin:
    name = line.rstrip("\n")
    if name in defined and name not in seen:
        seen.add(name)
        print(name)
' "$work/text-symbols" > "$work/order"
cp "$work/order" "$output"
echo "wrote $output: $(wc -l < "$output") functions" >&2
