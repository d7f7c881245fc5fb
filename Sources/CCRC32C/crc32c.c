// CRC-32C (Castagnoli): hardware where available, slicing-by-8 elsewhere.
//
// All functions work on the *internal* CRC state (the inverted checksum) and invert at the
// public boundary, so a finished checksum can be passed back in as `crc` to continue.
//
// The x86-64 path runs three independent `crc32` instruction streams over three adjacent
// blocks (the instruction has a latency of 3 cycles and a throughput of 1, so one stream
// uses a third of the unit) and merges them with precomputed "append N zero bytes" operators
// (crc32c_tables.h), the method of Mark Adler's crc32c.c (zlib license, stackoverflow 17646775).
// Combining rests on linearity: for states over GF(2), crc(s, A || B) = shift(crc(s, A), |B|) ^ crc(0, B).

#include "crc32c.h"
#include "crc32c_tables.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#endif

// Block sizes for the three interleaved streams; the shift tables are generated for exactly these.
#define CRC32C_LONG 8192
#define CRC32C_SHORT 256

static inline uint64_t load_le64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

// MARK: Software (slicing-by-8)

static uint32_t crc32c_sw_state(uint32_t state, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        state = (state >> 8) ^ crc32c_slice8[0][(state ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t word = load_le64(p) ^ state;
        state = crc32c_slice8[7][word & 0xff] ^ crc32c_slice8[6][(word >> 8) & 0xff] ^
                crc32c_slice8[5][(word >> 16) & 0xff] ^ crc32c_slice8[4][(word >> 24) & 0xff] ^
                crc32c_slice8[3][(word >> 32) & 0xff] ^ crc32c_slice8[2][(word >> 40) & 0xff] ^
                crc32c_slice8[1][(word >> 48) & 0xff] ^ crc32c_slice8[0][word >> 56];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        state = (state >> 8) ^ crc32c_slice8[0][(state ^ *p++) & 0xff];
        n--;
    }
    return state;
}

uint32_t tributary_crc32c_software(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    return ~crc32c_sw_state(~crc, (const unsigned char *)data, length);
}

// MARK: x86-64 SSE4.2

#if defined(__x86_64__)

static inline uint32_t crc32c_shift(const uint32_t table[4][256], uint32_t state) {
    return table[0][state & 0xff] ^ table[1][(state >> 8) & 0xff] ^ table[2][(state >> 16) & 0xff] ^
           table[3][state >> 24];
}

// Three streams over blocks of `block` bytes each while at least 3 * block bytes remain.
#define CRC32C_INTERLEAVE(block, table)                                             \
    while (n >= 3 * (block)) {                                                      \
        uint64_t c0 = state, c1 = 0, c2 = 0;                                        \
        const unsigned char *end = p + (block);                                     \
        do {                                                                        \
            uint64_t w0, w1, w2;                                                    \
            memcpy(&w0, p, 8);                                                      \
            memcpy(&w1, p + (block), 8);                                            \
            memcpy(&w2, p + 2 * (block), 8);                                        \
            c0 = _mm_crc32_u64(c0, w0);                                             \
            c1 = _mm_crc32_u64(c1, w1);                                             \
            c2 = _mm_crc32_u64(c2, w2);                                             \
            p += 8;                                                                 \
        } while (p < end);                                                          \
        state = crc32c_shift(table, (uint32_t)c0) ^ (uint32_t)c1;                   \
        state = crc32c_shift(table, state) ^ (uint32_t)c2;                          \
        p += 2 * (block);                                                           \
        n -= 3 * (block);                                                           \
    }

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw_state(uint32_t state, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        state = _mm_crc32_u8(state, *p++);
        n--;
    }
    CRC32C_INTERLEAVE(CRC32C_LONG, crc32c_long_shift)
    CRC32C_INTERLEAVE(CRC32C_SHORT, crc32c_short_shift)
    uint64_t c = state;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    state = (uint32_t)c;
    while (n > 0) {
        state = _mm_crc32_u8(state, *p++);
        n--;
    }
    return state;
}

bool tributary_crc32c_hardware_available(void) {
    return __builtin_cpu_supports("sse4.2");
}

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)

// The ARMv8 CRC32 extension is part of the compile target here, so no runtime check is needed.
static uint32_t crc32c_hw_state(uint32_t state, const unsigned char *p, size_t n) {
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        state = __crc32cb(state, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        state = __crc32cd(state, w);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        state = __crc32cb(state, *p++);
        n--;
    }
    return state;
}

bool tributary_crc32c_hardware_available(void) {
    return true;
}

#else

static uint32_t crc32c_hw_state(uint32_t state, const unsigned char *p, size_t n) {
    return crc32c_sw_state(state, p, n);
}

bool tributary_crc32c_hardware_available(void) {
    return false;
}

#endif

uint32_t tributary_crc32c_hardware(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    if (!tributary_crc32c_hardware_available()) return tributary_crc32c_software(crc, data, length);
    return ~crc32c_hw_state(~crc, (const unsigned char *)data, length);
}

uint32_t tributary_crc32c(uint32_t crc, const void *data, size_t length) {
    return tributary_crc32c_hardware(crc, data, length);
}
