#!/usr/bin/env bash
# Record batch codec benchmark: RecordBatchBuilder / RecordBatchReader per codec against the bare C
# library calls on the same log text. Results and how to read them: docs/PERFORMANCE.md.
#
#   Benchmarks/codec-bench.sh                 # 256 MiB corpus, 5 timed runs per measurement
#   Benchmarks/codec-bench.sh --quick         # 16 MiB corpus
#   Benchmarks/codec-bench.sh --size 64M --repeats 9 --codecs lz4,zstd
#
# Options: --size SIZE (corpus size, gen-corpus syntax: 16M, 1G; default 256M), --repeats N
# (default 5), --quick (= --size 16M). Anything else goes to codec-bench (see --help there), e.g.
# --codecs, --batch-bytes, --small-batch-bytes, --phase, --cpu-time.
# The corpus is generated once into Benchmarks/data/ (git-ignored) with a fixed seed.
# The Markdown table goes to stdout; progress, per-run samples and machine details to stderr.
set -euo pipefail

size=256M
repeats=5
passthrough=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) size="$2"; shift 2 ;;
        --repeats) repeats="$2"; shift 2 ;;
        --quick) size=16M; shift ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0 ;;
        *) passthrough+=("$1"); shift ;;
    esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# The default corpus is the one docs/PERFORMANCE.md was measured on.
if [[ "$size" == 256M ]]; then corpus=Benchmarks/data/corpus.log; else corpus="Benchmarks/data/corpus-$size.log"; fi
gen="${TRIBUTARY_GEN_CORPUS:-../shared/tools/gen-corpus}"
if [[ ! -s "$corpus" ]]; then
    [[ -f "$gen" ]] || { echo "codec-bench.sh: corpus generator not found at $gen (set TRIBUTARY_GEN_CORPUS)" >&2; exit 1; }
    mkdir -p Benchmarks/data
    echo "generating $corpus ($size, seed 1)..." >&2
    python3 "$gen" --size "$size" --seed 1 > "$corpus.tmp"
    mv "$corpus.tmp" "$corpus"
fi

swift build -c release --package-path Benchmarks >&2

{
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
    echo "swift: $(swift --version 2>&1 | head -1)"
    echo "libraries: $(dpkg-query -W -f='${Package} ${Version}, ' liblz4-1 libzstd1 zlib1g libsnappy1v5 2>/dev/null | sed 's/, $//')"
    echo "load before: $(uptime)"
} >&2
Benchmarks/.build/release/codec-bench --corpus "$corpus" --repeats "$repeats" ${passthrough[@]+"${passthrough[@]}"}
echo "load after: $(uptime)" >&2
