/*
 * Initial sequence numbers (RFC 6528) and ephemeral port selection
 * (RFC 6056), both built on SipHash-2-4 (Aumasson and Bernstein, "SipHash:
 * a fast short-input PRF", 2012) keyed with secrets from getrandom().
 */
#ifndef TAS_ISN_H
#define TAS_ISN_H

#include <stddef.h>
#include <stdint.h>

#include "flow_table.h"

struct siphash_key {
	uint64_t k0;
	uint64_t k1;
};

/* SipHash-2-4 of len bytes at data. */
uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);

/* Fill key with random bytes; 0 or -errno. */
int siphash_key_random(struct siphash_key *key);

/*
 * RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a timer ticking every 4 microseconds (now_us / 4) and F
 * SipHash-2-4 of the 4-tuple.
 */
uint32_t isn_generate(const struct siphash_key *secret,
		      const struct flow_key *key, uint64_t now_us);

/*
 * RFC 6056 section 3.3.3 (algorithm 3): where the search for a free
 * ephemeral port to remote_ip:remote_port starts, as an offset added to a
 * global counter; a per-destination hash keeps the sequence of ports used
 * towards one peer unpredictable to others.
 */
uint32_t ephemeral_port_offset(const struct siphash_key *secret,
			       uint32_t local_ip, uint32_t remote_ip,
			       uint16_t remote_port);

#endif /* TAS_ISN_H */
