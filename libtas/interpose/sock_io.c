/*
 * Data: the read, recv and send families and sendfile on tas sockets,
 * copying between the program's buffers and the connection's buffers in
 * shared memory (zero-copy reserve/commit and peek/release underneath).
 *
 * Linux semantics kept: a blocking send returns once everything is
 * queued (or a timeout or signal cuts it short, returning what was
 * queued); a blocking receive returns what is there, waiting only while
 * nothing is (MSG_WAITALL: until the buffer is full); a connection reset
 * is reported once as ECONNRESET, after which receives see end of file and
 * sends EPIPE (the entry points raise SIGPIPE for it, outside the lock).
 * A connection inherited across fork() is taken over first (sock_adopt.c).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "real_calls.h"
#include "shim.h"

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* Copy len bytes between data and the iovec, starting offset bytes into
 * the iovec; to_iov chooses the direction. */
static void iov_copy(const struct iovec *iov, int iovcnt, size_t offset,
		     void *data, size_t len, bool to_iov)
{
	uint8_t *bytes = data;

	for (int i = 0; i < iovcnt && len > 0; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - offset;
		if (n > len)
			n = len;
		uint8_t *base = (uint8_t *)iov[i].iov_base + offset;
		if (to_iov)
			memcpy(base, bytes, n);
		else
			memcpy(bytes, base, n);
		bytes += n;
		len -= n;
		offset = 0;
	}
}

static const struct timespec *timeout_deadline(const struct timespec *timeout,
					       struct timespec *store)
{
	if (timeout->tv_sec == 0 && timeout->tv_nsec == 0)
		return NULL;
	return shim_deadline_ts(timeout, store);
}

/* Wait for a connect in progress; 0 once connected. */
static int wait_while_connecting(struct shim_socket *sock, bool dontwait,
				 const struct timespec *deadline)
{
	while (sock->state == SHIM_CONNECTING) {
		if (dontwait || shim_deadline_passed(deadline))
			return -EAGAIN;
		int err = shim_wait(NULL, 0, deadline, NULL);
		if (err != 0)
			return err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */

/* Move up to want bytes into the iovec at offset; returns the count. */
static size_t take_received(struct shim_socket *sock, const struct iovec *iov,
			    int iovcnt, size_t offset, size_t want, bool peek)
{
	size_t done = 0;

	/* Two rounds at most: the bytes before and after the buffer wraps
	 * (a peek sees only the first). */
	while (done < want) {
		void *data;
		size_t n = tas_recv_peek(sock->conn, &data);
		if (n == 0)
			break;
		if (n > want - done)
			n = want - done;
		iov_copy(iov, iovcnt, offset + done, data, n, true);
		done += n;
		if (peek || tas_recv_release(sock->conn, n) != 0)
			break;
	}
	return done;
}

static bool at_eof(const struct shim_socket *sock)
{
	return sock->peer_fin || sock->rd_shut || sock->reset;
}

ssize_t sock_recv(struct shim_socket *sock, const struct iovec *iov,
		  int iovcnt, int flags)
{
	if (flags & MSG_OOB)
		return -EINVAL;
	if (sock->state == SHIM_FRESH || sock->state == SHIM_LISTENING)
		return -ENOTCONN;

	bool dontwait = sock->nonblocking || (flags & MSG_DONTWAIT);
	bool peek = flags & MSG_PEEK;
	bool waitall = (flags & MSG_WAITALL) && !peek;
	size_t want = iov_total(iov, iovcnt);
	size_t done = 0;
	bool pumped = false;
	struct timespec store;
	const struct timespec *deadline = timeout_deadline(&sock->rcv_timeout, &store);

	int err = sock_adopted(sock, dontwait, deadline);
	if (err == 0)
		err = wait_while_connecting(sock, dontwait, deadline);
	if (err != 0)
		return err;
	if (sock->state != SHIM_CONNECTED)
		return -sock_take_error(sock);
	if (want == 0)
		return 0;
	for (;;) {
		size_t n = 0;
		/* After SHUT_RD what was queued can still be read (Linux). */
		if (sock->conn != NULL)
			n = take_received(sock, iov, iovcnt, done, want - done, peek);
		done += n;
		if (done == want || (done > 0 && !waitall))
			return (ssize_t)done;
		if (n == 0 && !pumped) {
			/* Events may have been waiting: look once more. */
			shim_pump();
			pumped = true;
			continue;
		}
		pumped = false;
		if (sock->pending_error != 0 && done == 0)
			return -sock_take_error(sock);
		if (at_eof(sock))
			return (ssize_t)done;
		if (dontwait || shim_deadline_passed(deadline))
			return done > 0 ? (ssize_t)done : -EAGAIN;
		err = shim_wait(NULL, 0, deadline, NULL);
		if (err != 0)
			return done > 0 ? (ssize_t)done : err;
	}
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

static bool can_send(const struct shim_socket *sock)
{
	return sock->state == SHIM_CONNECTED && !sock->reset && !sock->wr_shut &&
	       sock->conn != NULL && sock->pending_error == 0;
}

/* Why nothing can be sent on sock (the error is taken), or 0. */
static int send_refused(struct shim_socket *sock)
{
	if (sock->pending_error != 0)
		return -sock_take_error(sock);
	return can_send(sock) ? 0 : -EPIPE;
}

/* A source of bytes for a send: the program's iovec or a file. */
struct send_source {
	const struct iovec *iov;
	int iovcnt;
	int file_fd;            /* -1: the iovec */
	off_t *file_offset;     /* NULL: the file's own position */
	bool file_done;         /* end of file or error seen */
	int file_error;
};

/* Fill len bytes at data from the source at offset done; returns the
 * count (fewer only for a file at its end or failing). */
static size_t source_read(struct send_source *src, size_t done, void *data,
			  size_t len)
{
	if (src->file_fd < 0) {
		iov_copy(src->iov, src->iovcnt, done, data, len, false);
		return len;
	}

	size_t got = 0;
	while (got < len) {
		ssize_t n = src->file_offset != NULL
			? pread(src->file_fd, (uint8_t *)data + got, len - got,
				*src->file_offset)
			: REAL(read)(src->file_fd, (uint8_t *)data + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			src->file_done = true;
			src->file_error = n < 0 ? errno : 0;
			break;
		}
		if (src->file_offset != NULL)
			*src->file_offset += n;
		got += (size_t)n;
	}
	return got;
}

/* Queue up to want bytes from the source; returns the count. */
static size_t queue_some(struct shim_socket *sock, struct send_source *src,
			 size_t done, size_t want)
{
	size_t queued = 0;

	while (queued < want && !src->file_done) {
		void *space;
		size_t room = tas_send_reserve(sock->conn, &space);
		if (room == 0)
			break;
		if (room > want - queued)
			room = want - queued;
		size_t n = source_read(src, done + queued, space, room);
		if (n == 0 || tas_send_commit(sock->conn, n) != 0)
			break;
		queued += n;
	}
	return queued;
}

static ssize_t send_from(struct shim_socket *sock, struct send_source *src,
			 size_t want, int flags)
{
	bool dontwait = sock->nonblocking || (flags & MSG_DONTWAIT);
	struct timespec store;
	const struct timespec *deadline = timeout_deadline(&sock->snd_timeout, &store);
	size_t done = 0;
	bool pumped = false;

	int err = sock_adopted(sock, dontwait, deadline);
	if (err == 0)
		err = wait_while_connecting(sock, dontwait, deadline);
	if (err != 0)
		return err;
	if ((err = send_refused(sock)) != 0)
		return err;
	if (want == 0)
		return 0;
	for (;;) {
		size_t n = can_send(sock) ? queue_some(sock, src, done, want - done)
					  : 0;
		done += n;
		if (done == want || src->file_done)
			break;
		if (n == 0 && !pumped) {
			shim_pump();
			pumped = true;
			continue;
		}
		pumped = false;
		if (done == 0 && (err = send_refused(sock)) != 0)
			return err;
		if (!can_send(sock))
			break;
		if (dontwait || shim_deadline_passed(deadline)) {
			if (done == 0)
				return -EAGAIN;
			break;
		}
		err = shim_wait(NULL, 0, deadline, NULL);
		if (err != 0) {
			if (done == 0)
				return err;
			break;
		}
	}
	if (done == 0 && src->file_error != 0)
		return -src->file_error;
	return (ssize_t)done;
}

ssize_t sock_send(struct shim_socket *sock, const struct iovec *iov, int iovcnt,
		  int flags)
{
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;

	/* A reset that came meanwhile is reported now, as Linux does. */
	shim_pump();

	struct send_source src = { .iov = iov, .iovcnt = iovcnt, .file_fd = -1 };
	return send_from(sock, &src, iov_total(iov, iovcnt), flags);
}

ssize_t sock_sendfile(struct shim_socket *sock, int in_fd, off_t *offset,
		      size_t count)
{
	if (fd_socket(in_fd) != NULL)
		return -EINVAL;
	if (offset != NULL && *offset < 0)
		return -EINVAL;

	struct send_source src = { .file_fd = in_fd, .file_offset = offset };
	return send_from(sock, &src, count, 0);
}
