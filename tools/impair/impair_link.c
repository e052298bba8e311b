#include "impair_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bursts at several Gbit/s must not overflow the socket while the stage
 * sleeps or sends: tens of milliseconds of frames. */
#define SOCKET_BUFFER_BYTES (32 * 1024 * 1024)

static int fail(struct impair_link *link, char *why, size_t why_size,
		const char *what)
{
	snprintf(why, why_size, "%s: %s: %s", link->name, what, strerror(errno));
	impair_link_close(link);
	return -1;
}

static int set_option(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* The FORCE variants pass the rmem_max/wmem_max limits (root only);
 * without them take what the limits allow. */
static void set_buffer(int fd, int force_name, int name)
{
	if (set_option(fd, SOL_SOCKET, force_name, SOCKET_BUFFER_BYTES) != 0)
		set_option(fd, SOL_SOCKET, name, SOCKET_BUFFER_BYTES);
}

int impair_link_open(struct impair_link *link, const char *name, char *why,
		     size_t why_size)
{
	struct sockaddr_ll address;
	struct packet_mreq promiscuous;
	struct ifreq request;

	*link = (struct impair_link){ .name = name, .fd = -1 };
	link->ifindex = strlen(name) < IFNAMSIZ ? if_nametoindex(name) : 0;
	if (link->ifindex == 0) {
		snprintf(why, why_size, "no interface '%s'", name);
		return -2;
	}
	/* Protocol 0 receives nothing until bind() names the interface, so
	 * no frame of another interface slips in. */
	link->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (link->fd < 0)
		return fail(link, why, why_size, "AF_PACKET socket");
	/* The stage's own transmissions out of this interface would
	 * otherwise come back as received frames. */
	if (set_option(link->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1) != 0)
		return fail(link, why, why_size, "PACKET_IGNORE_OUTGOING");
	if (set_option(link->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1) != 0)
		return fail(link, why, why_size, "PACKET_QDISC_BYPASS");
	set_buffer(link->fd, SO_RCVBUFFORCE, SO_RCVBUF);
	set_buffer(link->fd, SO_SNDBUFFORCE, SO_SNDBUF);

	address = (struct sockaddr_ll){
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)link->ifindex,
	};
	if (bind(link->fd, (struct sockaddr *)&address, sizeof(address)) != 0)
		return fail(link, why, why_size, "bind");
	/* A bridge forwards frames for any address (veths deliver them
	 * anyway; real NICs filter without this). */
	promiscuous = (struct packet_mreq){
		.mr_ifindex = (int)link->ifindex,
		.mr_type = PACKET_MR_PROMISC,
	};
	if (setsockopt(link->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promiscuous,
		       sizeof(promiscuous)) != 0)
		return fail(link, why, why_size, "promiscuous mode");

	memset(&request, 0, sizeof(request));
	snprintf(request.ifr_name, sizeof(request.ifr_name), "%s", name);
	if (ioctl(link->fd, SIOCGIFMTU, &request) != 0)
		return fail(link, why, why_size, "MTU");
	link->mtu = (uint32_t)request.ifr_mtu;
	return 0;
}

void impair_link_close(struct impair_link *link)
{
	if (link->fd >= 0)
		close(link->fd);
	link->fd = -1;
}

/* One message per frame buffer, at most IMPAIR_BATCH; returns how many. */
static unsigned frame_messages(struct mmsghdr *messages, const struct iovec *iov,
			       unsigned n)
{
	if (n > IMPAIR_BATCH)
		n = IMPAIR_BATCH;
	memset(messages, 0, n * sizeof(messages[0]));
	for (unsigned i = 0; i < n; i++) {
		messages[i].msg_hdr.msg_iov = (struct iovec *)&iov[i];
		messages[i].msg_hdr.msg_iovlen = 1;
	}
	return n;
}

int impair_link_recv(struct impair_link *link, const struct iovec *iov,
		     uint32_t *lengths, unsigned n)
{
	struct mmsghdr messages[IMPAIR_BATCH];
	int got;

	n = frame_messages(messages, iov, n);
	/* MSG_TRUNC: the full length of a frame too big for its buffer. */
	do {
		got = recvmmsg(link->fd, messages, n, MSG_DONTWAIT | MSG_TRUNC, NULL);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = 0; i < got; i++)
		lengths[i] = messages[i].msg_len;
	return got;
}

int impair_link_send(struct impair_link *link, const struct iovec *iov,
		     unsigned n)
{
	struct mmsghdr messages[IMPAIR_BATCH];
	int sent;

	n = frame_messages(messages, iov, n);
	do {
		sent = sendmmsg(link->fd, messages, n, MSG_DONTWAIT);
	} while (sent < 0 && errno == EINTR);
	return sent < 0 ? -errno : sent;
}

int impair_link_error(struct impair_link *link)
{
	int error = 0;
	socklen_t size = sizeof(error);

	if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
		return errno;
	return error;
}
