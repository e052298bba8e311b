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

int sock_setsockopt(int fd, struct shim_socket *sock, int level, int name,
		    const void *value, socklen_t len)
{
	if (REAL(setsockopt)(fd, level, name, value, len) != 0)
		return -errno;
	if (level == IPPROTO_TCP && name == TCP_DEFER_ACCEPT)
		sock->defer_accept = *(const int *)value > 0;
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
