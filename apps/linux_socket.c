#include "linux_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in ipv4_address(uint32_t ip, uint16_t port)
{
	struct sockaddr_in address;

	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(ip);
	address.sin_port = htons(port);
	return address;
}

static int set_int_option(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static void close_keeping_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

int linux_socket_listen(uint32_t ip, uint16_t port, uint32_t backlog,
			bool reuse_port)
{
	struct sockaddr_in address = ipv4_address(ip, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0 ||
	    (reuse_port && set_int_option(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) ||
	    bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
	    listen(fd, (int)backlog) != 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

int linux_socket_connect(uint32_t ip, uint16_t port, uint32_t bind_ip)
{
	struct sockaddr_in remote = ipv4_address(ip, port);
	struct sockaddr_in local = ipv4_address(bind_ip, 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	linux_socket_nodelay(fd);
	if (bind_ip != 0 &&
	    bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0) {
		close_keeping_errno(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&remote, sizeof(remote)) != 0 &&
	    errno != EINPROGRESS) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

int linux_socket_error(int fd)
{
	int error = 0;
	socklen_t length = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
		return errno;
	return error;
}

void linux_socket_nodelay(int fd)
{
	set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

void linux_socket_abort(int fd)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
	close(fd);
}

bool linux_socket_is_reset_errno(int error)
{
	return error == ECONNRESET || error == EPIPE;
}
