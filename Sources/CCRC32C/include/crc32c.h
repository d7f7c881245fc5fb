#ifndef TRIBUTARY_CRC32C_H
#define TRIBUTARY_CRC32C_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC-32C (Castagnoli, iSCSI, RFC 3720) of `length` bytes at `data`, continuing from `crc`.
///
/// `crc` is a finished checksum (0 to start), so
/// `tributary_crc32c(tributary_crc32c(0, a, n), b, m)` equals the checksum of `a` followed by `b`.
/// Uses SSE4.2 (x86-64) or the ARMv8 CRC instructions when the CPU has them, else slicing-by-8.
uint32_t tributary_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable slicing-by-8 implementation (same contract as `tributary_crc32c`).
uint32_t tributary_crc32c_software(uint32_t crc, const void *data, size_t length);

/// The hardware implementation if `tributary_crc32c_hardware_available()`, else the software one.
uint32_t tributary_crc32c_hardware(uint32_t crc, const void *data, size_t length);

/// Whether this CPU has CRC-32C instructions that `tributary_crc32c` uses.
bool tributary_crc32c_hardware_available(void);

#ifdef __cplusplus
}
#endif

#endif
