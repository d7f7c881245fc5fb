#!/usr/bin/env python3
"""Writes the journal export-format fixtures of SystemdJournalTests.

Export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/): one entry is a run of fields ended by an empty line.
A field whose value is printable text is written as `NAME=value\\n`; any other value is written in the binary
form `NAME\\n`, the value's length as a 64-bit little-endian integer, the raw bytes, `\\n`.
`systemd-journal-remote --output=X.journal FILE` turns such a file into a journal file; the tests do that at
run time in a temporary directory and read the result back through libsystemd.

Run from this directory: python3 make-fixtures.py
"""
import struct

BOOT_ID = "3f9e2a1c5b7d4e8f9a0b1c2d3e4f5a6b"
MACHINE_ID = "0d4b6f1e2c3a4b5c6d7e8f9012345678"
HOST = "web-1"
BASE_US = 1764000000000000  # 2025-11-24T16:00:00Z


def is_text(value: bytes) -> bool:
    return all(0x20 <= b < 0x7F for b in value)


def field(name: str, value: bytes) -> bytes:
    key = name.encode()
    if is_text(value):
        return key + b"=" + value + b"\n"
    return key + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"


def entry(realtime: int, fields: list) -> bytes:
    out = field("__REALTIME_TIMESTAMP", str(realtime).encode())
    out += field("__MONOTONIC_TIMESTAMP", str(1_000_000 + realtime - BASE_US).encode())
    out += field("_BOOT_ID", BOOT_ID.encode())
    out += field("_MACHINE_ID", MACHINE_ID.encode())
    out += field("_HOSTNAME", HOST.encode())
    for name, value in fields:
        out += field(name, value if isinstance(value, bytes) else value.encode())
    return out + b"\n"


def service(unit, priority, pid, ident, message):
    return [("_TRANSPORT", "syslog"), ("_SYSTEMD_UNIT", unit), ("PRIORITY", str(priority)), ("_PID", str(pid)),
            ("SYSLOG_IDENTIFIER", ident), ("MESSAGE", message)]


# 100 KiB of binary but compressible bytes: journal-remote compresses it, so libsystemd's default 64 KiB data
# threshold would cut it; the reader must return it whole.
LARGE = bytes((i * 7 + (i >> 9)) & 0xFF for i in range(100 * 1024))

BASIC = [
    service("ssh.service", 6, 812, "sshd", "Accepted publickey for deploy from 10.0.0.5 port 52344 ssh2"),
    service("cron.service", 6, 901, "CRON", "(root) CMD (run-parts /etc/cron.hourly)"),
    service("ssh.service", 3, 812, "sshd", b"Invalid user \xff\xfeadmin\x00 from 10.0.0.9\nsecond line\r"),
    service("nginx.service", 4, 1200, "nginx", "upstream timed out (110: Connection timed out)"),
    service("ssh.service", 6, 813, "sshd", "Connection closed by 10.0.0.5 port 52344"),
    service("cron.service", 3, 902, "CRON", LARGE),
    [("_TRANSPORT", "kernel"), ("PRIORITY", "5"), ("SYSLOG_IDENTIFIER", "kernel"),
     ("MESSAGE", "usb 1-1: new high-speed USB device number 2 using xhci_hcd")],
    service("nginx.service", 6, 1201, "nginx", ""),
    service("ssh.service", 4, 814, "sshd", "Benutzer \u00fc \u65e5\u672c: too many auth failures".encode()),
]

APPENDED = [
    service("ssh.service", 6, 815, "sshd", "after rotation: session opened for user deploy"),
    service("cron.service", 6, 903, "CRON", b"after rotation: \x00\x01\x02 binary"),
    service("nginx.service", 3, 1202, "nginx", "after rotation: worker process exited on signal 11"),
]


def write(path: str, entries: list, start_us: int) -> None:
    with open(path, "wb") as out:
        for offset, fields in enumerate(entries):
            out.write(entry(start_us + offset * 1_500_001, fields))


write("basic.export", BASIC, BASE_US + 1)
write("appended.export", APPENDED, BASE_US + 60_000_000)
