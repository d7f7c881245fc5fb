# Shared parts of the benchmark scripts (sourced): corpus generation, the embedded broker on a free
# loopback port, process CPU and memory from /proc. Expects `repo` (the repository root, the current
# directory) and `work` (a scratch directory) to be set; sets `bin` (release `tributary`).

# bench_require_tools SCRIPT TOOL...: exits with a message naming the first TOOL that is not installed.
bench_require_tools() {
    local script="$1" tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: $tool is missing" >&2; exit 1; }
    done
}

# bench_build PRODUCT...: builds the products in release mode; sets bindir and bin.
bench_build() {
    local product
    for product in "$@"; do swift build -c release --product "$product" >&2; done
    bindir="$(swift build -c release --show-bin-path)"
    bin="$bindir/tributary"
}

# bench_corpus SIZE: prints the path of Benchmarks/data/corpus-SIZE.log, generating it once (seed 1).
bench_corpus() {
    local corpus="Benchmarks/data/corpus-$1.log"
    mkdir -p Benchmarks/data
    if [ ! -s "$corpus" ]; then
        echo "== generating $corpus" >&2
        python3 ../shared/tools/gen-corpus --size "$1" --seed 1 > "$corpus.tmp"
        mv "$corpus.tmp" "$corpus"
    fi
    echo "$corpus"
}

# bench_start_broker: starts `tributary broker` on 127.0.0.1:0 over $work/data; sets broker_pid and bootstrap.
bench_start_broker() {
    "$bin" broker --listen 127.0.0.1:0 --data "$work/data" --log-level warning \
        > "$work/broker.out" 2> "$work/broker.err" < /dev/null &
    broker_pid=$!
    local port=""
    for _ in $(seq 1 600); do
        port=$(sed -n 's/^tributary broker: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/broker.out")
        [ -n "$port" ] && break
        kill -0 "$broker_pid" 2>/dev/null || { cat "$work/broker.err" >&2; return 1; }
        sleep 0.1
    done
    [ -n "$port" ] || { echo "bench: the broker printed no ready line" >&2; return 1; }
    bootstrap="127.0.0.1:$port"
}

# bench_stop PID: SIGTERM and wait (no-op when it is not running).
bench_stop() {
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}

# bench_cpu_seconds PID: user+system CPU seconds the process used so far.
bench_cpu_seconds() {
    awk -v tick="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / tick }' "/proc/$1/stat"
}

# bench_status_kib PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM); 0 once the process is gone.
bench_status_kib() {
    awk -v field="$2:" '$1 == field { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# bench_count TOPIC: records in TOPIC (kcat, from the beginning to the end).
bench_count() {
    kcat -C -b "$bootstrap" -t "$1" -o beginning -e -q -f 'x\n' | wc -l
}

# bench_agent_config FILE TOPIC GLOB: an agent config shipping GLOB from the beginning to TOPIC on $bootstrap
# (lz4, linger 5ms, batch_bytes 1000000), positions in FILE's directory/state.
bench_agent_config() {
    mkdir -p "$(dirname "$1")/state"
    cat > "$1" <<YAML
brokers: ["$bootstrap"]
state_dir: $(dirname "$1")/state
compression: lz4
linger: 5ms
batch_bytes: 1000000
inputs:
  - { type: file, topic: $2, paths: ["$3"], start_at: beginning }
YAML
}

# bench_make_log_files DIR COUNT LINES: creates DIR/app-00000.log ... with LINES ~110-byte lines each.
bench_make_log_files() {
    mkdir -p "$1"
    python3 - "$1" "$2" "$3" <<'PY'
import os, sys
sample = "2026-11-25T17:59:00 app[1234]: request handled in 12 ms status=200 path=/api/v1/items user=42 trace=%08d"
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"app-{i:05d}.log"), "w") as f:
        f.writelines(sample % (n * 100000 + i) + "\n" for n in range(int(sys.argv[3])))
PY
}

# bench_append_lines DIR COUNT SECONDS: appends one ~110-byte line a second to each of the COUNT files of
# bench_make_log_files for SECONDS seconds.
bench_append_lines() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, sys, time
directory, files, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sample = "2026-11-25T18:00:00 app[1234]: request handled in 12 ms status=200 path=/api/v1/items user=42 trace=%08d"
start = time.monotonic()
for second in range(seconds):
    for i in range(files):
        with open(os.path.join(directory, f"app-{i:05d}.log"), "a") as f:
            f.write(sample % (second * files + i) + "\n")
    time.sleep(max(0.0, start + second + 1 - time.monotonic()))
PY
}
