/*
 * Circular byte buffers of power-of-two size, as used for the per-flow
 * receive and transmit buffers in application regions.  Positions are
 * offsets in [0, size).
 */
#ifndef TAS_CIRC_BUF_H
#define TAS_CIRC_BUF_H

#include <stdint.h>
#include <string.h>

static inline uint32_t circ_advance(uint32_t pos, uint32_t len, uint32_t size)
{
	return (pos + len) & (size - 1);
}

/* Bytes from pos to the end of the buffer, at most len. */
static inline uint32_t circ_contiguous(uint32_t pos, uint32_t len, uint32_t size)
{
	uint32_t to_end = size - pos;
	return len < to_end ? len : to_end;
}

/* Copy len bytes from src into the buffer at pos, wrapping. */
static inline void circ_write(uint8_t *buf, uint32_t size, uint32_t pos,
			      const void *src, uint32_t len)
{
	uint32_t first = circ_contiguous(pos, len, size);
	memcpy(buf + pos, src, first);
	memcpy(buf, (const uint8_t *)src + first, len - first);
}

/* Copy len bytes out of the buffer at pos into dst, wrapping. */
static inline void circ_read(const uint8_t *buf, uint32_t size, uint32_t pos,
			     void *dst, uint32_t len)
{
	uint32_t first = circ_contiguous(pos, len, size);
	memcpy(dst, buf + pos, first);
	memcpy((uint8_t *)dst + first, buf, len - first);
}

#endif /* TAS_CIRC_BUF_H */
