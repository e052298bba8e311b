/* Non-blocking TCP socket helpers for the Linux (kernel stack) programs.
 * Addresses and ports in host byte order; errors return -1 with errno. */
#ifndef TAS_APPS_LINUX_SOCKET_H
#define TAS_APPS_LINUX_SOCKET_H

#include <stdbool.h>
#include <stdint.h>

/* A non-blocking listening socket on ip:port (SO_REUSEADDR; with
 * reuse_port also SO_REUSEPORT so each thread can have its own). */
int linux_socket_listen(uint32_t ip, uint16_t port, uint32_t backlog,
			bool reuse_port);

/* Start a non-blocking connect (TCP_NODELAY set), optionally from
 * bind_ip (0: any).  In-progress connects return the fd. */
int linux_socket_connect(uint32_t ip, uint16_t port, uint32_t bind_ip);

/* The socket's pending error (SO_ERROR), 0 if none. */
int linux_socket_error(int fd);

/* Disable Nagle: request/response latency must not wait for ACKs. */
void linux_socket_nodelay(int fd);

/* Reset the connection: SO_LINGER {1, 0} then close sends RST. */
void linux_socket_abort(int fd);

/* Is errno the peer resetting the connection? */
bool linux_socket_is_reset_errno(int error);

#endif /* TAS_APPS_LINUX_SOCKET_H */
