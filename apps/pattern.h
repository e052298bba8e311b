/*
 * Deterministic test data: the byte at stream offset i of the stream
 * with seed s is a pure function of (s, i), so a receiver can verify any
 * received range without state.  Bytes come 8 at a time from a 64-bit
 * mix of the seed and i / 8 (splitmix64 finalizer), little-endian.
 */
#ifndef TAS_APPS_PATTERN_H
#define TAS_APPS_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Write the len bytes at stream offset `offset` into buf. */
void pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len);

/* Compare buf with the stream at `offset`; returns len if every byte
 * matches, else the index in buf of the first byte that does not. */
size_t pattern_verify(uint64_t seed, uint64_t offset, const void *buf,
		      size_t len);

/* The single byte at stream offset `offset`. */
uint8_t pattern_byte(uint64_t seed, uint64_t offset);

#endif /* TAS_APPS_PATTERN_H */
