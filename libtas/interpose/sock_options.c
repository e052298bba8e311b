/*
 * Socket options, fcntl and ioctl on tas sockets.
 *
 * The placeholder is a real TCP socket, so setsockopt first goes to it:
 * the kernel validates every option and value exactly as for a socket of
 * its own, stores it, and getsockopt reads it back.  On top of that the
 * shim acts on the options that change what it does (timeouts, SO_LINGER)
 * and answers those whose value is the tas connection's (SO_ERROR,
 * SO_ACCEPTCONN, TCP_INFO).  What it stores but does not act on is listed
 * in doc/interpose.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/sockios.h>
#include <netinet/tcp.h>

#include "real_calls.h"
#include "shim.h"
#include "tas/tas.h"

int sock_take_error(struct shim_socket *sock)
{
	int err = sock->pending_error;

	sock->pending_error = 0;
	return err;
}

static struct timespec timeval_to_timespec(const struct timeval *tv)
{
	return (struct timespec){ .tv_sec = tv->tv_sec,
				  .tv_nsec = tv->tv_usec * 1000 };
}

void sock_tcp_options_init(struct shim_tcp_options *tcp)
{
	*tcp = (struct shim_tcp_options){
		.keepidle = 7200,
		.keepintvl = 75,
		.keepcnt = 9,
		.congestion = -1,
	};
}

/* Linux's limit on an algorithm's name (include/net/tcp.h). */
#define CONGESTION_NAME_MAX 16

/* Linux's names where they differ from tas --cc's. */
static const char *const congestion_names[] = {
	[TAS_CC_NEWRENO] = "reno",
	[TAS_CC_CUBIC] = "cubic",
	[TAS_CC_DCTCP] = "dctcp",
	[TAS_CC_DCTCP_RATE] = "dctcp-rate",
	[TAS_CC_TIMELY] = "timely",
	[TAS_CC_CONST_RATE] = "const-rate",
};
#define CONGESTION_COUNT (sizeof(congestion_names) / sizeof(congestion_names[0]))

/* TCP_CONGESTION names an algorithm of the service, not of the kernel
 * (which may not have it): the shim answers it alone. */
static int set_congestion(struct shim_socket *sock, const void *value,
			  socklen_t len)
{
	char name[CONGESTION_NAME_MAX] = "";

	if (value == NULL || (int)len < 0)
		return -EFAULT;
	memcpy(name, value, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
	for (unsigned i = 0; i < CONGESTION_COUNT; i++)
		if (strcmp(name, congestion_names[i]) == 0 ||
		    (i == TAS_CC_NEWRENO && strcmp(name, "newreno") == 0)) {
			sock->tcp.congestion = (int)i;
			sock_push_tcp_options(sock);
			return 0;
		}
	return -ENOENT;
}

/* Remember the TCP options the service acts on; value and len passed
 * the kernel's checks. */
static void note_tcp_option(struct shim_socket *sock, int level, int name,
			    const void *value)
{
	int number = *(const int *)value;

	if (level == SOL_SOCKET && name == SO_KEEPALIVE)
		sock->tcp.keepalive = number != 0;
	else if (level != IPPROTO_TCP)
		return;
	else if (name == TCP_NODELAY)
		sock->tcp.nodelay = number != 0;
	else if (name == TCP_KEEPIDLE)
		sock->tcp.keepidle = number;
	else if (name == TCP_KEEPINTVL)
		sock->tcp.keepintvl = number;
	else if (name == TCP_KEEPCNT)
		sock->tcp.keepcnt = number;
	else
		return;
	sock_push_tcp_options(sock);
}

void sock_push_tcp_options(struct shim_socket *sock)
{
	struct shim_tcp_options *tcp = &sock->tcp;

	if (sock->state != SHIM_CONNECTED || sock->conn == NULL)
		return;
	/* Each is a command to the service: only what differs from a
	 * libtas connection's defaults (no Nagle, no keepalive) goes.
	 * Errors mean the connection is going: nothing left to tune. */
	tas_conn_set_option(sock->conn, TAS_OPT_NODELAY, tcp->nodelay);
	if (tcp->keepalive) {
		tas_conn_set_option(sock->conn, TAS_OPT_KEEPIDLE, (uint64_t)tcp->keepidle);
		tas_conn_set_option(sock->conn, TAS_OPT_KEEPINTVL, (uint64_t)tcp->keepintvl);
		tas_conn_set_option(sock->conn, TAS_OPT_KEEPCNT, (uint64_t)tcp->keepcnt);
	}
	if (tcp->keepalive || tcp->keepalive_pushed) {
		tas_conn_set_option(sock->conn, TAS_OPT_KEEPALIVE, tcp->keepalive);
		tcp->keepalive_pushed = true;
	}
	if (tcp->congestion >= 0)
		tas_conn_set_option(sock->conn, TAS_OPT_CONGESTION,
				    (uint64_t)tcp->congestion);
}

void sock_mirror_tcp_options(int fd, const struct shim_tcp_options *tcp)
{
	const struct {
		int level, name, value;
	} options[] = {
		{ IPPROTO_TCP, TCP_NODELAY, tcp->nodelay },
		{ SOL_SOCKET, SO_KEEPALIVE, tcp->keepalive },
		{ IPPROTO_TCP, TCP_KEEPIDLE, tcp->keepidle },
		{ IPPROTO_TCP, TCP_KEEPINTVL, tcp->keepintvl },
		{ IPPROTO_TCP, TCP_KEEPCNT, tcp->keepcnt },
	};

	/* Values the listener's placeholder accepted: no error to expect. */
	for (unsigned i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		REAL(setsockopt)(fd, options[i].level, options[i].name,
				 &options[i].value, sizeof(int));
}

int sock_setsockopt(int fd, struct shim_socket *sock, int level, int name,
		    const void *value, socklen_t len)
{
	if (level == IPPROTO_TCP && name == TCP_CONGESTION)
		return set_congestion(sock, value, len);
	if (REAL(setsockopt)(fd, level, name, value, len) != 0)
		return -errno;
	if (level == IPPROTO_TCP && name == TCP_DEFER_ACCEPT)
		sock->defer_accept = *(const int *)value > 0;
	note_tcp_option(sock, level, name, value);
	if (level != SOL_SOCKET)
		return 0;

	/* The kernel accepted it: value and len are valid for the option. */
	switch (name) {
	case SO_RCVTIMEO:
		sock->rcv_timeout = timeval_to_timespec(value);
		break;
	case SO_SNDTIMEO:
		sock->snd_timeout = timeval_to_timespec(value);
		break;
	case SO_REUSEPORT:
		sock->reuseport = *(const int *)value != 0;
		break;
	case SO_LINGER: {
		const struct linger *linger = value;
		sock->linger_abort = linger->l_onoff && linger->l_linger == 0;
		break;
	}
	default:
		break;
	}
	return 0;
}

static uint8_t tcp_state(const struct shim_socket *sock)
{
	switch (sock->state) {
	case SHIM_LISTENING:
		return TCP_LISTEN;
	case SHIM_CONNECTING:
		return TCP_SYN_SENT;
	case SHIM_CONNECTED:
		if (sock->reset)
			return TCP_CLOSE;
		if (sock->peer_fin)
			return sock->wr_shut ? TCP_LAST_ACK : TCP_CLOSE_WAIT;
		return sock->wr_shut ? TCP_FIN_WAIT1 : TCP_ESTABLISHED;
	case SHIM_INHERITED:
	case SHIM_ADOPTING:
		return TCP_ESTABLISHED; /* as far as this process knows */
	case SHIM_FRESH:
	case SHIM_MOVED:
		break;
	}
	return TCP_CLOSE;
}

static int copy_out(void *value, socklen_t *len, const void *data,
		    socklen_t size)
{
	if (value == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (*len > size)
		*len = size;
	memcpy(value, data, *len);
	return 0;
}

static int get_tcp_info(const struct shim_socket *sock, void *value,
			socklen_t *len)
{
	struct tcp_info info;

	memset(&info, 0, sizeof(info));
	info.tcpi_state = tcp_state(sock);
	return copy_out(value, len, &info, sizeof(info));
}

int sock_getsockopt(int fd, struct shim_socket *sock, int level, int name,
		    void *value, socklen_t *len)
{
	if (level == SOL_SOCKET && name == SO_ERROR) {
		int err = sock_take_error(sock);
		return copy_out(value, len, &err, sizeof(err));
	}
	if (level == SOL_SOCKET && name == SO_ACCEPTCONN) {
		int listening = sock->state == SHIM_LISTENING;
		return copy_out(value, len, &listening, sizeof(listening));
	}
	if (level == IPPROTO_TCP && name == TCP_INFO)
		return get_tcp_info(sock, value, len);
	if (level == IPPROTO_TCP && name == TCP_CONGESTION &&
	    sock->tcp.congestion >= 0) {
		char text[CONGESTION_NAME_MAX] = "";

		strcpy(text, congestion_names[sock->tcp.congestion]);
		return copy_out(value, len, text, sizeof(text));
	}
	return REAL(getsockopt)(fd, level, name, value, len) == 0 ? 0 : -errno;
}

int sock_fcntl(int fd, struct shim_socket *sock, int cmd, unsigned long arg)
{
	int result = REAL(fcntl)(fd, cmd, arg);

	if (result < 0)
		return -errno;
	switch (cmd) {
	case F_SETFL:
		sock->nonblocking = arg & O_NONBLOCK;
		break;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (!fd_fits(result)) {
			REAL(close)(result);
			return -EMFILE;
		}
		fd_attach(result, sock);
		break;
	default:
		break;
	}
	return result;
}

int sock_ioctl(int fd, struct shim_socket *sock, unsigned long request,
	       void *arg)
{
	switch (request) {
	case FIONREAD: /* SIOCINQ */
		if (sock->state == SHIM_LISTENING)
			return -EINVAL;
		if (arg == NULL)
			return -EFAULT;
		*(int *)arg = sock->conn != NULL && sock->state == SHIM_CONNECTED
			? (int)tas_recv_pending(sock->conn) : 0;
		return 0;
	case FIONBIO:
		if (REAL(ioctl)(fd, request, arg) != 0)
			return -errno;
		sock->nonblocking = *(const int *)arg != 0;
		return 0;
	default:
		return REAL(ioctl)(fd, request, arg) == 0 ? 0 : -errno;
	}
}
