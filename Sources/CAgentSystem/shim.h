// Linux calls Glibc's Swift module does not expose (statx needs _GNU_SOURCE there).
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/stat.h>

/// Birth time of the open file `fd` in nanoseconds since the epoch; 0 when the file system does not record it
/// or statx is unavailable.
static inline uint64_t tributary_birth_time_ns(int fd) {
    struct statx st;
    if (syscall(__NR_statx, fd, "", 0x1000 /* AT_EMPTY_PATH */, STATX_BTIME, &st) != 0) return 0;
    if (!(st.stx_mask & STATX_BTIME)) return 0;
    return (uint64_t)st.stx_btime.tv_sec * 1000000000ull + (uint64_t)st.stx_btime.tv_nsec;
}

#include <malloc.h>

/// Returns the free memory of every malloc arena to the kernel (glibc's malloc keeps freed pages of its
/// per-thread arenas resident otherwise).
static inline void tributary_release_free_memory(void) {
    malloc_trim(0);
}

/// Caps glibc's malloc arenas (mallopt M_ARENA_MAX; a macro, so not visible to Swift); returns mallopt's result.
static inline int tributary_limit_malloc_arenas(int count) {
    return mallopt(M_ARENA_MAX, count);
}
