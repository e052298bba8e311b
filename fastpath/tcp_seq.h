/*
 * TCP sequence-number arithmetic (RFC 9293 section 3.4): comparisons modulo
 * 2^32, valid while the two numbers are less than 2^31 apart.
 */
#ifndef TAS_TCP_SEQ_H
#define TAS_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

/* start <= seq < start + len */
static inline bool seq_in_range(uint32_t seq, uint32_t start, uint32_t len)
{
	return seq - start < len;
}

#endif /* TAS_TCP_SEQ_H */
