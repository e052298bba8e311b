/*
 * TCP options: MSS (RFC 9293 section 3.2), window scale and timestamps
 * (RFC 7323), SACK-permitted and SACK blocks (RFC 2018).
 *
 * The parser treats the option bytes as hostile: every read is bounded by
 * len, and a kind/length pair that does not fit is an error rather than a
 * guess.
 */
#include "tcp_options.h"

#include <string.h>

#include <rte_byteorder.h>

#define TCP_OPT_LEN_MSS 4
#define TCP_OPT_LEN_WSCALE 3
#define TCP_OPT_LEN_SACK_PERMITTED 2
#define TCP_OPT_LEN_TIMESTAMP 10
#define TCP_OPT_LEN_SACK_BLOCK 8
/* kind and length bytes */
#define TCP_OPT_HEADER_LEN 2

static inline uint16_t load_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_16(v);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	v = rte_cpu_to_be_16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	v = rte_cpu_to_be_32(v);
	memcpy(p, &v, sizeof(v));
}

static bool is_valid_sack_len(unsigned opt_len)
{
	unsigned blocks_len = opt_len - TCP_OPT_HEADER_LEN;

	return blocks_len > 0 && blocks_len % TCP_OPT_LEN_SACK_BLOCK == 0 &&
	       blocks_len / TCP_OPT_LEN_SACK_BLOCK <= TCP_MAX_SACK_BLOCKS;
}

/* Store one option whose kind and length (>= 2, within the buffer) have
 * been read; -1 if its length is wrong for its kind. */
static int parse_one(const uint8_t *opt, unsigned opt_len, struct tcp_options *out)
{
	const uint8_t *value = opt + TCP_OPT_HEADER_LEN;

	switch (opt[0]) {
	case TCP_OPT_MSS:
		if (opt_len != TCP_OPT_LEN_MSS)
			return -1;
		out->has_mss = true;
		out->mss = load_be16(value);
		return 0;
	case TCP_OPT_WSCALE:
		if (opt_len != TCP_OPT_LEN_WSCALE)
			return -1;
		out->has_wscale = true;
		/* RFC 7323 section 2.3: use 14 for anything larger. */
		out->wscale = value[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : value[0];
		return 0;
	case TCP_OPT_SACK_PERMITTED:
		if (opt_len != TCP_OPT_LEN_SACK_PERMITTED)
			return -1;
		out->sack_permitted = true;
		return 0;
	case TCP_OPT_TIMESTAMP:
		if (opt_len != TCP_OPT_LEN_TIMESTAMP)
			return -1;
		out->has_timestamp = true;
		out->ts_val = load_be32(value);
		out->ts_ecr = load_be32(value + 4);
		return 0;
	case TCP_OPT_SACK:
		if (!is_valid_sack_len(opt_len))
			return -1;
		out->sack_count = (uint8_t)((opt_len - TCP_OPT_HEADER_LEN) /
					    TCP_OPT_LEN_SACK_BLOCK);
		for (unsigned i = 0; i < out->sack_count; i++) {
			const uint8_t *block = value + i * TCP_OPT_LEN_SACK_BLOCK;
			out->sack[i].start = load_be32(block);
			out->sack[i].end = load_be32(block + 4);
		}
		return 0;
	default:
		out->has_unknown = true;
		return 0;
	}
}

int tcp_options_parse(const uint8_t *opts, unsigned len, struct tcp_options *out)
{
	*out = (struct tcp_options){ 0 };

	unsigned pos = 0;
	while (pos < len) {
		uint8_t kind = opts[pos];
		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			pos++;
			continue;
		}
		if (len - pos < TCP_OPT_HEADER_LEN)
			return -1;
		unsigned opt_len = opts[pos + 1];
		if (opt_len < TCP_OPT_HEADER_LEN || opt_len > len - pos)
			return -1;
		if (parse_one(opts + pos, opt_len, out) != 0)
			return -1;
		pos += opt_len;
	}
	return 0;
}

static uint8_t *write_nops(uint8_t *p, unsigned count)
{
	memset(p, TCP_OPT_NOP, count);
	return p + count;
}

static uint8_t *write_timestamp(uint8_t *p, uint32_t ts_val, uint32_t ts_ecr)
{
	p[0] = TCP_OPT_TIMESTAMP;
	p[1] = TCP_OPT_LEN_TIMESTAMP;
	store_be32(p + 2, ts_val);
	store_be32(p + 6, ts_ecr);
	return p + TCP_OPT_LEN_TIMESTAMP;
}

/*
 * Layout as Linux sends it, every option aligned so that receivers' fast
 * paths recognise it: MSS; SACK-permitted fills the padding before the
 * timestamps (else NOP NOP); NOP and window scale last.
 */
unsigned tcp_options_write_syn(uint8_t *buf, const struct tcp_syn_options *o)
{
	uint8_t *p = buf;

	if (o->has_mss) {
		p[0] = TCP_OPT_MSS;
		p[1] = TCP_OPT_LEN_MSS;
		store_be16(p + 2, o->mss);
		p += TCP_OPT_LEN_MSS;
	}
	if (o->has_timestamp) {
		if (o->sack_permitted) {
			p[0] = TCP_OPT_SACK_PERMITTED;
			p[1] = TCP_OPT_LEN_SACK_PERMITTED;
			p += TCP_OPT_LEN_SACK_PERMITTED;
		} else {
			p = write_nops(p, 2);
		}
		p = write_timestamp(p, o->ts_val, o->ts_ecr);
	} else if (o->sack_permitted) {
		p = write_nops(p, 2);
		p[0] = TCP_OPT_SACK_PERMITTED;
		p[1] = TCP_OPT_LEN_SACK_PERMITTED;
		p += TCP_OPT_LEN_SACK_PERMITTED;
	}
	if (o->has_wscale) {
		p = write_nops(p, 1);
		p[0] = TCP_OPT_WSCALE;
		p[1] = TCP_OPT_LEN_WSCALE;
		p[2] = o->wscale;
		p += TCP_OPT_LEN_WSCALE;
	}
	return (unsigned)(p - buf);
}

void tcp_options_write_timestamp(uint8_t *buf, uint32_t ts_val, uint32_t ts_ecr)
{
	write_timestamp(write_nops(buf, 2), ts_val, ts_ecr);
}

unsigned tcp_options_write_sack(uint8_t *buf, const struct tcp_sack_block *blocks,
				unsigned count)
{
	uint8_t *p = write_nops(buf, 2);

	p[0] = TCP_OPT_SACK;
	p[1] = (uint8_t)(2 + 8 * count);
	p += 2;
	for (unsigned i = 0; i < count; i++, p += 8) {
		store_be32(p, blocks[i].start);
		store_be32(p + 4, blocks[i].end);
	}
	return tcp_sack_options_len(count);
}

bool tcp_options_is_timestamp_only(const uint8_t *opts, unsigned len,
				   uint32_t *ts_val, uint32_t *ts_ecr)
{
	static const uint8_t prefix[4] = { TCP_OPT_NOP, TCP_OPT_NOP,
					   TCP_OPT_TIMESTAMP,
					   TCP_OPT_LEN_TIMESTAMP };

	if (len != TCP_TS_OPTIONS_LEN || memcmp(opts, prefix, sizeof(prefix)) != 0)
		return false;
	*ts_val = load_be32(opts + 4);
	*ts_ecr = load_be32(opts + 8);
	return true;
}
