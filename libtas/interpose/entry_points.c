/*
 * The functions a program calls: libc's sockets, descriptor and polling
 * API, its _FORTIFY_SOURCE variants, and syscall() for the same numbers.
 *
 * Each checks whether its descriptor is a tas socket (a lock-free table
 * lookup) and otherwise calls libc's own function, so kernel descriptors
 * pay one array read.  A tas socket's call runs with the shim's lock held
 * and a reference on the socket, so a concurrent close() cannot free it
 * under a blocked call (the close then takes effect when the call
 * returns, as the kernel's does).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "real_calls.h"
#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

extern void __chk_fail(void) __attribute__((noreturn));

static long fail(long err)
{
	errno = (int)-err;
	return -1;
}

static long result(long value)
{
	return value < 0 ? fail(value) : value;
}

/* The tas socket fd names, locked and referenced for the call; NULL if fd
 * is a kernel descriptor (*err 0) or the shim cannot work (*err < 0). */
static struct shim_socket *enter_socket(int fd, int *err)
{
	*err = 0;
	if (fd_socket(fd) == NULL)
		return NULL;
	*err = shim_enter();
	if (*err != 0)
		return NULL;

	struct shim_socket *sock = fd_socket(fd);
	if (sock == NULL)
		shim_leave(); /* closed meanwhile */
	else
		sock->refs++;
	return sock;
}

static void leave_socket(struct shim_socket *sock)
{
	sock_unref(sock);
	shim_leave();
}

/* A send's EPIPE raises SIGPIPE (unless MSG_NOSIGNAL) once the lock is
 * released: a handler may use sockets itself. */
static long finish(long value, bool sigpipe)
{
	if (value == -EPIPE && sigpipe)
		raise(SIGPIPE);
	return result(value);
}

/* Run shim_call on fd's tas socket (named sock inside it), or real_call
 * for a kernel descriptor; sigpipe: as finish(). */
#define ON_SOCKET_SENDING(fd, sigpipe, real_call, shim_call)                 \
	do {                                                                 \
		int enter_err_;                                              \
		struct shim_socket *sock = enter_socket((fd), &enter_err_);  \
		if (sock == NULL)                                            \
			return enter_err_ != 0 ? fail(enter_err_) : (real_call); \
		long shim_result_ = (shim_call);                             \
		leave_socket(sock);                                          \
		return finish(shim_result_, (sigpipe));                      \
	} while (0)

#define ON_SOCKET(fd, real_call, shim_call) \
	ON_SOCKET_SENDING(fd, false, real_call, shim_call)

/* ------------------------------------------------------------------ */
/* Sockets                                                             */

static bool is_tcp_ipv4(int domain, int type, int protocol)
{
	return domain == AF_INET &&
	       (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM &&
	       (protocol == 0 || protocol == IPPROTO_TCP);
}

EXPORT int socket(int domain, int type, int protocol)
{
	if (!is_tcp_ipv4(domain, type, protocol))
		return REAL(socket)(domain, type, protocol);
	return (int)result(sock_socket(domain, type, protocol));
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	ON_SOCKET(fd, REAL(bind)(fd, addr, len), sock_bind(sock, addr, len));
}

EXPORT int listen(int fd, int backlog)
{
	ON_SOCKET(fd, REAL(listen)(fd, backlog), sock_listen(sock, backlog));
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	ON_SOCKET(fd, REAL(accept4)(fd, addr, len, flags),
		  sock_accept(sock, addr, len, flags));
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	ON_SOCKET(fd, REAL(accept)(fd, addr, len), sock_accept(sock, addr, len, 0));
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	ON_SOCKET(fd, REAL(connect)(fd, addr, len), sock_connect(sock, addr, len));
}

EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	ON_SOCKET(fd, REAL(getsockname)(fd, addr, len),
		  sock_name(sock, addr, len, false));
}

EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	ON_SOCKET(fd, REAL(getpeername)(fd, addr, len),
		  sock_name(sock, addr, len, true));
}

EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *len)
{
	ON_SOCKET(fd, REAL(getsockopt)(fd, level, name, value, len),
		  sock_getsockopt(fd, sock, level, name, value, len));
}

EXPORT int setsockopt(int fd, int level, int name, const void *value,
		      socklen_t len)
{
	ON_SOCKET(fd, REAL(setsockopt)(fd, level, name, value, len),
		  sock_setsockopt(fd, sock, level, name, value, len));
}

EXPORT int shutdown(int fd, int how)
{
	ON_SOCKET(fd, REAL(shutdown)(fd, how), sock_shutdown(sock, how));
}

/* ------------------------------------------------------------------ */
/* Data                                                                */

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ON_SOCKET(fd, REAL(read)(fd, buf, len), sock_recv(sock, &iov, 1, 0));
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ON_SOCKET(fd, REAL(recv)(fd, buf, len, flags),
		  sock_recv(sock, &iov, 1, flags));
}

/* A stream socket has no sender address to report: Linux sets *len to 0. */
EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *addr, socklen_t *addr_len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	ON_SOCKET(fd, REAL(recvfrom)(fd, buf, len, flags, addr, addr_len),
		  (addr != NULL && addr_len != NULL ? (void)(*addr_len = 0) : (void)0,
		   sock_recv(sock, &iov, 1, flags)));
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ON_SOCKET(fd, REAL(recvmsg)(fd, msg, flags),
		  (msg->msg_namelen = 0, msg->msg_controllen = 0, msg->msg_flags = 0,
		   sock_recv(sock, msg->msg_iov, (int)msg->msg_iovlen, flags)));
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	ON_SOCKET(fd, REAL(readv)(fd, iov, iovcnt), sock_recv(sock, iov, iovcnt, 0));
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	ON_SOCKET_SENDING(fd, true, REAL(write)(fd, buf, len),
			  sock_send(sock, &iov, 1, 0));
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	ON_SOCKET_SENDING(fd, !(flags & MSG_NOSIGNAL),
			  REAL(send)(fd, buf, len, flags),
			  sock_send(sock, &iov, 1, flags));
}

/* A connected stream socket ignores the destination, as Linux's TCP. */
EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *addr, socklen_t addr_len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	ON_SOCKET_SENDING(fd, !(flags & MSG_NOSIGNAL),
			  REAL(sendto)(fd, buf, len, flags, addr, addr_len),
			  sock_send(sock, &iov, 1, flags));
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ON_SOCKET_SENDING(fd, !(flags & MSG_NOSIGNAL), REAL(sendmsg)(fd, msg, flags),
			  sock_send(sock, msg->msg_iov, (int)msg->msg_iovlen,
				    flags));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	ON_SOCKET_SENDING(fd, true, REAL(writev)(fd, iov, iovcnt),
			  sock_send(sock, iov, iovcnt, 0));
}

/* Programs built with _FILE_OFFSET_BITS=64 (nginx; and this file, so
 * the headers name the function sendfile64) call sendfile64; off_t is 64
 * bits either way: both names are exported with asm labels. */
static ssize_t any_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	ON_SOCKET_SENDING(out_fd, true, REAL(sendfile)(out_fd, in_fd, offset, count),
			  sock_sendfile(sock, in_fd, offset, count));
}

EXPORT ssize_t interposed_sendfile(int out_fd, int in_fd, off_t *offset,
				   size_t count) __asm__("sendfile");
EXPORT ssize_t interposed_sendfile(int out_fd, int in_fd, off_t *offset,
				   size_t count)
{
	return any_sendfile(out_fd, in_fd, offset, count);
}

EXPORT ssize_t interposed_sendfile64(int out_fd, int in_fd, off_t *offset,
				     size_t count) __asm__("sendfile64");
EXPORT ssize_t interposed_sendfile64(int out_fd, int in_fd, off_t *offset,
				     size_t count)
{
	return any_sendfile(out_fd, in_fd, offset, count);
}

/* ------------------------------------------------------------------ */
/* Descriptors                                                         */

/* fd (a kernel descriptor being replaced or closed) stops naming a tas
 * socket or epoll instance.  Lock held. */
static void forget_descriptor(int fd)
{
	struct shim_socket *sock = fd_detach(fd);

	if (sock != NULL) {
		sock_epoll_forget(fd, sock);
		sock_unref(sock);
	}
	sock_epoll_close(fd);
}

static bool is_shim_descriptor(int fd)
{
	return fd_socket(fd) != NULL || fd_epoll(fd) != NULL;
}

EXPORT int close(int fd)
{
	if (!is_shim_descriptor(fd))
		return REAL(close)(fd);

	shim_lock();
	forget_descriptor(fd);
	int closed = REAL(close)(fd);
	int err = errno;
	shim_flush();
	shim_leave();
	errno = err;
	return closed;
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	if (flags & CLOSE_RANGE_CLOEXEC)
		return REAL(close_range)(first, last, flags);

	shim_lock();
	unsigned end = (unsigned)fd_high_water();
	for (unsigned fd = first; fd <= last && fd < end; fd++)
		if (is_shim_descriptor((int)fd))
			forget_descriptor((int)fd);
	int closed = REAL(close_range)(first, last, flags);
	int err = errno;
	shim_flush();
	shim_leave();
	errno = err;
	return closed;
}

/* Make newfd (from a successful dup of oldfd) name what oldfd names. */
static int duplicated(int newfd, struct shim_socket *sock)
{
	if (newfd < 0)
		return -errno;
	if (!fd_fits(newfd)) {
		REAL(close)(newfd);
		return -EMFILE;
	}
	fd_attach(newfd, sock);
	return newfd;
}

EXPORT int dup(int fd)
{
	ON_SOCKET(fd, REAL(dup)(fd), duplicated(REAL(dup)(fd), sock));
}

/* dup2 and dup3 close newfd first, whatever it was. */
static int dup_onto(int oldfd, int newfd, int flags, bool is_dup3)
{
	if (!is_shim_descriptor(oldfd) && !is_shim_descriptor(newfd))
		return is_dup3 ? REAL(dup3)(oldfd, newfd, flags)
			       : REAL(dup2)(oldfd, newfd);

	shim_lock();
	int done = is_dup3 ? REAL(dup3)(oldfd, newfd, flags)
			   : REAL(dup2)(oldfd, newfd);
	if (done >= 0 && oldfd != newfd) {
		struct shim_socket *sock = fd_socket(oldfd);
		forget_descriptor(newfd);
		if (sock != NULL && fd_fits(newfd))
			fd_attach(newfd, sock);
	}
	int err = errno;
	shim_leave();
	errno = err;
	return done;
}

EXPORT int dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, false);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, true);
}

static int any_fcntl(int fd, int cmd, unsigned long arg)
{
	ON_SOCKET(fd, REAL(fcntl)(fd, cmd, arg), sock_fcntl(fd, sock, cmd, arg));
}

/* fcntl and fcntl64 as sendfile above.  Every fcntl argument is an int, a
 * long or a pointer: one register either way. */
EXPORT int interposed_fcntl(int fd, int cmd, ...) __asm__("fcntl");
EXPORT int interposed_fcntl(int fd, int cmd, ...)
{
	va_list args;
	va_start(args, cmd);
	unsigned long arg = va_arg(args, unsigned long);
	va_end(args);
	return any_fcntl(fd, cmd, arg);
}

EXPORT int interposed_fcntl64(int fd, int cmd, ...) __asm__("fcntl64");
EXPORT int interposed_fcntl64(int fd, int cmd, ...)
{
	va_list args;
	va_start(args, cmd);
	unsigned long arg = va_arg(args, unsigned long);
	va_end(args);
	return any_fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list args;
	va_start(args, request);
	void *arg = va_arg(args, void *);
	va_end(args);
	ON_SOCKET(fd, REAL(ioctl)(fd, request, arg),
		  sock_ioctl(fd, sock, request, arg));
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */

static bool any_tas_socket(const struct pollfd *fds, nfds_t nfds)
{
	for (nfds_t i = 0; i < nfds; i++)
		if (fd_socket(fds[i].fd) != NULL)
			return true;
	return false;
}

static int poll_with_sockets(struct pollfd *fds, nfds_t nfds,
			     const struct timespec *deadline,
			     const sigset_t *sigmask)
{
	int err = shim_enter();

	if (err != 0)
		return (int)fail(err);
	int ready = sock_poll(fds, nfds, deadline, sigmask);
	shim_leave();
	return (int)result(ready);
}

EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	if (!any_tas_socket(fds, nfds))
		return REAL(poll)(fds, nfds, timeout_ms);

	struct timespec deadline;
	return poll_with_sockets(fds, nfds, shim_deadline(timeout_ms, &deadline),
				 NULL);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
		 const sigset_t *sigmask)
{
	if (!any_tas_socket(fds, nfds))
		return REAL(ppoll)(fds, nfds, timeout, sigmask);

	struct timespec deadline;
	return poll_with_sockets(fds, nfds, shim_deadline_ts(timeout, &deadline),
				 sigmask);
}

static bool any_tas_socket_in(int nfds, const fd_set *readfds,
			      const fd_set *writefds, const fd_set *exceptfds)
{
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		if (fd_socket(fd) == NULL)
			continue;
		if ((readfds != NULL && FD_ISSET(fd, readfds)) ||
		    (writefds != NULL && FD_ISSET(fd, writefds)) ||
		    (exceptfds != NULL && FD_ISSET(fd, exceptfds)))
			return true;
	}
	return false;
}

static int select_with_sockets(int nfds, fd_set *readfds, fd_set *writefds,
			       fd_set *exceptfds, const struct timespec *deadline,
			       const sigset_t *sigmask)
{
	int err = shim_enter();

	if (err != 0)
		return (int)fail(err);
	int ready = sock_select(nfds, readfds, writefds, exceptfds, deadline,
				sigmask);
	shim_leave();
	return (int)result(ready);
}

EXPORT int select(int nfds, fd_set *readfds, fd_set *writefds,
		  fd_set *exceptfds, struct timeval *timeout)
{
	if (!any_tas_socket_in(nfds, readfds, writefds, exceptfds))
		return REAL(select)(nfds, readfds, writefds, exceptfds, timeout);
	if (nfds < 0 || nfds > FD_SETSIZE)
		return (int)fail(-EINVAL);

	struct timespec deadline, span;
	const struct timespec *until = NULL;
	if (timeout != NULL) {
		span = (struct timespec){ .tv_sec = timeout->tv_sec,
					  .tv_nsec = timeout->tv_usec * 1000 };
		until = shim_deadline_ts(&span, &deadline);
	}
	return select_with_sockets(nfds, readfds, writefds, exceptfds, until, NULL);
}

EXPORT int pselect(int nfds, fd_set *readfds, fd_set *writefds,
		   fd_set *exceptfds, const struct timespec *timeout,
		   const sigset_t *sigmask)
{
	if (!any_tas_socket_in(nfds, readfds, writefds, exceptfds))
		return REAL(pselect)(nfds, readfds, writefds, exceptfds, timeout,
				     sigmask);
	if (nfds < 0 || nfds > FD_SETSIZE)
		return (int)fail(-EINVAL);

	struct timespec deadline;
	return select_with_sockets(nfds, readfds, writefds, exceptfds,
				   shim_deadline_ts(timeout, &deadline), sigmask);
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	ON_SOCKET(fd, REAL(epoll_ctl)(epfd, op, fd, event),
		  sock_epoll_ctl(epfd, op, fd, sock, event));
}

static int epoll_with_sockets(int epfd, struct epoll_event *events,
			      int maxevents, int timeout_ms,
			      const sigset_t *sigmask)
{
	struct timespec deadline;
	int err = shim_enter();

	if (err != 0)
		return (int)fail(err);
	int ready = sock_epoll_wait(epfd, events, maxevents,
				    shim_deadline(timeout_ms, &deadline), sigmask);
	shim_leave();
	return (int)result(ready);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents,
		      int timeout_ms)
{
	if (fd_epoll(epfd) == NULL)
		return REAL(epoll_wait)(epfd, events, maxevents, timeout_ms);
	return epoll_with_sockets(epfd, events, maxevents, timeout_ms, NULL);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int maxevents,
		       int timeout_ms, const sigset_t *sigmask)
{
	if (fd_epoll(epfd) == NULL)
		return REAL(epoll_pwait)(epfd, events, maxevents, timeout_ms,
					 sigmask);
	return epoll_with_sockets(epfd, events, maxevents, timeout_ms, sigmask);
}

/* ------------------------------------------------------------------ */
/* _FORTIFY_SOURCE variants (Debian builds its packages with them)     */

EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buf_size)
{
	if (len > buf_size)
		__chk_fail();
	return read(fd, buf, len);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buf_size,
			  int flags)
{
	if (len > buf_size)
		__chk_fail();
	return recv(fd, buf, len, flags);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buf_size,
			      int flags, struct sockaddr *addr,
			      socklen_t *addr_len)
{
	if (len > buf_size)
		__chk_fail();
	return recvfrom(fd, buf, len, flags, addr, addr_len);
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout_ms,
		      size_t fds_size)
{
	if (fds_size / sizeof(*fds) < nfds)
		__chk_fail();
	return poll(fds, nfds, timeout_ms);
}

EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
		       const struct timespec *timeout, const sigset_t *sigmask,
		       size_t fds_size)
{
	if (fds_size / sizeof(*fds) < nfds)
		__chk_fail();
	return ppoll(fds, nfds, timeout, sigmask);
}

/* ------------------------------------------------------------------ */
/* syscall()                                                           */

/* pselect6's sixth argument. */
struct pselect6_sigmask {
	const sigset_t *set;
	size_t size;
};

static int pselect6(long nfds, long r, long w, long e, long timeout, long mask)
{
	const struct pselect6_sigmask *sigmask = (const void *)mask;

	return pselect((int)nfds, (fd_set *)r, (fd_set *)w, (fd_set *)e,
		       (const struct timespec *)timeout,
		       sigmask != NULL ? sigmask->set : NULL);
}

EXPORT long syscall(long number, ...)
{
	va_list args;
	long a[6];

	va_start(args, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(args, long);
	va_end(args);

	void *p1 = (void *)a[1], *p2 = (void *)a[2], *p3 = (void *)a[3];
	int fd = (int)a[0];
	switch (number) {
	case SYS_socket: return socket(fd, (int)a[1], (int)a[2]);
	case SYS_bind: return bind(fd, p1, (socklen_t)a[2]);
	case SYS_listen: return listen(fd, (int)a[1]);
	case SYS_accept: return accept(fd, p1, p2);
	case SYS_accept4: return accept4(fd, p1, p2, (int)a[3]);
	case SYS_connect: return connect(fd, p1, (socklen_t)a[2]);
	case SYS_getsockname: return getsockname(fd, p1, p2);
	case SYS_getpeername: return getpeername(fd, p1, p2);
	case SYS_getsockopt: return getsockopt(fd, (int)a[1], (int)a[2], p3, (void *)a[4]);
	case SYS_setsockopt: return setsockopt(fd, (int)a[1], (int)a[2], p3, (socklen_t)a[4]);
	case SYS_read: return read(fd, p1, (size_t)a[2]);
	case SYS_write: return write(fd, p1, (size_t)a[2]);
	case SYS_recvfrom: return recvfrom(fd, p1, (size_t)a[2], (int)a[3], (void *)a[4], (void *)a[5]);
	case SYS_sendto: return sendto(fd, p1, (size_t)a[2], (int)a[3], (void *)a[4], (socklen_t)a[5]);
	case SYS_recvmsg: return recvmsg(fd, p1, (int)a[2]);
	case SYS_sendmsg: return sendmsg(fd, p1, (int)a[2]);
	case SYS_readv: return readv(fd, p1, (int)a[2]);
	case SYS_writev: return writev(fd, p1, (int)a[2]);
	case SYS_sendfile: return any_sendfile(fd, (int)a[1], p2, (size_t)a[3]);
	case SYS_shutdown: return shutdown(fd, (int)a[1]);
	case SYS_close: return close(fd);
	case SYS_close_range: return close_range((unsigned)a[0], (unsigned)a[1], (int)a[2]);
	case SYS_fcntl: return any_fcntl(fd, (int)a[1], (unsigned long)a[2]);
	case SYS_ioctl: return ioctl(fd, (unsigned long)a[1], p2);
	case SYS_dup: return dup(fd);
	case SYS_dup2: return dup2(fd, (int)a[1]);
	case SYS_dup3: return dup3(fd, (int)a[1], (int)a[2]);
	case SYS_poll: return poll((void *)a[0], (nfds_t)a[1], (int)a[2]);
	case SYS_ppoll: return ppoll((void *)a[0], (nfds_t)a[1], p2, p3);
	case SYS_select: return select(fd, p1, p2, p3, (void *)a[4]);
	case SYS_pselect6: return pselect6(a[0], a[1], a[2], a[3], a[4], a[5]);
	case SYS_epoll_ctl: return epoll_ctl(fd, (int)a[1], (int)a[2], p3);
	case SYS_epoll_wait: return epoll_wait(fd, p1, (int)a[2], (int)a[3]);
	case SYS_epoll_pwait: return epoll_pwait(fd, p1, (int)a[2], (int)a[3], (void *)a[4]);
	default:
		return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
}
