/*
 * TCP options: MSS (RFC 9293), window scale and timestamps (RFC 7323),
 * SACK-permitted and SACK blocks (RFC 2018).
 */
#ifndef TAS_TCP_OPTIONS_H
#define TAS_TCP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WSCALE 3
#define TCP_OPT_SACK_PERMITTED 4
#define TCP_OPT_SACK 5
#define TCP_OPT_TIMESTAMP 8

#define TCP_MAX_WSCALE 14
#define TCP_MAX_SACK_BLOCKS 4
/* Room for MSS, SACK-permitted, timestamps and window scale on a SYN. */
#define TCP_SYN_OPTIONS_MAX 20
/* NOP NOP TS: the options of every segment once timestamps are on. */
#define TCP_TS_OPTIONS_LEN 12

struct tcp_sack_block {
	uint32_t start;
	uint32_t end;
};

struct tcp_options {
	bool has_mss;
	bool has_wscale;
	bool sack_permitted;
	bool has_timestamp;
	uint16_t mss;
	uint8_t wscale;               /* clamped to TCP_MAX_WSCALE */
	uint8_t sack_count;
	uint32_t ts_val;
	uint32_t ts_ecr;
	struct tcp_sack_block sack[TCP_MAX_SACK_BLOCKS];
	bool has_unknown;             /* an option kind not listed above */
};

/* Parse len bytes of options.  Returns 0, or -1 if malformed (truncated
 * option, length < 2, wrong length for a known kind). */
int tcp_options_parse(const uint8_t *opts, unsigned len, struct tcp_options *out);

/* Options to put on a SYN or SYN-ACK.  Fields with has_* false (and
 * sack_permitted false) are left out. */
struct tcp_syn_options {
	bool has_mss;
	bool has_wscale;
	bool sack_permitted;
	bool has_timestamp;
	uint16_t mss;
	uint8_t wscale;
	uint32_t ts_val;
	uint32_t ts_ecr;
};

/* Write SYN options into buf (TCP_SYN_OPTIONS_MAX bytes); returns the
 * length written, a multiple of 4. */
unsigned tcp_options_write_syn(uint8_t *buf, const struct tcp_syn_options *o);

/* Write NOP NOP TS(val, ecr): TCP_TS_OPTIONS_LEN bytes. */
void tcp_options_write_timestamp(uint8_t *buf, uint32_t ts_val, uint32_t ts_ecr);

/* NOP NOP SACK with count blocks: its length, a multiple of 4.  Room
 * for 3 blocks next to timestamps, 4 without (40 option bytes). */
static inline unsigned tcp_sack_options_len(unsigned count)
{
	return 4 + 8 * count;
}
#define TCP_SACK_BLOCKS_WITH_TS 3
/* Write NOP NOP SACK(blocks); returns tcp_sack_options_len(count). */
unsigned tcp_options_write_sack(uint8_t *buf, const struct tcp_sack_block *blocks,
				unsigned count);

/* Fast check for the common case: exactly NOP NOP TS.  On success stores
 * the timestamp values and returns true. */
bool tcp_options_is_timestamp_only(const uint8_t *opts, unsigned len,
				   uint32_t *ts_val, uint32_t *ts_ecr);

#endif /* TAS_TCP_OPTIONS_H */
