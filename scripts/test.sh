#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# Serially: Swift's cooperative thread pool has one thread per core (2 here), and the CPU-heavy
# synchronous codec and fuzz tests running beside the in-process broker tests could starve the
# broker's tasks for longer than the tests' 30 s socket timeouts (seen once under load). Serial
# runs took 49 s against 33 s in parallel on this 2-core machine.
swift test --skip-build --no-parallel "$@"
