# Shared parts of the benchmark scripts (sourced): corpus generation, the embedded broker on a free
# loopback port, process CPU and memory from /proc. Expects `repo` (the repository root, the current
# directory) and `work` (a scratch directory) to be set; sets `bin` (release `tributary`).

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
