/*
 * One side of the impairment stage: an AF_PACKET socket bound to a Linux
 * interface that receives every frame arriving there (not the frames the
 * stage itself sends out of it) and sends whole frames out of it,
 * bypassing the qdisc, in batches.
 */
#ifndef TAS_IMPAIR_LINK_H
#define TAS_IMPAIR_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Frames per recvmmsg/sendmmsg call. */
#define IMPAIR_BATCH 64u

struct impair_link {
	const char *name;
	int fd;
	unsigned ifindex;
	uint32_t mtu;
};

/* Open and bind the socket for interface name.  Returns 0; -1 with why
 * filled in; -2 (with why) if there is no such interface. */
int impair_link_open(struct impair_link *link, const char *name, char *why,
		     size_t why_size);
void impair_link_close(struct impair_link *link);

/* Receive up to n waiting frames (without blocking) into iov[i]; the
 * length of frame i goes to lengths[i], its full length even if it did
 * not fit.  Returns the number received (0 if none waits), or -errno. */
int impair_link_recv(struct impair_link *link, const struct iovec *iov,
		     uint32_t *lengths, unsigned n);

/* Send the n frames iov[i] (without blocking).  Returns how many went
 * out, in order (at least 1), or -errno for the first one if it failed. */
int impair_link_send(struct impair_link *link, const struct iovec *iov,
		     unsigned n);

/* The socket's pending error (clearing it), e.g. after POLLERR. */
int impair_link_error(struct impair_link *link);

#endif /* TAS_IMPAIR_LINK_H */
