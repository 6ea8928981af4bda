// Heap statistics for the benchmarks: bytes the allocator has handed out and not yet
// had back, which (unlike resident memory) does not count freed-but-kept pages.
#ifndef CK_HEAP_H
#define CK_HEAP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bytes currently allocated through malloc (glibc `mallinfo2`: in-use chunks plus
/// mmapped blocks); 0 where the C library has no such call.
size_t ck_heap_in_use(void);

#ifdef __cplusplus
}
#endif

#endif
