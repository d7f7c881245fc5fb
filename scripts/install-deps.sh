#!/usr/bin/env bash
# Installs what Tributary needs to build and test on Debian: the C libraries'
# -dev packages, the interop peers (kcat = librdkafka, kafka-python with its
# codec modules) and the command-line codecs the tests compare against.
# Idempotent: skips apt-get when everything is already there.
set -euo pipefail

debs=(zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libpcre2-dev libyaml-dev pkg-config kcat lz4 zstd gzip openssl python3 python3-pip)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: apt-get install ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# systemd-journal-remote turns journal export-format fixtures into journal files
# for the SystemdJournal tests. Pinned to the installed systemd's version when
# that version is available, so installing it never upgrades systemd itself.
if [ ! -x /lib/systemd/systemd-journal-remote ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  pkg=systemd-journal-remote
  v=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null || true)
  if [ -n "$v" ] && apt-cache madison "$pkg" 2>/dev/null | grep -qF "| $v |"; then pkg="$pkg=$v"; fi
  echo "install-deps: apt-get install $pkg" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
fi

# kafka-python and the codec modules it uses (lz4 frames, zstd, snappy).
if ! python3 -c 'import kafka, lz4.frame, zstandard, snappy' 2>/dev/null; then
  echo "install-deps: pip install kafka-python and codecs" >&2
  # Debian's own pip refuses system-wide installs (PEP 668) unless told; other pips ignore the variable.
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check \
    'kafka-python==2.3.3' lz4 zstandard python-snappy 2>&1 | grep -v 'Running pip as the' >&2 || true
  python3 -c 'import kafka, lz4.frame, zstandard, snappy'
fi
