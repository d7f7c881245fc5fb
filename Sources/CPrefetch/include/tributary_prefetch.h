#ifndef TRIBUTARY_PREFETCH_H
#define TRIBUTARY_PREFETCH_H

/// Asks the CPU to load the cache line holding `address` for reading (a hint: never faults, also for an
/// address outside any allocation). Swift has no prefetch intrinsic; this inlines into the caller.
static inline __attribute__((always_inline)) void tributary_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
