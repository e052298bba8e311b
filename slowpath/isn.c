/*
 * SipHash-2-4 written from the SipHash paper (Aumasson and Bernstein,
 * 2012), used for RFC 6528 initial sequence numbers and RFC 6056 port
 * selection.
 */
#include "isn.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define SIPHASH_C_ROUNDS 2
#define SIPHASH_D_ROUNDS 4

static inline uint64_t rotl64(uint64_t x, unsigned bits)
{
	return (x << bits) | (x >> (64 - bits));
}

/* Little-endian load of 8 bytes, independent of host byte order. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static inline void sip_compress(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	for (int i = 0; i < SIPHASH_C_ROUNDS; i++)
		sip_round(s);
	s->v0 ^= m;
}

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len)
{
	const uint8_t *in = data;
	struct sip_state s = {
		.v0 = key->k0 ^ 0x736f6d6570736575ull, /* "somepseu" */
		.v1 = key->k1 ^ 0x646f72616e646f6dull, /* "dorandom" */
		.v2 = key->k0 ^ 0x6c7967656e657261ull, /* "lygenera" */
		.v3 = key->k1 ^ 0x7465646279746573ull, /* "tedbytes" */
	};
	size_t full = len - len % 8;

	for (size_t off = 0; off < full; off += 8)
		sip_compress(&s, load_le64(in + off));

	/* Last block: the remaining bytes, and len mod 256 in the top byte. */
	uint8_t tail[8] = { 0 };
	memcpy(tail, in + full, len - full);
	tail[7] = (uint8_t)len;
	sip_compress(&s, load_le64(tail));

	s.v2 ^= 0xff;
	for (int i = 0; i < SIPHASH_D_ROUNDS; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

int siphash_key_random(struct siphash_key *key)
{
	uint8_t bytes[sizeof(*key)];
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	key->k0 = load_le64(bytes);
	key->k1 = load_le64(bytes + 8);
	return 0;
}

uint32_t isn_generate(const struct siphash_key *secret,
		      const struct flow_key *key, uint64_t now_us)
{
	uint8_t tuple[12];

	memcpy(tuple, &key->local_ip, 4);
	memcpy(tuple + 4, &key->local_port, 2);
	memcpy(tuple + 6, &key->remote_ip, 4);
	memcpy(tuple + 10, &key->remote_port, 2);
	uint32_t clock = (uint32_t)(now_us / 4);
	return clock + (uint32_t)siphash24(secret, tuple, sizeof(tuple));
}

uint32_t ephemeral_port_offset(const struct siphash_key *secret,
			       uint32_t local_ip, uint32_t remote_ip,
			       uint16_t remote_port)
{
	uint8_t destination[10];

	memcpy(destination, &local_ip, 4);
	memcpy(destination + 4, &remote_ip, 4);
	memcpy(destination + 8, &remote_port, 2);
	return (uint32_t)siphash24(secret, destination, sizeof(destination));
}
