/*
 * shim-semantics: what Linux's TCP sockets do, checked one behaviour at a
 * time, so that the same binary run under the LD_PRELOAD sockets shim
 * (libtas/interpose) shows every place where the shim differs.  Plain
 * libc sockets only: this program knows nothing of tas.
 *
 * Every check works on "a", a socket of this process, and its *far end*
 * "b", driven through the far side: an agent that performs requests on
 * its own sockets (listen, accept, connect, send, receive, shut down,
 * close, reset, sink or source a checksummed stream...).  The agent is
 *   --far thread        a thread of this process (same sockets API: under
 *                       the shim its sockets are tas sockets too), or
 *   --far unix:PATH     another process (`shim-semantics --serve-agent
 *                       PATH`), on this host (under the shim or not) or in
 *                       the test bed's namespace (Linux TCP).
 * Requests go over a Unix socket (never TCP), so only the traffic under
 * test goes through the sockets being checked.
 *
 *   --far-ip A     where the far side's listeners are reached
 *   --my-ip A      where the far side reaches this process's listeners
 *   --local-ip A   where this process reaches its own listeners
 *   --side connect|accept   how "a" is made: it connects to the far side,
 *                  or is accepted from a far-side connect
 *   --far-on-host  the far side shares this host's ports (EADDRINUSE
 *                  across processes is checked)
 *   --blackhole A:P  an address whose SYNs go unanswered (EALREADY)
 *   --refused-port P a port nobody listens on at --far-ip (default 9)
 *   --port P       first port to use (each listener takes the next)
 *   --only N1,N2   run only these checks
 *   --budget S     start checks only within S seconds; the rest are
 *                  reported "not ok NAME: not run"
 *
 * Output: "ok NAME", "not ok NAME: details" or "skip NAME: reason" per
 * check ("# NAME took T ms" for a slow one), then "N passed, M failed, K
 * skipped"; exit 1 if any failed.  A skip is a check this layout cannot
 * make, or, under the shim only, a known difference: something Linux
 * does that the shim by design cannot (EXPECT_OR_KNOWN names it; on
 * Linux the same assertion fails as any other).  Every wait is bounded:
 * a check has CHECK_SECONDS (then SIGALRM interrupts what blocks), and a
 * check that still hangs ALARM_GRACE seconds later ends the run.
 * SHIM_SEMANTICS_TRACE=1 reports far-side requests slower than 500 ms on
 * stderr (a lost wake-up shows as a request taking TIMEOUT_MS).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 5000         /* any single wait for something expected */
#define FAR_REPLY_MS 25000      /* a far-side request (agent waits are 5 s) */
#define CHECK_SECONDS 20
#define ALARM_GRACE 5
#define SLOW_MS 1000            /* a check slower than this says so */
#define LARGE_BYTES (16u << 20)
#define CHUNK 65536
#define MAX_FDS 256             /* descriptors one check may open */
#define AGENT_IDS 8192
#define FAR_MAX_PAYLOAD (1u << 20)

enum { PASSED = 0, FAILED = -1, SKIPPED = 1 };

/* ------------------------------------------------------------------ */
/* Configuration and outcome                                           */

static struct {
	const char *far;
	struct in_addr far_ip, my_ip, local_ip;
	bool side_accept;
	bool far_on_host;
	bool have_blackhole;
	struct sockaddr_in blackhole;
	int refused_port;
	int port;
	const char *only;
	int budget_s;           /* 0: none; else checks start only within it */
} cfg = { .far = "thread", .refused_port = 9, .port = 21000 };

static bool under_shim;         /* LD_PRELOAD names the tas shim */
static char message[1024];      /* why the current check failed or skipped */
static char note[256];          /* an observation an ok line carries */
static const char *current = "";
static volatile sig_atomic_t alarms;
static volatile sig_atomic_t sigpipes;

static const char *errname(int err)
{
	const char *name = strerrorname_np(err);
	return name != NULL ? name : "E?";
}

static int failf(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(int line, const char *fmt, ...)
{
	va_list args;
	int n = snprintf(message, sizeof(message), "line %d: ", line);

	va_start(args, fmt);
	vsnprintf(message + n, sizeof(message) - (size_t)n, fmt, args);
	va_end(args);
	return FAILED;
}

static int skipf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int skipf(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	return SKIPPED;
}

#define FAIL(...) return failf(__LINE__, __VA_ARGS__)
#define EXPECT(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)
/* A call that must not fail. */
#define SYS(expr) do {                                                      \
		if ((long)(expr) < 0)                                           \
			FAIL("%s: %s", #expr, errname(errno));                  \
	} while (0)
/* A call that must fail with errno want. */
#define EXPECT_ERRNO(expr, want) do {                                       \
		errno = 0;                                                      \
		long got_ = (long)(expr);                                       \
		int err_ = errno;                                               \
		if (got_ != -1 || err_ != (want))                               \
			FAIL("%s: %ld (%s), expected -1 (%s)", #expr, got_,     \
			     got_ == -1 ? errname(err_) : "no error",           \
			     errname(want));                                    \
	} while (0)
/* A helper that has set message itself. */
#define TRY(call) do { if ((call) != PASSED) return FAILED; } while (0)

/* What Linux does and the shim, by design, cannot: when `when` holds under
 * the shim, a failed cond makes the check a "skip: known difference"
 * (once it has run to its end); anywhere else it fails as EXPECT. */
static char known[512];
#define EXPECT_OR_KNOWN(cond, when, reason, fmt, ...) do {                  \
		if (!(cond)) {                                                  \
			if (!(under_shim && (when)))                            \
				FAIL(fmt, __VA_ARGS__);                         \
			if (known[0] == 0)                                      \
				snprintf(known, sizeof(known), "known difference: " \
					 reason " (seen: " fmt ")", __VA_ARGS__); \
		}                                                               \
	} while (0)

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	while (nanosleep(&t, &t) != 0 && errno == EINTR && alarms == 0)
		;
}

/* ------------------------------------------------------------------ */
/* Descriptors a check opens (closed after it, whatever happened)      */

static int check_fds[MAX_FDS];
static int check_fd_count;

static int fdreg(int fd)
{
	if (fd < 0)
		return fd;
	for (int i = 0; i < check_fd_count; i++)
		if (check_fds[i] == fd)
			return fd;
	if (check_fd_count < MAX_FDS)
		check_fds[check_fd_count++] = fd;
	return fd;
}

static void fdforget(int fd)
{
	for (int i = 0; i < check_fd_count; i++)
		if (check_fds[i] == fd)
			check_fds[i] = check_fds[--check_fd_count];
}

/* close() of a registered descriptor (the result is close's). */
static int fdclose(int fd)
{
	fdforget(fd);
	return close(fd);
}

static void close_check_fds(void)
{
	while (check_fd_count > 0)
		close(check_fds[--check_fd_count]);
}

/* ------------------------------------------------------------------ */
/* Addresses and small socket helpers                                  */

static struct in_addr any_ip = { .s_addr = 0 };
static struct in_addr loopback_ip;

static struct sockaddr_in inet(struct in_addr ip, int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr = ip;
	a.sin_port = htons((uint16_t)port);
	return a;
}

static const char *addr_text(const struct sockaddr_in *a)
{
	static char texts[8][40];
	static unsigned next;
	char *text = texts[next++ % 8];
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(text, sizeof(texts[0]), "%s:%u", ip, ntohs(a->sin_port));
	return text;
}

static bool same_addr(const struct sockaddr_in *x, const struct sockaddr_in *y)
{
	return x->sin_family == y->sin_family && x->sin_addr.s_addr == y->sin_addr.s_addr &&
	       x->sin_port == y->sin_port;
}

static bool is_loopback(struct in_addr ip)
{
	return (ntohl(ip.s_addr) >> 24) == 127;
}

static int next_port(void)
{
	return cfg.port++;
}

static int tcp_socket(int flags)
{
	return fdreg(socket(AF_INET, SOCK_STREAM | flags, 0));
}

/* A registered listener on ip:port with SO_REUSEADDR, or -1 (errno). */
static int listener(struct in_addr ip, int port, int backlog)
{
	int fd = tcp_socket(0), one = 1;
	struct sockaddr_in a = inet(ip, port);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0) {
		int err = errno;
		fdclose(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int sock_name(int fd, struct sockaddr_in *a, bool peer)
{
	socklen_t len = sizeof(*a);

	memset(a, 0, sizeof(*a));
	return peer ? getpeername(fd, (struct sockaddr *)a, &len)
		    : getsockname(fd, (struct sockaddr *)a, &len);
}

/* poll one descriptor; revents, 0 on timeout, -1 on error. */
static int poll_one(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, ms);

	return n <= 0 ? n : p.revents;
}

/* accept4 once fd is readable within ms; -1 with ETIMEDOUT otherwise. */
static int accept_within(int fd, int ms, int flags)
{
	int ready = poll_one(fd, POLLIN, ms);

	if (ready == 0)
		errno = ETIMEDOUT;
	if (ready <= 0)
		return -1;
	return fdreg(accept4(fd, NULL, NULL, flags));
}

static int set_nonblocking(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

static int get_int_opt(int fd, int level, int name)
{
	int value = -1;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, level, name, &value, &len) < 0)
		return -1000 - errno;
	return value;
}

static int tcp_state(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0)
		return -1;
	return info.tcpi_state;
}

/* Read exactly n bytes (fewer at end of file or error); the count. */
static ssize_t read_all(int fd, void *buf, size_t n, int flags)
{
	size_t done = 0;

	while (done < n) {
		ssize_t got = flags != 0 ? recv(fd, (char *)buf + done, n - done, flags)
					 : read(fd, (char *)buf + done, n - done);
		if (got < 0 && errno == EINTR && alarms == 0)
			continue;
		if (got <= 0)
			return done > 0 ? (ssize_t)done : got;
		done += (size_t)got;
	}
	return (ssize_t)done;
}

static ssize_t write_all(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t put = write(fd, (const char *)buf + done, n - done);
		if (put < 0 && errno == EINTR && alarms == 0)
			continue;
		if (put <= 0)
			return done > 0 ? (ssize_t)done : put;
		done += (size_t)put;
	}
	return (ssize_t)done;
}

/* "a" must deliver exactly these bytes next. */
static int expect_read(int fd, const char *want, size_t len)
{
	char buf[4096];

	if (len > sizeof(buf))
		FAIL("expect_read: %zu bytes is too many", len);
	ssize_t got = read_all(fd, buf, len, 0);
	EXPECT(got == (ssize_t)len, "read %zd of %zu bytes (%s)", got, len,
	       got < 0 ? errname(errno) : "end of file");
	EXPECT(memcmp(buf, want, len) == 0, "read %zu bytes that differ from those sent", len);
	return PASSED;
}

/* Until FIONREAD says at least n bytes are waiting (within ms). */
static int wait_fionread(int fd, int n, int ms)
{
	double deadline = now_ms() + ms;
	int pending = -1;

	while (now_ms() < deadline && alarms == 0) {
		SYS(ioctl(fd, FIONREAD, &pending));
		if (pending >= n)
			return PASSED;
		poll_one(fd, POLLIN, 10);
		sleep_ms(2);
	}
	FAIL("FIONREAD %d, not %d bytes within %d ms", pending, n, ms);
}

/* ------------------------------------------------------------------ */
/* Checksummed streams                                                 */

static uint8_t pattern_byte(uint64_t seed, uint64_t i)
{
	return (uint8_t)(((i + seed * 1000003u) * 0x9E3779B97F4A7C15ull) >> 56);
}

static void pattern_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t offset)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, offset + i);
}

#define FNV_START 0xcbf29ce484222325ull

static uint64_t fnv(uint64_t hash, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		hash = (hash ^ p[i]) * 0x100000001b3ull;
	return hash;
}

/* ------------------------------------------------------------------ */
/* The far side: requests and replies                                  */

enum far_op {
	OP_LISTEN = 1,  /* arg port, arg2 backlog -> id */
	OP_ACCEPT,      /* id listener, arg ms -> id; payload peer address */
	OP_CONNECT,     /* payload sockaddr_in -> id */
	OP_SEND,        /* id, payload -> bytes sent */
	OP_SEND_SLOW,   /* id, payload, arg pieces, arg2 ms between them */
	OP_RECV,        /* id, arg max, arg2 ms -> one recv: count, payload */
	OP_RECV_EXACT,  /* id, arg n -> count (fewer at EOF), payload */
	OP_SHUTDOWN,    /* id, arg how */
	OP_CLOSE,       /* id */
	OP_ABORT,       /* id: SO_LINGER {1, 0}, close: a reset */
	OP_CLOSE_UNREAD,/* id: once data is waiting unread, close: a reset */
	OP_SINK,        /* id, arg n -> count; payload checksum */
	OP_SOURCE,      /* id, arg n, arg2 seed -> count; payload checksum */
	OP_NAMES,       /* id -> payload local, peer address */
	OP_ECHO,        /* payload ids, arg bytes each -> total echoed */
	OP_CLOSE_ALL,   /* every socket of the agent */
	OP_QUIT,
};

struct far_request {
	uint32_t seq;
	uint32_t op;
	int32_t id;
	uint32_t len;
	int64_t arg;
	int64_t arg2;
};

struct far_reply {
	uint32_t seq;
	int32_t err;
	int64_t result;
	uint32_t len;
	uint32_t pad;
};

struct far_result {
	int64_t result;         /* -1: err */
	int err;
	uint32_t len;
	uint8_t *data;          /* valid until the next reply */
};

static int far_ctl = -1;
static uint32_t far_seq;
static double far_started[64];  /* when request seq % 64 went out */
static uint32_t far_ops[64];
static bool far_broken;
static uint8_t far_data[FAR_MAX_PAYLOAD];

static int io_full(int fd, void *buf, size_t n, bool reading, int ms)
{
	size_t done = 0;

	while (done < n) {
		if (ms >= 0) {
			int ready = poll_one(fd, reading ? POLLIN : POLLOUT, ms);
			if (ready < 0 && errno == EINTR && alarms == 0)
				continue;
			if (ready <= 0)
				return -1;
		}
		ssize_t k = reading ? read(fd, (char *)buf + done, n - done)
				    : send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR && (ms < 0 || alarms == 0))
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static uint32_t far_start(enum far_op op, int id, int64_t arg, int64_t arg2,
			  const void *data, uint32_t len)
{
	struct far_request req = { .seq = ++far_seq, .op = op, .id = id, .len = len,
				   .arg = arg, .arg2 = arg2 };

	far_started[req.seq % 64] = now_ms();
	far_ops[req.seq % 64] = op;

	if (!far_broken && (io_full(far_ctl, &req, sizeof(req), false, FAR_REPLY_MS) != 0 ||
			    (len > 0 && io_full(far_ctl, (void *)data, len, false,
						FAR_REPLY_MS) != 0)))
		far_broken = true;
	return req.seq;
}

/* The reply to request seq (older ones are skipped). */
static int far_finish(uint32_t seq, struct far_result *res)
{
	for (;;) {
		struct far_reply rep;
		EXPECT(!far_broken, "the far side's control connection is broken");
		if (io_full(far_ctl, &rep, sizeof(rep), true, FAR_REPLY_MS) != 0 ||
		    rep.len > FAR_MAX_PAYLOAD ||
		    io_full(far_ctl, far_data, rep.len, true, FAR_REPLY_MS) != 0) {
			far_broken = true;
			FAIL("no reply from the far side within %d ms", FAR_REPLY_MS);
		}
		if (rep.seq != seq)
			continue;
		/* SHIM_SEMANTICS_TRACE=1: requests slower than 500 ms (from
		 * going out, so including what this side did meanwhile). */
		double took = now_ms() - far_started[seq % 64];
		if (took > 500 && getenv("SHIM_SEMANTICS_TRACE") != NULL)
			fprintf(stderr, "%s: far request %u took %.0f ms (result %lld %s)\n",
				current, far_ops[seq % 64], took, (long long)rep.result,
				rep.result < 0 ? errname(rep.err) : "");
		res->result = rep.result;
		res->err = rep.err;
		res->len = rep.len;
		res->data = far_data;
		return PASSED;
	}
}

static int far_call(enum far_op op, int id, int64_t arg, int64_t arg2,
		    const void *data, uint32_t len, struct far_result *res)
{
	return far_finish(far_start(op, id, arg, arg2, data, len), res);
}

/* A request that must succeed; its result in *result (may be NULL). */
static int far_ok(enum far_op op, int id, int64_t arg, int64_t arg2,
		  const void *data, uint32_t len, int64_t *result)
{
	static const char *names[] = { "", "listen", "accept", "connect", "send",
				       "send-slow", "recv", "recv-exact", "shutdown",
				       "close", "abort", "close-unread", "sink",
				       "source", "names", "echo", "close-all", "quit" };
	struct far_result res;

	TRY(far_call(op, id, arg, arg2, data, len, &res));
	EXPECT(res.result >= 0, "far side: %s: %s", names[op], errname(res.err));
	if (result != NULL)
		*result = res.result;
	return PASSED;
}

static int far_listen(int port, int *id)
{
	int64_t result = 0;

	TRY(far_ok(OP_LISTEN, 0, port, 64, NULL, 0, &result));
	*id = (int)result;
	return PASSED;
}

/* The far side connects to ip:port (ours) and has connected. */
static int far_connect(struct in_addr ip, int port, int *id)
{
	struct sockaddr_in to = inet(ip, port);
	int64_t result = 0;

	TRY(far_ok(OP_CONNECT, 0, 0, 0, &to, sizeof(to), &result));
	*id = (int)result;
	return PASSED;
}

static int far_send(int b, const void *data, size_t len)
{
	int64_t sent = 0;

	TRY(far_ok(OP_SEND, b, 0, 0, data, (uint32_t)len, &sent));
	EXPECT(sent == (int64_t)len, "far side sent %lld of %zu bytes", (long long)sent, len);
	return PASSED;
}

/* The far end must receive exactly these bytes next. */
static int far_expect(int b, const void *want, size_t len)
{
	struct far_result res;

	TRY(far_call(OP_RECV_EXACT, b, (int64_t)len, TIMEOUT_MS, NULL, 0, &res));
	EXPECT(res.result >= 0, "far end: receive: %s", errname(res.err));
	EXPECT(res.result == (int64_t)len, "far end received %lld of %zu bytes",
	       (long long)res.result, len);
	EXPECT(memcmp(res.data, want, len) == 0, "far end received different bytes");
	return PASSED;
}

/* The far end's next receive: end of file (0), or error err. */
static int far_expect_recv(int b, int err)
{
	struct far_result res;

	TRY(far_call(OP_RECV, b, 64, TIMEOUT_MS, NULL, 0, &res));
	if (err == 0)
		EXPECT(res.result == 0, "far end: expected end of file, got %s",
		       res.result < 0 ? errname(res.err) : "data");
	else
		EXPECT(res.result < 0 && res.err == err, "far end: expected %s, got %s",
		       errname(err), res.result < 0 ? errname(res.err)
				     : res.result == 0 ? "end of file" : "data");
	return PASSED;
}

/* ------------------------------------------------------------------ */
/* The far side: the agent                                             */

static int agent_fd_of[AGENT_IDS];
static int agent_ids;

struct outbuf {
	uint8_t *data;
	size_t len, cap;
};

static void out_put(struct outbuf *out, const void *data, size_t len)
{
	if (out->len + len > out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 4096;
		while (cap < out->len + len)
			cap *= 2;
		uint8_t *grown = realloc(out->data, cap);
		if (grown == NULL)
			return;
		out->data = grown;
		out->cap = cap;
	}
	memcpy(out->data + out->len, data, len);
	out->len += len;
}

static int agent_new_id(int fd)
{
	if (agent_ids >= AGENT_IDS) {
		close(fd);
		return -EMFILE;
	}
	agent_fd_of[agent_ids] = fd;
	return agent_ids++;
}

static int agent_fd(int id)
{
	return id >= 0 && id < agent_ids ? agent_fd_of[id] : -1;
}

static void agent_close(int id)
{
	if (agent_fd(id) >= 0)
		close(agent_fd_of[id]);
	if (id >= 0 && id < agent_ids)
		agent_fd_of[id] = -1;
}

/* Wait for events on fd: its revents, or -ETIMEDOUT / -errno. */
static int agent_wait(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int n = poll(&p, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		return n == 0 ? -ETIMEDOUT : p.revents;
	}
}

static long agent_send_all(int fd, const uint8_t *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int ready = agent_wait(fd, POLLOUT, TIMEOUT_MS);
			if (ready < 0)
				return done > 0 ? (long)done : ready;
			continue;
		}
		if (n < 0)
			return done > 0 ? (long)done : -errno;
		done += (size_t)n;
	}
	return (long)done;
}

/* One receive of up to len bytes within ms: count, 0 at EOF, -errno. */
static long agent_recv(int fd, uint8_t *buf, size_t len, int ms)
{
	for (;;) {
		int ready = agent_wait(fd, POLLIN, ms);
		if (ready < 0)
			return ready;
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return n < 0 ? -errno : n;
	}
}

static long agent_connect(const uint8_t *in, uint32_t len)
{
	struct sockaddr_in to;

	if (len != sizeof(to))
		return -EINVAL;
	memcpy(&to, in, sizeof(to));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int err = 0;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		err = errno == EINPROGRESS ? 0 : -errno;
		if (err == 0) {
			int ready = agent_wait(fd, POLLOUT, TIMEOUT_MS);
			socklen_t elen = sizeof(err);
			if (ready < 0)
				err = ready;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
				err = -errno;
			else
				err = -err;
		}
	}
	if (err == 0 && set_nonblocking(fd, false) < 0)
		err = -errno;
	if (err != 0) {
		close(fd);
		return err;
	}
	return agent_new_id(fd);
}

static long agent_listen(int port, int backlog)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = inet(any_ip, port);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return agent_new_id(fd);
}

static long agent_accept(int fd, int ms, struct outbuf *out)
{
	int ready = agent_wait(fd, POLLIN, ms > 0 ? ms : TIMEOUT_MS);
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	if (ready < 0)
		return ready;
	int s = accept(fd, (struct sockaddr *)&peer, &len);
	if (s < 0)
		return -errno;
	out_put(out, &peer, sizeof(peer));
	return agent_new_id(s);
}

static long agent_recv_exact(int fd, size_t n, int ms, struct outbuf *out)
{
	uint8_t buf[CHUNK];
	size_t done = 0;

	while (done < n) {
		size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
		long got = agent_recv(fd, buf, want, ms);
		if (got <= 0)
			return done > 0 ? (long)done : got;
		out_put(out, buf, (size_t)got);
		done += (size_t)got;
	}
	return (long)done;
}

static long agent_sink(int fd, uint64_t n, struct outbuf *out)
{
	static uint8_t buf[CHUNK];
	uint64_t done = 0, hash = FNV_START;

	while (done < n) {
		size_t want = n - done < sizeof(buf) ? (size_t)(n - done) : sizeof(buf);
		long got = agent_recv(fd, buf, want, TIMEOUT_MS);
		if (got < 0)
			return got;
		if (got == 0)
			break;
		hash = fnv(hash, buf, (size_t)got);
		done += (uint64_t)got;
	}
	out_put(out, &hash, sizeof(hash));
	return (long)done;
}

static long agent_source(int fd, uint64_t n, uint64_t seed, struct outbuf *out)
{
	static uint8_t buf[CHUNK];
	uint64_t done = 0, hash = FNV_START;

	while (done < n) {
		size_t len = n - done < sizeof(buf) ? (size_t)(n - done) : sizeof(buf);
		pattern_fill(buf, len, seed, done);
		long sent = agent_send_all(fd, buf, len);
		if (sent < 0)
			return sent;
		hash = fnv(hash, buf, (size_t)sent);
		done += (uint64_t)sent;
		if ((size_t)sent < len)
			break;
	}
	out_put(out, &hash, sizeof(hash));
	return (long)done;
}

/* Echo n bytes on each connection, all at once. */
static long agent_echo(const uint8_t *in, uint32_t len, int64_t n)
{
	struct pollfd fds[16];
	int64_t left[16];
	int count = (int)(len / sizeof(int32_t));
	uint8_t buf[CHUNK];
	long total = 0;

	if (count > 16)
		return -EINVAL;
	for (int i = 0; i < count; i++) {
		int32_t id;
		memcpy(&id, in + i * sizeof(id), sizeof(id));
		fds[i] = (struct pollfd){ .fd = agent_fd(id), .events = POLLIN };
		left[i] = n;
	}
	for (;;) {
		bool done = true;
		for (int i = 0; i < count; i++) {
			fds[i].events = left[i] > 0 ? POLLIN : 0;
			done &= left[i] == 0;
		}
		if (done)
			return total;
		int ready = poll(fds, (nfds_t)count, TIMEOUT_MS);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return ready < 0 ? -errno : -ETIMEDOUT;
		for (int i = 0; i < count; i++) {
			if (fds[i].revents == 0)
				continue;
			size_t want = left[i] < (int64_t)sizeof(buf) ? (size_t)left[i] : sizeof(buf);
			ssize_t got = recv(fds[i].fd, buf, want, MSG_DONTWAIT);
			if (got < 0 && errno == EAGAIN)
				continue;
			if (got <= 0)
				return got < 0 ? -errno : -EPIPE;
			long sent = agent_send_all(fds[i].fd, buf, (size_t)got);
			if (sent != got)
				return sent < 0 ? sent : -EIO;
			left[i] -= got;
			total += got;
		}
	}
}

static long agent_close_unread(int id)
{
	int fd = agent_fd(id), pending = 0;
	double deadline = now_ms() + TIMEOUT_MS;

	while (pending == 0 && now_ms() < deadline) {
		agent_wait(fd, POLLIN, 100);
		if (ioctl(fd, FIONREAD, &pending) < 0)
			return -errno;
	}
	if (pending == 0)
		return -ETIMEDOUT;
	agent_close(id);
	return 0;
}

static long agent_op(const struct far_request *req, const uint8_t *in, struct outbuf *out)
{
	int fd = agent_fd(req->id);
	struct linger abort_linger = { .l_onoff = 1, .l_linger = 0 };

	switch (req->op) {
	case OP_LISTEN:
		return agent_listen((int)req->arg, (int)req->arg2);
	case OP_CONNECT:
		return agent_connect(in, req->len);
	case OP_CLOSE_ALL:
		for (int id = 0; id < agent_ids; id++)
			agent_close(id);
		return 0;
	case OP_ECHO:
		return agent_echo(in, req->len, req->arg);
	default:
		break;
	}
	if (fd < 0)
		return -EBADF;
	switch (req->op) {
	case OP_ACCEPT:
		return agent_accept(fd, (int)req->arg, out);
	case OP_SEND:
		return agent_send_all(fd, in, req->len);
	case OP_SEND_SLOW: {
		size_t pieces = req->arg > 0 ? (size_t)req->arg : 1;
		size_t piece = (req->len + pieces - 1) / pieces;
		long total = 0;
		for (size_t off = 0; off < req->len; off += piece) {
			if (off > 0)
				sleep_ms((int)req->arg2);
			size_t n = req->len - off < piece ? req->len - off : piece;
			long sent = agent_send_all(fd, in + off, n);
			if (sent < 0)
				return sent;
			total += sent;
		}
		return total;
	}
	case OP_RECV: {
		uint8_t buf[CHUNK];
		size_t max = req->arg > 0 && req->arg < CHUNK ? (size_t)req->arg : CHUNK;
		long got = agent_recv(fd, buf, max, (int)req->arg2);
		if (got > 0)
			out_put(out, buf, (size_t)got);
		return got;
	}
	case OP_RECV_EXACT:
		return agent_recv_exact(fd, (size_t)req->arg, (int)req->arg2, out);
	case OP_SHUTDOWN:
		return shutdown(fd, (int)req->arg) < 0 ? -errno : 0;
	case OP_CLOSE:
		agent_close(req->id);
		return 0;
	case OP_ABORT:
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_linger, sizeof(abort_linger)) < 0)
			return -errno;
		agent_close(req->id);
		return 0;
	case OP_CLOSE_UNREAD:
		return agent_close_unread(req->id);
	case OP_SINK:
		return agent_sink(fd, (uint64_t)req->arg, out);
	case OP_SOURCE:
		return agent_source(fd, (uint64_t)req->arg, (uint64_t)req->arg2, out);
	case OP_NAMES: {
		struct sockaddr_in local, peer;
		if (sock_name(fd, &local, false) < 0 || sock_name(fd, &peer, true) < 0)
			return -errno;
		out_put(out, &local, sizeof(local));
		out_put(out, &peer, sizeof(peer));
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* Serve requests on ctl until it closes or QUIT. */
static void agent_serve(int ctl)
{
	for (;;) {
		struct far_request req;
		if (io_full(ctl, &req, sizeof(req), true, -1) != 0 || req.len > FAR_MAX_PAYLOAD)
			break;
		uint8_t *in = malloc(req.len ? req.len : 1);
		if (in == NULL || io_full(ctl, in, req.len, true, -1) != 0) {
			free(in);
			break;
		}
		struct outbuf out = { 0 };
		long result = req.op == OP_QUIT ? 0 : agent_op(&req, in, &out);
		struct far_reply rep = { .seq = req.seq, .result = result < 0 ? -1 : result,
					 .err = result < 0 ? (int32_t)-result : 0,
					 .len = (uint32_t)out.len };
		bool sent = io_full(ctl, &rep, sizeof(rep), false, -1) == 0 &&
			    io_full(ctl, out.data, out.len, false, -1) == 0;
		free(out.data);
		free(in);
		if (!sent || req.op == OP_QUIT)
			break;
	}
	for (int id = 0; id < agent_ids; id++)
		agent_close(id);
	close(ctl);
}

static void *agent_thread(void *arg)
{
	agent_serve((int)(intptr_t)arg);
	return NULL;
}

/* --serve-agent PATH: one client, then exit. */
static int serve_agent(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	signal(SIGPIPE, SIG_IGN);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
		fprintf(stderr, "serve-agent %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("agent listening on %s\n", path);
	fflush(stdout);
	if (poll_one(fd, POLLIN, 120000) <= 0) {
		fprintf(stderr, "serve-agent: no client within 120 s\n");
		return 1;
	}
	int ctl = accept(fd, NULL, NULL);
	if (ctl < 0)
		return 1;
	close(fd);
	unlink(path);
	agent_serve(ctl);
	return 0;
}

/* Threads that checks start never take SIGALRM: it is for the main
 * thread's blocked calls. */
static int spawn_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int err = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static int join_within(pthread_t thread, int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(thread, NULL, &until);
}

static int start_far(void)
{
	if (strcmp(cfg.far, "thread") == 0) {
		int sv[2];
		pthread_t thread;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		if (spawn_thread(&thread, agent_thread, (void *)(intptr_t)sv[1]) != 0)
			return -1;
		pthread_detach(thread);
		far_ctl = sv[0];
		return 0;
	}
	if (strncmp(cfg.far, "unix:", 5) != 0)
		return -1;

	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", cfg.far + 5);
	for (int tries = 0; tries < 500; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			far_ctl = fd;
			return 0;
		}
		close(fd);
		sleep_ms(20);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Connected pairs: "a" here, "b" at the far side                      */

struct pair {
	int a;          /* our socket */
	int b;          /* the far side's id for its end */
	int port;       /* the listener's port */
};

/* a connects to a far-side listener. */
static int pair_connect(struct pair *p)
{
	int lid;
	struct far_result res;

	p->port = next_port();
	TRY(far_listen(p->port, &lid));
	uint32_t seq = far_start(OP_ACCEPT, lid, TIMEOUT_MS, 0, NULL, 0);
	SYS(p->a = tcp_socket(0));
	struct sockaddr_in to = inet(cfg.far_ip, p->port);
	int connected = connect(p->a, (struct sockaddr *)&to, sizeof(to));
	int err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(connected == 0, "connect to %s: %s", addr_text(&to), errname(err));
	EXPECT(res.result >= 0, "far side: accept: %s", errname(res.err));
	p->b = (int)res.result;
	return far_ok(OP_CLOSE, lid, 0, 0, NULL, 0, NULL);
}

/* a is accepted from a far-side connect. */
static int pair_accept(struct pair *p)
{
	int l;
	struct far_result res;

	p->port = next_port();
	SYS(l = listener(any_ip, p->port, 16));
	struct sockaddr_in to = inet(cfg.my_ip, p->port);
	uint32_t seq = far_start(OP_CONNECT, 0, 0, 0, &to, sizeof(to));
	p->a = accept_within(l, TIMEOUT_MS, 0);
	int err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(res.result >= 0, "far side: connect to %s: %s", addr_text(&to), errname(res.err));
	p->b = (int)res.result;
	EXPECT(p->a >= 0, "accept: %s", errname(err));
	fdclose(l);
	return PASSED;
}

static int pair_open(struct pair *p)
{
	return cfg.side_accept ? pair_accept(p) : pair_connect(p);
}

/* Our own connection to our listener l at ip:port: *c connects, *s is
 * accepted; both end up blocking. */
static int local_pair(int l, struct in_addr ip, int port, int *c, int *s)
{
	struct sockaddr_in to = inet(ip, port);
	int err = 0;
	socklen_t len = sizeof(err);

	SYS(*c = tcp_socket(SOCK_NONBLOCK));
	if (connect(*c, (struct sockaddr *)&to, sizeof(to)) < 0)
		EXPECT(errno == EINPROGRESS, "connect to %s: %s", addr_text(&to), errname(errno));
	*s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(*s >= 0, "accept of a connection to %s: %s", addr_text(&to), errname(errno));
	EXPECT(poll_one(*c, POLLOUT, TIMEOUT_MS) > 0, "connect to %s: not writable", addr_text(&to));
	SYS(getsockopt(*c, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT(err == 0, "connect to %s: SO_ERROR %s", addr_text(&to), errname(err));
	SYS(set_nonblocking(*c, false));
	return PASSED;
}

/* One byte each way between our two ends. */
static int local_exchange(int c, int s)
{
	char byte = 0;

	EXPECT(write(c, "c", 1) == 1, "write: %s", errname(errno));
	EXPECT(read(s, &byte, 1) == 1 && byte == 'c', "accepted end read failed");
	EXPECT(write(s, "s", 1) == 1, "write: %s", errname(errno));
	EXPECT(read(c, &byte, 1) == 1 && byte == 's', "connecting end read failed");
	return PASSED;
}

/* One message each way between a and b. */
static int exchange(const struct pair *p)
{
	EXPECT(write(p->a, "to-far", 6) == 6, "write: %s", errname(errno));
	TRY(far_expect(p->b, "to-far", 6));
	TRY(far_send(p->b, "to-near", 7));
	return expect_read(p->a, "to-near", 7);
}

/* ================================================================== */
/* Checks: socket, bind, listen                                        */

static int check_bind_port0(void)
{
	int fd;
	struct sockaddr_in a = inet(any_ip, 0), got, after;

	SYS(fd = tcp_socket(0));
	SYS(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	SYS(sock_name(fd, &got, false));
	EXPECT(got.sin_port != 0, "getsockname after bind to port 0: %s (no port chosen)",
	       addr_text(&got));
	SYS(listen(fd, 8));
	SYS(sock_name(fd, &after, false));
	EXPECT(after.sin_port == got.sin_port, "port %u at bind, %u after listen",
	       ntohs(got.sin_port), ntohs(after.sin_port));
	return PASSED;
}

static int check_listen_port0(void)
{
	int fd, c, s;
	struct sockaddr_in got;

	SYS(fd = tcp_socket(0));
	SYS(listen(fd, 8));
	SYS(sock_name(fd, &got, false));
	EXPECT(got.sin_port != 0 && got.sin_addr.s_addr == 0,
	       "getsockname after listen without bind: %s", addr_text(&got));
	TRY(local_pair(fd, cfg.local_ip, ntohs(got.sin_port), &c, &s));
	return local_exchange(c, s);
}

static int check_bind_any(void)
{
	int port = next_port(), l, b;
	struct sockaddr_in got, local;

	SYS(l = listener(any_ip, port, 8));
	SYS(sock_name(l, &got, false));
	EXPECT(got.sin_addr.s_addr == 0 && ntohs(got.sin_port) == port,
	       "getsockname: %s, expected 0.0.0.0:%d", addr_text(&got), port);
	TRY(far_connect(cfg.my_ip, port, &b));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept: %s", errname(errno));
	SYS(sock_name(s, &local, false));
	EXPECT(ntohs(local.sin_port) == port, "accepted socket's port %u, expected %d",
	       ntohs(local.sin_port), port);
	TRY(exchange(&(struct pair){ .a = s, .b = b }));
	EXPECT_OR_KNOWN(local.sin_addr.s_addr == cfg.my_ip.s_addr, is_loopback(cfg.my_ip),
			"the shim connects 127.0.0.1 to tas's address, and the accepting end "
			"cannot tell which of the two the connecting end used",
			"accepted socket's name %s, expected %s", addr_text(&local),
			addr_text(&(struct sockaddr_in){ .sin_addr = cfg.my_ip,
							  .sin_port = htons(port) }));
	return PASSED;
}

static int check_bind_loopback(void)
{
	int port = next_port(), l, c, s;
	struct sockaddr_in got, local, peer;

	SYS(l = listener(loopback_ip, port, 8));
	SYS(sock_name(l, &got, false));
	EXPECT(got.sin_addr.s_addr == loopback_ip.s_addr && ntohs(got.sin_port) == port,
	       "getsockname: %s, expected 127.0.0.1:%d", addr_text(&got), port);
	TRY(local_pair(l, loopback_ip, port, &c, &s));
	SYS(sock_name(s, &local, false));
	SYS(sock_name(s, &peer, true));
	EXPECT(local.sin_addr.s_addr == loopback_ip.s_addr && ntohs(local.sin_port) == port,
	       "accepted socket's name %s, expected 127.0.0.1:%d", addr_text(&local), port);
	EXPECT(peer.sin_addr.s_addr == loopback_ip.s_addr,
	       "accepted socket's peer %s, expected 127.0.0.1", addr_text(&peer));
	return local_exchange(c, s);
}

/* A listener on 127.0.0.1 is not reachable at another address. */
static int check_bind_loopback_private(void)
{
	int port = next_port(), l;
	struct far_result res;
	struct sockaddr_in to = inet(cfg.my_ip, port);

	if (is_loopback(cfg.my_ip))
		return skipf("the far side reaches this process at 127.0.0.1 in this layout");
	SYS(l = listener(loopback_ip, port, 8));
	TRY(far_call(OP_CONNECT, 0, 0, 0, &to, sizeof(to), &res));
	/* From another host it must be refused; from this one the shim
	 * cannot tell a connect to tas's address from one to 127.0.0.1. */
	EXPECT_OR_KNOWN(res.result < 0 && res.err == ECONNREFUSED, cfg.far_on_host,
			"the shim connects 127.0.0.1 to tas's address: a connection to tas's "
			"address from this host cannot be told from one to 127.0.0.1",
			"the far side's connect to %s, where only 127.0.0.1:%d listens: %s, "
			"expected ECONNREFUSED", addr_text(&to), port,
			res.result >= 0 ? "connected" : errname(res.err));
	return PASSED;
}

/* A listener on this host's address is not reachable at 127.0.0.1. */
static int check_bind_host_ip(void)
{
	int port = next_port(), l, b, c;
	struct sockaddr_in got, to = inet(loopback_ip, port);

	if (is_loopback(cfg.my_ip))
		return skipf("no address but 127.0.0.1 for this process in this layout");
	SYS(l = listener(cfg.my_ip, port, 8));
	SYS(sock_name(l, &got, false));
	EXPECT(got.sin_addr.s_addr == cfg.my_ip.s_addr && ntohs(got.sin_port) == port,
	       "getsockname: %s", addr_text(&got));
	TRY(far_connect(cfg.my_ip, port, &b));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept: %s", errname(errno));
	TRY(exchange(&(struct pair){ .a = s, .b = b }));
	SYS(c = tcp_socket(0));
	errno = 0;
	int connected = connect(c, (struct sockaddr *)&to, sizeof(to));
	int err = errno;
	EXPECT_OR_KNOWN(connected == -1 && err == ECONNREFUSED, true,
			"the shim connects 127.0.0.1 to tas's address, where the listener is",
			"connect to %s, where only %s listens: %d (%s), expected ECONNREFUSED",
			addr_text(&to), addr_text(&got), connected,
			connected == 0 ? "connected" : errname(err));
	return PASSED;
}

/* A second listener on a listening port: EADDRINUSE at bind or listen
 * (which one goes into the ok line). */
static int second_listener_refused(struct in_addr ip, int port, bool reuseaddr,
				   const char **where)
{
	int fd, one = 1;
	struct sockaddr_in a = inet(ip, port);

	SYS(fd = tcp_socket(0));
	if (reuseaddr)
		SYS(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		EXPECT(errno == EADDRINUSE, "bind %s: %s, expected EADDRINUSE", addr_text(&a),
		       errname(errno));
		*where = "bind";
		return PASSED;
	}
	if (listen(fd, 8) < 0) {
		EXPECT(errno == EADDRINUSE, "listen on %s: %s, expected EADDRINUSE",
		       addr_text(&a), errname(errno));
		*where = "listen";
		return PASSED;
	}
	FAIL("a second listener on %s%s: bind and listen succeeded", addr_text(&a),
	     reuseaddr ? " (SO_REUSEADDR)" : "");
}

static int check_eaddrinuse(void)
{
	int port = next_port(), l;
	const char *plain, *reuse, *loop;

	SYS(l = listener(any_ip, port, 8));
	TRY(second_listener_refused(any_ip, port, false, &plain));
	TRY(second_listener_refused(any_ip, port, true, &reuse));
	TRY(second_listener_refused(loopback_ip, port, true, &loop));
	snprintf(note, sizeof(note), "at %s; with SO_REUSEADDR at %s; 127.0.0.1 at %s",
		 plain, reuse, loop);
	return PASSED;
}

static int check_eaddrinuse_far(void)
{
	int port = next_port(), lid;
	const char *where;

	if (!cfg.far_on_host)
		return skipf("the far side does not share this host's ports");
	TRY(far_listen(port, &lid));
	TRY(second_listener_refused(any_ip, port, true, &where));
	snprintf(note, sizeof(note), "at %s", where);
	return PASSED;
}

static int check_listen_twice(void)
{
	int port = next_port(), l, b;

	SYS(l = listener(any_ip, port, 1));
	SYS(listen(l, 16));
	TRY(far_connect(cfg.my_ip, port, &b));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept after the second listen: %s", errname(errno));
	return exchange(&(struct pair){ .a = s, .b = b });
}

static int check_names_unconnected(void)
{
	int fd, l, port = next_port();
	struct sockaddr_in name;

	SYS(fd = tcp_socket(0));
	SYS(sock_name(fd, &name, false));
	EXPECT(name.sin_family == AF_INET && name.sin_addr.s_addr == 0 && name.sin_port == 0,
	       "fresh socket's name %s (family %d)", addr_text(&name), name.sin_family);
	EXPECT_ERRNO(sock_name(fd, &name, true), ENOTCONN);
	SYS(l = listener(any_ip, port, 8));
	EXPECT_ERRNO(sock_name(l, &name, true), ENOTCONN);
	return PASSED;
}

static int check_names_connected(void)
{
	struct pair p;
	struct sockaddr_in local, peer, far[2];
	struct far_result res;

	TRY(pair_open(&p));
	SYS(sock_name(p.a, &local, false));
	SYS(sock_name(p.a, &peer, true));
	TRY(far_call(OP_NAMES, p.b, 0, 0, NULL, 0, &res));
	EXPECT(res.result == 0 && res.len == sizeof(far), "far side: names: %s", errname(res.err));
	memcpy(far, res.data, sizeof(far));
	EXPECT(local.sin_port == far[1].sin_port && peer.sin_port == far[0].sin_port,
	       "this end %s -> %s, far end %s -> %s: ports not each other's mirror",
	       addr_text(&local), addr_text(&peer), addr_text(&far[0]), addr_text(&far[1]));
	struct sockaddr_in *listening = cfg.side_accept ? &local : &peer;
	EXPECT(ntohs(listening->sin_port) == p.port, "listener port %u, expected %d",
	       ntohs(listening->sin_port), p.port);
	EXPECT(local.sin_addr.s_addr != 0 && local.sin_port != 0, "local name %s",
	       addr_text(&local));
	/* Made to 127.0.0.1: the connecting end is told so, the accepting
	 * end (ours, or the far one) sees tas's address at both ends. */
	bool over_loopback = is_loopback(cfg.side_accept ? cfg.my_ip : cfg.far_ip);
	EXPECT_OR_KNOWN(same_addr(&local, &far[1]) && same_addr(&peer, &far[0]), over_loopback,
			"the shim connects 127.0.0.1 to tas's address, and the accepting end "
			"cannot tell which of the two the connecting end used",
			"this end %s -> %s, far end %s -> %s: not each other's mirror",
			addr_text(&local), addr_text(&peer), addr_text(&far[0]),
			addr_text(&far[1]));
	return PASSED;
}

/* ================================================================== */
/* Checks: connect                                                     */

static int check_connect_blocking(void)
{
	struct pair p;

	TRY(pair_connect(&p));
	struct sockaddr_in to = inet(cfg.far_ip, p.port);
	EXPECT_ERRNO(connect(p.a, (struct sockaddr *)&to, sizeof(to)), EISCONN);
	return exchange(&p);
}

/* A non-blocking connect to a far listener, until writable. */
static int connect_nonblocking(struct pair *p)
{
	int lid, err = -1;
	socklen_t len = sizeof(err);
	struct far_result res;

	p->port = next_port();
	TRY(far_listen(p->port, &lid));
	uint32_t seq = far_start(OP_ACCEPT, lid, TIMEOUT_MS, 0, NULL, 0);
	SYS(p->a = tcp_socket(SOCK_NONBLOCK));
	struct sockaddr_in to = inet(cfg.far_ip, p->port);
	errno = 0;
	int r = connect(p->a, (struct sockaddr *)&to, sizeof(to));
	int connect_err = errno;
	int revents = poll_one(p->a, POLLOUT, TIMEOUT_MS);
	TRY(far_finish(seq, &res));
	EXPECT(r == -1 && connect_err == EINPROGRESS,
	       "non-blocking connect: %d (%s), expected -1 EINPROGRESS", r,
	       r == 0 ? "connected at once" : errname(connect_err));
	EXPECT(revents == POLLOUT, "poll POLLOUT after connect: revents %#x", revents);
	SYS(getsockopt(p->a, SOL_SOCKET, SO_ERROR, &err, &len));
	EXPECT(err == 0, "SO_ERROR after connect: %s", errname(err));
	EXPECT(res.result >= 0, "far side: accept: %s", errname(res.err));
	p->b = (int)res.result;
	return far_ok(OP_CLOSE, lid, 0, 0, NULL, 0, NULL);
}

static int check_connect_nonblocking(void)
{
	struct pair p;

	TRY(connect_nonblocking(&p));
	struct sockaddr_in to = inet(cfg.far_ip, p.port);
	int again = connect(p.a, (struct sockaddr *)&to, sizeof(to));
	EXPECT(again == 0 || errno == EISCONN, "connect again after completion: %s",
	       errname(errno));
	EXPECT_ERRNO(connect(p.a, (struct sockaddr *)&to, sizeof(to)), EISCONN);
	SYS(set_nonblocking(p.a, false));
	return exchange(&p);
}

/* Linux: the first connect after a non-blocking one completed returns 0
 * (it moves the socket to connected), only the next one EISCONN. */
static int check_connect_again_after_inprogress(void)
{
	struct pair p;

	TRY(connect_nonblocking(&p));
	struct sockaddr_in to = inet(cfg.far_ip, p.port);
	errno = 0;
	int again = connect(p.a, (struct sockaddr *)&to, sizeof(to));
	EXPECT(again == 0, "the first connect after completion: %d (%s), expected 0", again,
	       errname(errno));
	EXPECT_ERRNO(connect(p.a, (struct sockaddr *)&to, sizeof(to)), EISCONN);
	return PASSED;
}

static int check_connect_ealready(void)
{
	int fd;

	if (!cfg.have_blackhole)
		return skipf("no unanswered address given (--blackhole)");
	SYS(fd = tcp_socket(SOCK_NONBLOCK));
	EXPECT_ERRNO(connect(fd, (struct sockaddr *)&cfg.blackhole, sizeof(cfg.blackhole)),
		     EINPROGRESS);
	EXPECT_ERRNO(connect(fd, (struct sockaddr *)&cfg.blackhole, sizeof(cfg.blackhole)),
		     EALREADY);
	int revents = poll_one(fd, POLLOUT, 200);
	EXPECT(revents == 0, "poll of a connect in progress: revents %#x", revents);
	int state = tcp_state(fd);
	EXPECT(state == TCP_SYN_SENT, "TCP_INFO state %d, expected SYN_SENT (%d)", state,
	       TCP_SYN_SENT);
	EXPECT_ERRNO(read(fd, &(char){ 0 }, 1), EAGAIN);
	return PASSED;
}

static int check_connect_sndtimeo(void)
{
	int fd;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };

	if (!cfg.have_blackhole)
		return skipf("no unanswered address given (--blackhole)");
	SYS(fd = tcp_socket(0));
	SYS(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	double start = now_ms();
	EXPECT_ERRNO(connect(fd, (struct sockaddr *)&cfg.blackhole, sizeof(cfg.blackhole)),
		     EINPROGRESS);
	double took = now_ms() - start;
	EXPECT(took >= 250 && took < 3000, "blocking connect with SO_SNDTIMEO 300 ms gave up "
	       "after %.0f ms", took);
	return PASSED;
}

static int check_connect_refused_blocking(void)
{
	int fd;
	struct sockaddr_in to = inet(cfg.far_ip, cfg.refused_port);

	SYS(fd = tcp_socket(0));
	EXPECT_ERRNO(connect(fd, (struct sockaddr *)&to, sizeof(to)), ECONNREFUSED);
	EXPECT(get_int_opt(fd, SOL_SOCKET, SO_ERROR) == 0, "SO_ERROR after ECONNREFUSED: %d",
	       get_int_opt(fd, SOL_SOCKET, SO_ERROR));
	return PASSED;
}

/* Non-blocking connect to a port nobody listens on; revents of poll. */
static int refused_nonblocking(int *fd, int *revents)
{
	struct sockaddr_in to = inet(cfg.far_ip, cfg.refused_port);

	SYS(*fd = tcp_socket(SOCK_NONBLOCK));
	EXPECT_ERRNO(connect(*fd, (struct sockaddr *)&to, sizeof(to)), EINPROGRESS);
	*revents = poll_one(*fd, POLLOUT, TIMEOUT_MS);
	EXPECT(*revents > 0, "poll after a refused connect: %s",
	       *revents == 0 ? "timed out" : errname(errno));
	return PASSED;
}

static int check_connect_refused_nonblocking(void)
{
	int fd, revents;

	TRY(refused_nonblocking(&fd, &revents));
	EXPECT(revents & POLLERR, "poll after a refused connect: revents %#x, no POLLERR", revents);
	int err = get_int_opt(fd, SOL_SOCKET, SO_ERROR);
	EXPECT(err == ECONNREFUSED, "SO_ERROR %d (%s), expected ECONNREFUSED", err,
	       err > 0 ? errname(err) : "-");
	err = get_int_opt(fd, SOL_SOCKET, SO_ERROR);
	EXPECT(err == 0, "SO_ERROR the second time: %d (%s), expected 0", err,
	       err > 0 ? errname(err) : "-");
	return PASSED;
}

/* Linux: a refused connect polls POLLOUT | POLLERR | POLLHUP (shut both
 * ways: writable, so that a writer sees the error). */
static int check_connect_refused_revents(void)
{
	int fd, revents, want = POLLOUT | POLLERR | POLLHUP;

	TRY(refused_nonblocking(&fd, &revents));
	EXPECT(revents == want, "revents %#x, expected POLLOUT|POLLERR|POLLHUP (%#x)", revents,
	       want);
	return PASSED;
}

/* ================================================================== */
/* Checks: accept                                                      */

static int check_accept4_flags(void)
{
	int port = next_port(), l, b1, b2, b3, nl;

	SYS(l = listener(any_ip, port, 8));
	TRY(far_connect(cfg.my_ip, port, &b1));
	int s = accept_within(l, TIMEOUT_MS, SOCK_NONBLOCK | SOCK_CLOEXEC);
	EXPECT(s >= 0, "accept4: %s", errname(errno));
	EXPECT(fcntl(s, F_GETFL) & O_NONBLOCK, "accept4(SOCK_NONBLOCK): no O_NONBLOCK");
	EXPECT(fcntl(s, F_GETFD) & FD_CLOEXEC, "accept4(SOCK_CLOEXEC): no FD_CLOEXEC");
	EXPECT_ERRNO(read(s, &(char){ 0 }, 1), EAGAIN);

	TRY(far_connect(cfg.my_ip, port, &b2));
	s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept4: %s", errname(errno));
	EXPECT(!(fcntl(s, F_GETFL) & O_NONBLOCK), "accept4(0): O_NONBLOCK set");
	EXPECT(!(fcntl(s, F_GETFD) & FD_CLOEXEC), "accept4(0): FD_CLOEXEC set");

	/* A non-blocking listener's accepted sockets block (not inherited). */
	int nport = next_port();
	SYS(nl = listener(any_ip, nport, 8));
	SYS(set_nonblocking(nl, true));
	TRY(far_connect(cfg.my_ip, nport, &b3));
	EXPECT(poll_one(nl, POLLIN, TIMEOUT_MS) == POLLIN, "non-blocking listener not readable");
	SYS(s = fdreg(accept(nl, NULL, NULL)));
	EXPECT(!(fcntl(s, F_GETFL) & O_NONBLOCK),
	       "accept on a non-blocking listener: the new socket is non-blocking");
	return exchange(&(struct pair){ .a = s, .b = b3 });
}

static int check_accept_eagain(void)
{
	int l;

	SYS(l = listener(any_ip, next_port(), 8));
	SYS(set_nonblocking(l, true));
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
	EXPECT_ERRNO(accept4(l, NULL, NULL, SOCK_CLOEXEC), EAGAIN);
	return PASSED;
}

static int check_accept_rcvtimeo(void)
{
	int l;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	SYS(l = listener(any_ip, next_port(), 8));
	SYS(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	double start = now_ms();
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
	double took = now_ms() - start;
	EXPECT(took >= 150 && took < 3000, "accept with SO_RCVTIMEO 200 ms returned after %.0f ms",
	       took);
	return PASSED;
}

/* ================================================================== */
/* Checks: data                                                        */

static int check_read_write(void)
{
	struct pair p;

	TRY(pair_open(&p));
	return exchange(&p);
}

static int check_send_recv(void)
{
	struct pair p;
	char buf[32];

	TRY(pair_open(&p));
	EXPECT(send(p.a, "send()", 6, 0) == 6, "send: %s", errname(errno));
	TRY(far_expect(p.b, "send()", 6));
	TRY(far_send(p.b, "recv()", 6));
	EXPECT(read_all(p.a, buf, 6, MSG_NOSIGNAL) == 6 && memcmp(buf, "recv()", 6) == 0,
	       "recv did not give the 6 bytes sent");
	return PASSED;
}

static int check_sendto_recvfrom(void)
{
	struct pair p;
	struct sockaddr_in peer, from;
	socklen_t from_len = sizeof(from);
	char buf[32];

	TRY(pair_open(&p));
	SYS(sock_name(p.a, &peer, true));
	EXPECT(sendto(p.a, "to-null", 7, 0, NULL, 0) == 7, "sendto(NULL): %s", errname(errno));
	/* A connected TCP socket ignores the address. */
	EXPECT(sendto(p.a, "to-peer", 7, 0, (struct sockaddr *)&peer, sizeof(peer)) == 7,
	       "sendto(peer): %s", errname(errno));
	TRY(far_expect(p.b, "to-nullto-peer", 14));
	TRY(far_send(p.b, "from", 4));
	memset(&from, 0xff, sizeof(from));
	TRY(wait_fionread(p.a, 4, TIMEOUT_MS));
	ssize_t n = recvfrom(p.a, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
	EXPECT(n == 4 && memcmp(buf, "from", 4) == 0, "recvfrom: %zd (%s)", n, errname(errno));
	EXPECT(from_len == 0, "recvfrom on TCP: address length %u, expected 0", from_len);
	return PASSED;
}

static int check_sendmsg_recvmsg(void)
{
	struct pair p;
	char one[3], two[16];
	struct sockaddr_in name;
	struct iovec out[3] = { { "sen", 3 }, { "dm", 2 }, { "sg", 2 } };
	struct iovec in[2] = { { one, sizeof(one) }, { two, sizeof(two) } };
	struct msghdr msg = { .msg_iov = out, .msg_iovlen = 3 };

	TRY(pair_open(&p));
	EXPECT(sendmsg(p.a, &msg, 0) == 7, "sendmsg: %s", errname(errno));
	TRY(far_expect(p.b, "sendmsg", 7));
	TRY(far_send(p.b, "recvmsg-data", 12));
	TRY(wait_fionread(p.a, 12, TIMEOUT_MS));
	msg = (struct msghdr){ .msg_iov = in, .msg_iovlen = 2, .msg_name = &name,
			       .msg_namelen = sizeof(name), .msg_flags = -1 };
	ssize_t n = recvmsg(p.a, &msg, 0);
	EXPECT(n == 12, "recvmsg: %zd (%s)", n, errname(errno));
	EXPECT(memcmp(one, "rec", 3) == 0 && memcmp(two, "vmsg-data", 9) == 0,
	       "recvmsg scattered the wrong bytes");
	EXPECT(msg.msg_flags == 0, "recvmsg msg_flags %#x", msg.msg_flags);
	EXPECT(msg.msg_namelen == 0, "recvmsg msg_namelen %u on TCP, expected 0", msg.msg_namelen);
	return PASSED;
}

static int check_readv_writev(void)
{
	struct pair p;
	char x[2], y[5], z[4];
	struct iovec out[3] = { { "wr", 2 }, { "it", 2 }, { "ev", 2 } };
	struct iovec in[3] = { { x, sizeof(x) }, { y, sizeof(y) }, { z, sizeof(z) } };

	TRY(pair_open(&p));
	EXPECT(writev(p.a, out, 3) == 6, "writev: %s", errname(errno));
	TRY(far_expect(p.b, "writev", 6));
	TRY(far_send(p.b, "readv-bytes", 11));
	TRY(wait_fionread(p.a, 11, TIMEOUT_MS));
	ssize_t n = readv(p.a, in, 3);
	EXPECT(n == 11, "readv: %zd (%s)", n, errname(errno));
	EXPECT(memcmp(x, "re", 2) == 0 && memcmp(y, "adv-b", 5) == 0 && memcmp(z, "ytes", 4) == 0,
	       "readv scattered the wrong bytes");
	return PASSED;
}

static int check_msg_peek(void)
{
	struct pair p;
	char buf[16];
	int pending = 0;

	TRY(pair_open(&p));
	TRY(far_send(p.b, "peek-me", 7));
	TRY(wait_fionread(p.a, 7, TIMEOUT_MS));
	for (int round = 0; round < 2; round++) {
		memset(buf, 0, sizeof(buf));
		ssize_t n = recv(p.a, buf, sizeof(buf), MSG_PEEK);
		EXPECT(n == 7 && memcmp(buf, "peek-me", 7) == 0, "MSG_PEEK %d: %zd bytes (%s)",
		       round + 1, n, n < 0 ? errname(errno) : "");
	}
	SYS(ioctl(p.a, FIONREAD, &pending));
	EXPECT(pending == 7, "FIONREAD %d after peeking, expected 7", pending);
	TRY(expect_read(p.a, "peek-me", 7));
	EXPECT_ERRNO(recv(p.a, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	return PASSED;
}

static int check_msg_dontwait(void)
{
	struct pair p;
	char buf[8];

	TRY(pair_open(&p));
	EXPECT_ERRNO(recv(p.a, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	EXPECT(!(fcntl(p.a, F_GETFL) & O_NONBLOCK), "MSG_DONTWAIT left O_NONBLOCK behind");
	EXPECT(send(p.a, "dw", 2, MSG_DONTWAIT) == 2, "send(MSG_DONTWAIT): %s", errname(errno));
	TRY(far_expect(p.b, "dw", 2));
	TRY(far_send(p.b, "x", 1));
	EXPECT(poll_one(p.a, POLLIN, TIMEOUT_MS) == POLLIN, "not readable");
	EXPECT(recv(p.a, buf, sizeof(buf), MSG_DONTWAIT) == 1 && buf[0] == 'x',
	       "recv(MSG_DONTWAIT) with data: %s", errname(errno));
	return PASSED;
}

static int check_msg_waitall(void)
{
	struct pair p;
	static char data[3000], buf[3000];
	struct far_result res;

	TRY(pair_open(&p));
	pattern_fill((uint8_t *)data, sizeof(data), 7, 0);
	uint32_t seq = far_start(OP_SEND_SLOW, p.b, 3, 60, data, sizeof(data));
	ssize_t n = recv(p.a, buf, sizeof(buf), MSG_WAITALL);
	int err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(res.result == (int64_t)sizeof(data), "far side sent %lld bytes",
	       (long long)res.result);
	EXPECT(n == (ssize_t)sizeof(buf), "recv(MSG_WAITALL) of 3 pieces: %zd bytes (%s)", n,
	       n < 0 ? errname(err) : "short");
	EXPECT(memcmp(buf, data, sizeof(data)) == 0, "MSG_WAITALL: bytes differ");
	return PASSED;
}

static int check_large_transfer(void)
{
	struct pair p;
	static uint8_t buf[CHUNK];
	struct far_result res;
	uint64_t hash = FNV_START, far_hash;

	TRY(pair_open(&p));
	uint32_t seq = far_start(OP_SINK, p.b, LARGE_BYTES, 0, NULL, 0);
	for (uint64_t done = 0; done < LARGE_BYTES; done += CHUNK) {
		pattern_fill(buf, CHUNK, 11, done);
		hash = fnv(hash, buf, CHUNK);
		ssize_t n = write_all(p.a, buf, CHUNK);
		EXPECT(n == CHUNK, "write at byte %llu: %zd (%s)", (unsigned long long)done, n,
		       errname(errno));
	}
	TRY(far_finish(seq, &res));
	EXPECT(res.result == LARGE_BYTES, "far end received %lld of %u bytes (%s)",
	       (long long)res.result, LARGE_BYTES, res.result < 0 ? errname(res.err) : "");
	memcpy(&far_hash, res.data, sizeof(far_hash));
	EXPECT(far_hash == hash, "to the far end: checksums differ");

	seq = far_start(OP_SOURCE, p.b, LARGE_BYTES, 12, NULL, 0);
	hash = FNV_START;
	uint64_t got = 0;
	while (got < LARGE_BYTES) {
		ssize_t n = read(p.a, buf, sizeof(buf));
		if (n <= 0)
			break;
		hash = fnv(hash, buf, (size_t)n);
		got += (uint64_t)n;
	}
	int err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(got == LARGE_BYTES, "received %llu of %u bytes (%s)", (unsigned long long)got,
	       LARGE_BYTES, errname(err));
	memcpy(&far_hash, res.data, sizeof(far_hash));
	EXPECT(far_hash == hash, "from the far end: checksums differ");
	TRY(far_ok(OP_CLOSE, p.b, 0, 0, NULL, 0, NULL));
	EXPECT(read(p.a, buf, 1) == 0, "no end of file after the far end closed: %s",
	       errname(errno));
	return PASSED;
}

#define FILE_BYTES 300000

static int check_sendfile(void)
{
	struct pair p;
	static uint8_t data[FILE_BYTES];
	char path[] = "/tmp/shim-semantics-XXXXXX";
	struct far_result res;
	uint64_t far_hash;
	int f;

	TRY(pair_open(&p));
	pattern_fill(data, sizeof(data), 21, 0);
	SYS(f = fdreg(mkstemp(path)));
	unlink(path);
	EXPECT(write_all(f, data, sizeof(data)) == FILE_BYTES, "write file: %s", errname(errno));
	SYS(lseek(f, 0, SEEK_SET));

	/* From the file position, which moves. */
	uint32_t seq = far_start(OP_SINK, p.b, FILE_BYTES, 0, NULL, 0);
	size_t sent = 0;
	while (sent < FILE_BYTES) {
		ssize_t n = sendfile(p.a, f, NULL, FILE_BYTES - sent);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	int err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(sent == FILE_BYTES, "sendfile sent %zu of %d bytes (%s)", sent, FILE_BYTES,
	       errname(err));
	memcpy(&far_hash, res.data, sizeof(far_hash));
	EXPECT(res.result == FILE_BYTES && far_hash == fnv(FNV_START, data, FILE_BYTES),
	       "far end received %lld bytes, checksum %s", (long long)res.result,
	       far_hash == fnv(FNV_START, data, FILE_BYTES) ? "equal" : "different");
	off_t pos = lseek(f, 0, SEEK_CUR);
	EXPECT(pos == FILE_BYTES, "file position %lld after sendfile, expected %d",
	       (long long)pos, FILE_BYTES);

	/* From an offset, which moves; the file position does not. */
	off_t offset = 1000;
	seq = far_start(OP_SINK, p.b, 5000, 0, NULL, 0);
	sent = 0;
	while (sent < 5000) {
		ssize_t n = sendfile(p.a, f, &offset, 5000 - sent);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(sent == 5000, "sendfile(offset) sent %zu of 5000 bytes (%s)", sent, errname(err));
	memcpy(&far_hash, res.data, sizeof(far_hash));
	EXPECT(res.result == 5000 && far_hash == fnv(FNV_START, data + 1000, 5000),
	       "far end received %lld bytes from the offset, checksum differs or short",
	       (long long)res.result);
	EXPECT(offset == 6000, "offset %lld after sendfile, expected 6000", (long long)offset);
	pos = lseek(f, 0, SEEK_CUR);
	EXPECT(pos == FILE_BYTES, "file position moved to %lld by sendfile with an offset",
	       (long long)pos);
	return PASSED;
}

static int check_fionread(void)
{
	struct pair p;
	char data[100], buf[40];
	int pending = -1, l;

	TRY(pair_open(&p));
	SYS(ioctl(p.a, FIONREAD, &pending));
	EXPECT(pending == 0, "FIONREAD %d with nothing sent", pending);
	memset(data, 'f', sizeof(data));
	TRY(far_send(p.b, data, sizeof(data)));
	TRY(wait_fionread(p.a, 100, TIMEOUT_MS));
	SYS(ioctl(p.a, FIONREAD, &pending));
	EXPECT(pending == 100, "FIONREAD %d, expected 100", pending);
	EXPECT(read(p.a, buf, sizeof(buf)) == 40, "read 40: %s", errname(errno));
	SYS(ioctl(p.a, FIONREAD, &pending));
	EXPECT(pending == 60, "FIONREAD %d after reading 40 of 100", pending);
	SYS(l = listener(any_ip, next_port(), 8));
	EXPECT_ERRNO(ioctl(l, FIONREAD, &pending), EINVAL);
	return PASSED;
}

static int check_fionbio(void)
{
	struct pair p;
	int on = 1, off = 0;

	TRY(pair_open(&p));
	SYS(ioctl(p.a, FIONBIO, &on));
	EXPECT(fcntl(p.a, F_GETFL) & O_NONBLOCK, "FIONBIO 1: no O_NONBLOCK in F_GETFL");
	EXPECT_ERRNO(read(p.a, &(char){ 0 }, 1), EAGAIN);
	SYS(ioctl(p.a, FIONBIO, &off));
	EXPECT(!(fcntl(p.a, F_GETFL) & O_NONBLOCK), "FIONBIO 0: O_NONBLOCK still set");
	/* Blocking again: a read waits for the data. */
	TRY(far_send(p.b, "late", 4));
	return expect_read(p.a, "late", 4);
}

static int check_o_nonblock(void)
{
	struct pair p;

	TRY(pair_open(&p));
	SYS(set_nonblocking(p.a, true));
	EXPECT(fcntl(p.a, F_GETFL) & O_NONBLOCK, "F_SETFL O_NONBLOCK not reported by F_GETFL");
	EXPECT_ERRNO(read(p.a, &(char){ 0 }, 1), EAGAIN);
	EXPECT_ERRNO(recv(p.a, &(char){ 0 }, 1, 0), EAGAIN);
	EXPECT(write(p.a, "nb", 2) == 2, "non-blocking write: %s", errname(errno));
	TRY(far_expect(p.b, "nb", 2));
	SYS(set_nonblocking(p.a, false));
	TRY(far_send(p.b, "blocking", 8));
	return expect_read(p.a, "blocking", 8);
}

static int check_so_rcvtimeo(void)
{
	struct pair p;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 }, got;
	socklen_t len = sizeof(got);

	TRY(pair_open(&p));
	SYS(setsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	SYS(getsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &got, &len));
	EXPECT(got.tv_sec == 0 && got.tv_usec >= 300000 && got.tv_usec < 310000,
	       "SO_RCVTIMEO reads back as %ld.%06ld s", (long)got.tv_sec, (long)got.tv_usec);
	double start = now_ms();
	EXPECT_ERRNO(read(p.a, &(char){ 0 }, 1), EAGAIN);
	double took = now_ms() - start;
	EXPECT(took >= 250 && took < 2000, "read with SO_RCVTIMEO 300 ms returned after %.0f ms",
	       took);
	TRY(far_send(p.b, "in-time", 7));
	return expect_read(p.a, "in-time", 7);
}

/* ================================================================== */
/* Checks: shutdown, close, errors                                     */

static int check_shutdown_wr(void)
{
	struct pair p;

	TRY(pair_open(&p));
	SYS(shutdown(p.a, SHUT_WR));
	TRY(far_expect_recv(p.b, 0));
	TRY(far_send(p.b, "still", 5));
	TRY(expect_read(p.a, "still", 5));
	int before = sigpipes;
	EXPECT_ERRNO(send(p.a, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT(sigpipes == before, "SIGPIPE despite MSG_NOSIGNAL");
	SYS(shutdown(p.a, SHUT_WR));
	return PASSED;
}

static int check_shutdown_rd(void)
{
	struct pair p;
	char buf[8];

	TRY(pair_open(&p));
	SYS(shutdown(p.a, SHUT_RD));
	double start = now_ms();
	EXPECT(recv(p.a, buf, sizeof(buf), 0) == 0, "recv after SHUT_RD: %s", errname(errno));
	EXPECT(now_ms() - start < 1000, "recv after SHUT_RD blocked");
	int revents = poll_one(p.a, POLLIN | POLLRDHUP, 0);
	EXPECT(revents == (POLLIN | POLLRDHUP), "poll after SHUT_RD: revents %#x, expected "
	       "POLLIN|POLLRDHUP", revents);
	EXPECT(write(p.a, "wr-ok", 5) == 5, "write after SHUT_RD: %s", errname(errno));
	return far_expect(p.b, "wr-ok", 5);
}

/* Linux: SHUT_RD does not discard what was already received. */
static int check_shutdown_rd_queued(void)
{
	struct pair p;

	TRY(pair_open(&p));
	TRY(far_send(p.b, "queued", 6));
	TRY(wait_fionread(p.a, 6, TIMEOUT_MS));
	SYS(shutdown(p.a, SHUT_RD));
	char buf[8];
	ssize_t n = recv(p.a, buf, sizeof(buf), MSG_DONTWAIT);
	EXPECT(n == 6 && memcmp(buf, "queued", 6) == 0,
	       "recv after SHUT_RD with 6 bytes queued: %zd (%s)", n,
	       n < 0 ? errname(errno) : n == 0 ? "end of file" : "");
	EXPECT(recv(p.a, buf, sizeof(buf), MSG_DONTWAIT) == 0, "then no end of file");
	return PASSED;
}

static int check_shutdown_rdwr(void)
{
	struct pair p;
	int fresh;

	TRY(pair_open(&p));
	SYS(shutdown(p.a, SHUT_RDWR));
	TRY(far_expect_recv(p.b, 0));
	EXPECT(recv(p.a, &(char){ 0 }, 1, 0) == 0, "recv after SHUT_RDWR: %s", errname(errno));
	EXPECT_ERRNO(send(p.a, "x", 1, MSG_NOSIGNAL), EPIPE);
	int revents = poll_one(p.a, POLLIN | POLLOUT | POLLRDHUP, 0);
	int want = POLLIN | POLLOUT | POLLRDHUP | POLLHUP;
	EXPECT(revents == want, "poll after SHUT_RDWR: revents %#x, expected %#x "
	       "(POLLIN|POLLOUT|POLLRDHUP|POLLHUP)", revents, want);
	SYS(fresh = tcp_socket(0));
	EXPECT_ERRNO(shutdown(fresh, SHUT_WR), ENOTCONN);
	EXPECT_ERRNO(shutdown(p.a, 7), EINVAL);
	return PASSED;
}

static int check_close(void)
{
	struct pair p;

	TRY(pair_open(&p));
	SYS(fdclose(p.a));
	TRY(far_expect_recv(p.b, 0));
	EXPECT_ERRNO(fcntl(p.a, F_GETFD), EBADF);
	EXPECT_ERRNO(read(p.a, &(char){ 0 }, 1), EBADF);
	EXPECT_ERRNO(close(p.a), EBADF);
	return PASSED;
}

static int check_epipe_sigpipe(void)
{
	struct pair p;
	int resets = 0, before;

	TRY(pair_open(&p));
	TRY(far_ok(OP_CLOSE, p.b, 0, 0, NULL, 0, NULL));
	EXPECT(read(p.a, &(char){ 0 }, 1) == 0, "no end of file after the far end closed");
	/* The first sends go out and draw the reset; then EPIPE. */
	double deadline = now_ms() + TIMEOUT_MS;
	for (;;) {
		before = sigpipes;
		ssize_t n = send(p.a, "x", 1, 0);
		if (n < 0 && errno == ECONNRESET) {
			EXPECT(sigpipes == before, "SIGPIPE with ECONNRESET");
			resets++;
			continue;
		}
		if (n < 0) {
			EXPECT(errno == EPIPE, "send to a closed peer: %s", errname(errno));
			break;
		}
		EXPECT(now_ms() < deadline, "send to a closed peer kept succeeding");
		sleep_ms(20);
	}
	EXPECT(resets <= 1, "ECONNRESET %d times", resets);
	EXPECT(sigpipes == before + 1, "EPIPE from send raised %d SIGPIPEs, expected 1",
	       sigpipes - before);
	before = sigpipes;
	EXPECT_ERRNO(send(p.a, "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT(sigpipes == before, "SIGPIPE despite MSG_NOSIGNAL");
	EXPECT_ERRNO(write(p.a, "x", 1), EPIPE);
	EXPECT(sigpipes == before + 1, "EPIPE from write raised %d SIGPIPEs, expected 1",
	       sigpipes - before);
	snprintf(note, sizeof(note), "%s", resets ? "ECONNRESET first" : "EPIPE at once");
	return PASSED;
}

static int check_econnreset_unread(void)
{
	struct pair p;
	struct sockaddr_in peer;

	TRY(pair_open(&p));
	EXPECT(write(p.a, "never-read", 10) == 10, "write: %s", errname(errno));
	TRY(far_ok(OP_CLOSE_UNREAD, p.b, 0, 0, NULL, 0, NULL));
	EXPECT_ERRNO(read(p.a, &(char){ 0 }, 1), ECONNRESET);
	EXPECT(read(p.a, &(char){ 0 }, 1) == 0, "read after ECONNRESET: %s, expected end of file",
	       errname(errno));
	EXPECT_ERRNO(sock_name(p.a, &peer, true), ENOTCONN);
	return PASSED;
}

static int check_econnreset_peer_linger0(void)
{
	struct pair p;

	TRY(pair_open(&p));
	TRY(far_ok(OP_ABORT, p.b, 0, 0, NULL, 0, NULL));
	int revents = poll_one(p.a, POLLIN, TIMEOUT_MS);
	EXPECT(revents > 0 && (revents & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP),
	       "poll after the peer's reset: revents %#x, expected POLLERR|POLLHUP", revents);
	EXPECT_ERRNO(recv(p.a, &(char){ 0 }, 1, 0), ECONNRESET);
	return PASSED;
}

static int check_linger0_sends_rst(void)
{
	struct pair p;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	TRY(pair_open(&p));
	SYS(setsockopt(p.a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	SYS(fdclose(p.a));
	return far_expect_recv(p.b, ECONNRESET);
}

/* ================================================================== */
/* Checks: options                                                     */

static int set_int_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Set then get an int option. */
static int opt_roundtrip(int fd, int level, int name, const char *what, int value, int want)
{
	SYS(set_int_opt(fd, level, name, value));
	int got = get_int_opt(fd, level, name);
	EXPECT(got == want, "%s: set %d, got %d, expected %d", what, value, got, want);
	return PASSED;
}

static int check_so_error(void)
{
	struct pair p;

	TRY(pair_open(&p));
	EXPECT(get_int_opt(p.a, SOL_SOCKET, SO_ERROR) == 0, "SO_ERROR on a connection: %d",
	       get_int_opt(p.a, SOL_SOCKET, SO_ERROR));
	return PASSED;
}

static int check_so_reuseaddr(void)
{
	int fd;

	SYS(fd = tcp_socket(0));
	TRY(opt_roundtrip(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1, 1));
	TRY(opt_roundtrip(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0, 0));
	return PASSED;
}

/* A server that closed first leaves TIME_WAIT on its port: with
 * SO_REUSEADDR it listens there again at once. */
static int closed_first(int port)
{
	int l, b;

	SYS(l = listener(any_ip, port, 8));
	TRY(far_connect(cfg.my_ip, port, &b));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept: %s", errname(errno));
	SYS(fdclose(s));
	TRY(far_expect_recv(b, 0));
	TRY(far_ok(OP_CLOSE, b, 0, 0, NULL, 0, NULL));
	SYS(fdclose(l));
	sleep_ms(100);
	return PASSED;
}

static int check_so_reuseaddr_rebind(void)
{
	int port = next_port(), l, b;

	TRY(closed_first(port));
	SYS(l = listener(any_ip, port, 8));
	TRY(far_connect(cfg.my_ip, port, &b));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept on the re-bound port: %s", errname(errno));
	return exchange(&(struct pair){ .a = s, .b = b });
}

/* Linux: without SO_REUSEADDR, TIME_WAIT keeps the port busy. */
static int check_bind_timewait_eaddrinuse(void)
{
	int port = next_port(), fd;
	struct sockaddr_in a = inet(any_ip, port);

	TRY(closed_first(port));
	SYS(fd = tcp_socket(0));
	errno = 0;
	int bound = bind(fd, (struct sockaddr *)&a, sizeof(a));
	int err = errno;
	EXPECT_OR_KNOWN(bound == -1 && err == EADDRINUSE, true,
			"TIME_WAIT lives in the tas service; the shim's bind does not see it",
			"bind of the port a TIME_WAIT connection holds: %d (%s), expected "
			"EADDRINUSE", bound, bound == 0 ? "no error" : errname(err));
	return PASSED;
}

static int check_so_reuseport(void)
{
	int port = next_port(), fds[2], accepted = 0;
	struct sockaddr_in a = inet(any_ip, port);

	SYS(fds[0] = tcp_socket(0));
	TRY(opt_roundtrip(fds[0], SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 1, 1));
	SYS(fds[1] = tcp_socket(0));
	SYS(set_int_opt(fds[1], SOL_SOCKET, SO_REUSEPORT, 1));
	for (int i = 0; i < 2; i++) {
		EXPECT(bind(fds[i], (struct sockaddr *)&a, sizeof(a)) == 0,
		       "bind of SO_REUSEPORT listener %d on %s: %s", i + 1, addr_text(&a),
		       errname(errno));
		EXPECT(listen(fds[i], 8) == 0, "listen of SO_REUSEPORT listener %d: %s", i + 1,
		       errname(errno));
	}
	for (int i = 0; i < 4; i++) {
		int b;
		TRY(far_connect(cfg.my_ip, port, &b));
	}
	double deadline = now_ms() + TIMEOUT_MS;
	while (accepted < 4 && now_ms() < deadline) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 } };
		if (poll(p, 2, 200) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN)
				accepted += fdreg(accept(fds[i], NULL, NULL)) >= 0;
	}
	EXPECT(accepted == 4, "the two SO_REUSEPORT listeners accepted %d of 4", accepted);
	return PASSED;
}

static int check_so_keepalive(void)
{
	struct pair p;

	TRY(pair_open(&p));
	TRY(opt_roundtrip(p.a, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 1, 1));
	TRY(opt_roundtrip(p.a, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 30, 30));
	TRY(opt_roundtrip(p.a, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE", 0, 0));
	return exchange(&p);
}

static int check_so_linger(void)
{
	int fd;
	struct linger set = { .l_onoff = 1, .l_linger = 5 }, got;
	socklen_t len = sizeof(got);

	SYS(fd = tcp_socket(0));
	SYS(setsockopt(fd, SOL_SOCKET, SO_LINGER, &set, sizeof(set)));
	SYS(getsockopt(fd, SOL_SOCKET, SO_LINGER, &got, &len));
	EXPECT(len == sizeof(got) && got.l_onoff == 1 && got.l_linger == 5,
	       "SO_LINGER {1, 5} reads back as {%d, %d}", got.l_onoff, got.l_linger);
	set.l_onoff = 0;
	SYS(setsockopt(fd, SOL_SOCKET, SO_LINGER, &set, sizeof(set)));
	SYS(getsockopt(fd, SOL_SOCKET, SO_LINGER, &got, &len));
	EXPECT(got.l_onoff == 0, "SO_LINGER off reads back on");
	return PASSED;
}

static int check_so_bufs(void)
{
	struct pair p;

	TRY(pair_open(&p));
	/* Linux doubles the value (room for its bookkeeping). */
	TRY(opt_roundtrip(p.a, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 32768, 65536));
	TRY(opt_roundtrip(p.a, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 32768, 65536));
	return exchange(&p);
}

static int check_tcp_nodelay(void)
{
	struct pair p;

	TRY(pair_open(&p));
	EXPECT(get_int_opt(p.a, IPPROTO_TCP, TCP_NODELAY) == 0, "TCP_NODELAY on by default");
	TRY(opt_roundtrip(p.a, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1, 1));
	TRY(exchange(&p));
	return opt_roundtrip(p.a, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 0, 0);
}

static int check_tcp_info(void)
{
	struct pair p;
	int fresh, l, state;

	SYS(fresh = tcp_socket(0));
	EXPECT((state = tcp_state(fresh)) == TCP_CLOSE, "fresh socket: tcpi_state %d, expected "
	       "CLOSE (%d)", state, TCP_CLOSE);
	SYS(l = listener(any_ip, next_port(), 8));
	EXPECT((state = tcp_state(l)) == TCP_LISTEN, "listener: tcpi_state %d, expected LISTEN "
	       "(%d)", state, TCP_LISTEN);
	TRY(pair_open(&p));
	EXPECT((state = tcp_state(p.a)) == TCP_ESTABLISHED, "connection: tcpi_state %d, "
	       "expected ESTABLISHED (%d)", state, TCP_ESTABLISHED);
	TRY(far_ok(OP_SHUTDOWN, p.b, SHUT_WR, 0, NULL, 0, NULL));
	EXPECT(read(p.a, &(char){ 0 }, 1) == 0, "no end of file after the far end's SHUT_WR");
	EXPECT((state = tcp_state(p.a)) == TCP_CLOSE_WAIT, "after the peer's FIN: tcpi_state "
	       "%d, expected CLOSE_WAIT (%d)", state, TCP_CLOSE_WAIT);
	return PASSED;
}

static int check_tcp_defer_accept(void)
{
	int l;

	SYS(l = listener(any_ip, next_port(), 8));
	SYS(set_int_opt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5));
	int got = get_int_opt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT);
	EXPECT(got >= 5, "TCP_DEFER_ACCEPT 5 reads back as %d", got);
	snprintf(note, sizeof(note), "5 s reads back as %d", got);
	return PASSED;
}

/* Linux: with TCP_DEFER_ACCEPT a connection is acceptable (the listener
 * readable) only once data came. */
static int check_tcp_defer_accept_waits(void)
{
	int port = next_port(), l, b;

	SYS(l = listener(any_ip, port, 8));
	SYS(set_int_opt(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5));
	SYS(set_nonblocking(l, true));
	TRY(far_connect(cfg.my_ip, port, &b));
	int revents = poll_one(l, POLLIN, 300);
	EXPECT(revents == 0, "TCP_DEFER_ACCEPT listener readable (revents %#x) before any data "
	       "came", revents);
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
	TRY(far_send(b, "data", 4));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "accept once data came: %s", errname(errno));
	SYS(set_nonblocking(s, false));
	return expect_read(s, "data", 4);
}

static int check_unknown_option(void)
{
	struct pair p;
	int value = 1;
	socklen_t len = sizeof(value);

	TRY(pair_open(&p));
	EXPECT_ERRNO(getsockopt(p.a, SOL_SOCKET, 12345, &value, &len), ENOPROTOOPT);
	EXPECT_ERRNO(setsockopt(p.a, SOL_SOCKET, 12345, &value, sizeof(value)), ENOPROTOOPT);
	EXPECT_ERRNO(getsockopt(p.a, IPPROTO_TCP, 12345, &value, &len), ENOPROTOOPT);
	EXPECT_ERRNO(setsockopt(p.a, IPPROTO_TCP, 12345, &value, sizeof(value)), ENOPROTOOPT);
	/* An unknown level: Linux's IP layer answers EOPNOTSUPP to a get
	 * (do_ip_getsockopt) and ENOPROTOOPT to a set. */
	EXPECT_ERRNO(getsockopt(p.a, 12345, 1, &value, &len), EOPNOTSUPP);
	EXPECT_ERRNO(setsockopt(p.a, 12345, 1, &value, sizeof(value)), ENOPROTOOPT);
	return exchange(&p);
}

/* ================================================================== */
/* Checks: descriptors                                                 */

static int check_dup(void)
{
	struct pair p;
	int d;

	TRY(pair_open(&p));
	SYS(d = fdreg(dup(p.a)));
	EXPECT(write(d, "via-dup", 7) == 7, "write through the dup: %s", errname(errno));
	TRY(far_expect(p.b, "via-dup", 7));
	SYS(fdclose(p.a));
	TRY(far_send(p.b, "to-dup", 6));
	TRY(expect_read(d, "to-dup", 6));
	EXPECT(write(d, "still", 5) == 5, "write after closing the original: %s", errname(errno));
	TRY(far_expect(p.b, "still", 5));
	SYS(fdclose(d));
	return far_expect_recv(p.b, 0);
}

static int check_dup2(void)
{
	struct pair p;
	int pipe_fds[2];

	TRY(pair_open(&p));
	SYS(pipe(pipe_fds));
	fdreg(pipe_fds[0]);
	fdreg(pipe_fds[1]);
	int target = pipe_fds[1];
	EXPECT(dup2(p.a, target) == target, "dup2 onto a pipe's end: %s", errname(errno));
	EXPECT(read(pipe_fds[0], &(char){ 0 }, 1) == 0, "the pipe's write end was not closed");
	EXPECT(dup2(p.a, p.a) == p.a, "dup2(fd, fd): %s", errname(errno));
	EXPECT(write(target, "dup2", 4) == 4, "write through the dup2: %s", errname(errno));
	TRY(far_expect(p.b, "dup2", 4));
	SYS(fdclose(p.a));
	TRY(far_send(p.b, "back", 4));
	TRY(expect_read(target, "back", 4));
	SYS(fdclose(target));
	return far_expect_recv(p.b, 0);
}

static int check_dup3(void)
{
	struct pair p;
	int target;

	TRY(pair_open(&p));
	SYS(target = fdreg(open("/dev/null", O_RDONLY)));
	EXPECT(dup3(p.a, target, O_CLOEXEC) == target, "dup3: %s", errname(errno));
	EXPECT(fcntl(target, F_GETFD) & FD_CLOEXEC, "dup3(O_CLOEXEC): no FD_CLOEXEC");
	EXPECT(!(fcntl(p.a, F_GETFD) & FD_CLOEXEC), "dup3 set FD_CLOEXEC on the original");
	EXPECT_ERRNO(dup3(p.a, p.a, 0), EINVAL);
	SYS(fdclose(p.a));
	EXPECT(write(target, "dup3", 4) == 4, "write through the dup3: %s", errname(errno));
	TRY(far_expect(p.b, "dup3", 4));
	TRY(far_send(p.b, "back", 4));
	return expect_read(target, "back", 4);
}

static int check_f_dupfd(void)
{
	struct pair p;
	int d, dc;

	TRY(pair_open(&p));
	SYS(d = fdreg(fcntl(p.a, F_DUPFD, 100)));
	SYS(dc = fdreg(fcntl(p.a, F_DUPFD_CLOEXEC, 200)));
	EXPECT(d >= 100 && dc >= 200, "F_DUPFD gave %d (>= 100), F_DUPFD_CLOEXEC %d (>= 200)",
	       d, dc);
	EXPECT(!(fcntl(d, F_GETFD) & FD_CLOEXEC), "F_DUPFD: FD_CLOEXEC set");
	EXPECT(fcntl(dc, F_GETFD) & FD_CLOEXEC, "F_DUPFD_CLOEXEC: no FD_CLOEXEC");
	SYS(fdclose(p.a));
	EXPECT(write(d, "fd", 2) == 2 && write(dc, "cx", 2) == 2, "write through F_DUPFD copies: "
	       "%s", errname(errno));
	TRY(far_expect(p.b, "fdcx", 4));
	SYS(fdclose(d));
	TRY(far_send(p.b, "back", 4));
	TRY(expect_read(dc, "back", 4));
	SYS(fdclose(dc));
	return far_expect_recv(p.b, 0);
}

static int check_dup2_over_socket(void)
{
	struct pair p;
	int pipe_fds[2];
	char byte = 0;

	TRY(pair_open(&p));
	SYS(pipe(pipe_fds));
	fdreg(pipe_fds[0]);
	fdreg(pipe_fds[1]);
	EXPECT(dup2(pipe_fds[1], p.a) == p.a, "dup2 of a pipe onto the socket: %s", errname(errno));
	TRY(far_expect_recv(p.b, 0));
	EXPECT(write(p.a, "p", 1) == 1, "write to the pipe now at that number: %s", errname(errno));
	EXPECT(read(pipe_fds[0], &byte, 1) == 1 && byte == 'p', "the pipe did not carry it");
	return PASSED;
}

static int check_fd_numbers(void)
{
	struct pair p;
	int probe, fd;
	fd_set readable;
	struct timeval zero = { 0, 0 }, wait = { 5, 0 };

	SYS(probe = open("/dev/null", O_RDONLY));
	close(probe);
	SYS(fd = tcp_socket(0));
	EXPECT(fd == probe, "socket() gave %d, the lowest free descriptor was %d", fd, probe);
	EXPECT(fd < FD_SETSIZE, "socket() gave %d >= FD_SETSIZE", fd);
	TRY(pair_open(&p));
	EXPECT(p.a < 64, "connection descriptor %d", p.a);
	FD_ZERO(&readable);
	FD_SET(p.a, &readable);
	int n = select(p.a + 1, &readable, NULL, NULL, &zero);
	EXPECT(n == 0, "select of an idle connection: %d (%s)", n, errname(errno));
	TRY(far_send(p.b, "sel", 3));
	FD_ZERO(&readable);
	FD_SET(p.a, &readable);
	n = select(p.a + 1, &readable, NULL, NULL, &wait);
	EXPECT(n == 1 && FD_ISSET(p.a, &readable), "select with data: %d (%s)", n, errname(errno));
	return expect_read(p.a, "sel", 3);
}

/* Whether /proc/net/FILE lists a socket bound to port. */
static bool proc_net_has(const char *file, int port)
{
	char path[64], line[512];
	bool found = false;

	snprintf(path, sizeof(path), "/proc/self/net/%s", file);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char local[128];
		unsigned local_port;
		if (sscanf(line, " %*d: %127s", local) != 1)
			continue;
		char *colon = strrchr(local, ':');
		if (colon != NULL && sscanf(colon + 1, "%x", &local_port) == 1 &&
		    (int)local_port == port)
			found = true;
	}
	fclose(f);
	return found;
}

static int check_others_untouched(void)
{
	struct pair p;
	int udp, pipe_fds[2], efd, unix_fds[2], six_l, six_c, six_s;
	struct sockaddr_in udp_addr = inet(loopback_ip, 0);
	socklen_t len = sizeof(udp_addr);
	char buf[16];
	uint64_t count = 0;

	TRY(pair_open(&p));
	/* UDP on the kernel's loopback. */
	SYS(udp = fdreg(socket(AF_INET, SOCK_DGRAM, 0)));
	SYS(bind(udp, (struct sockaddr *)&udp_addr, sizeof(udp_addr)));
	SYS(getsockname(udp, (struct sockaddr *)&udp_addr, &len));
	EXPECT(udp_addr.sin_port != 0, "UDP socket bound to port 0 has no port");
	EXPECT(proc_net_has("udp", ntohs(udp_addr.sin_port)), "UDP port %u not in /proc/net/udp",
	       ntohs(udp_addr.sin_port));
	EXPECT(sendto(udp, "udp", 3, 0, (struct sockaddr *)&udp_addr, sizeof(udp_addr)) == 3,
	       "UDP sendto: %s", errname(errno));
	EXPECT(poll_one(udp, POLLIN, TIMEOUT_MS) == POLLIN, "UDP datagram did not arrive");
	EXPECT(recv(udp, buf, sizeof(buf), 0) == 3 && memcmp(buf, "udp", 3) == 0, "UDP recv: %s",
	       errname(errno));
	/* A pipe, an eventfd, a Unix socket pair. */
	SYS(pipe(pipe_fds));
	fdreg(pipe_fds[0]);
	fdreg(pipe_fds[1]);
	EXPECT(write(pipe_fds[1], "pipe", 4) == 4 && read(pipe_fds[0], buf, 4) == 4 &&
	       memcmp(buf, "pipe", 4) == 0, "pipe: %s", errname(errno));
	SYS(efd = fdreg(eventfd(0, 0)));
	count = 3;
	EXPECT(write(efd, &count, sizeof(count)) == sizeof(count), "eventfd write: %s",
	       errname(errno));
	count = 0;
	EXPECT(read(efd, &count, sizeof(count)) == sizeof(count) && count == 3,
	       "eventfd read: %llu (%s)", (unsigned long long)count, errname(errno));
	SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, unix_fds));
	fdreg(unix_fds[0]);
	fdreg(unix_fds[1]);
	EXPECT(send(unix_fds[0], "unix", 4, 0) == 4 && recv(unix_fds[1], buf, 4, MSG_WAITALL) == 4 &&
	       memcmp(buf, "unix", 4) == 0, "Unix socket pair: %s", errname(errno));
	/* IPv6 TCP on ::1 stays with the kernel. */
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t six_len = sizeof(six);
	six_l = fdreg(socket(AF_INET6, SOCK_STREAM, 0));
	if (six_l < 0 || bind(six_l, (struct sockaddr *)&six, sizeof(six)) < 0) {
		snprintf(note, sizeof(note), "no IPv6 loopback here (%s): not checked",
			 errname(errno));
	} else {
		SYS(listen(six_l, 4));
		SYS(getsockname(six_l, (struct sockaddr *)&six, &six_len));
		EXPECT(proc_net_has("tcp6", ntohs(six.sin6_port)), "IPv6 listener port %u not in "
		       "/proc/net/tcp6", ntohs(six.sin6_port));
		SYS(six_c = fdreg(socket(AF_INET6, SOCK_STREAM, 0)));
		SYS(connect(six_c, (struct sockaddr *)&six, sizeof(six)));
		SYS(six_s = accept_within(six_l, TIMEOUT_MS, 0));
		EXPECT(write(six_c, "v6", 2) == 2 && read_all(six_s, buf, 2, 0) == 2 &&
		       memcmp(buf, "v6", 2) == 0, "IPv6 connection: %s", errname(errno));
	}
	return exchange(&p);
}

/* ================================================================== */
/* Checks: polling                                                     */

/* poll or ppoll over a tas socket and a pipe. */
static int poll_mix(bool use_ppoll)
{
	struct pair p;
	int pipe_fds[2];
	char buf[8];

	TRY(pair_open(&p));
	SYS(pipe(pipe_fds));
	fdreg(pipe_fds[0]);
	fdreg(pipe_fds[1]);
	struct pollfd fds[2] = { { p.a, POLLIN, 0 }, { pipe_fds[0], POLLIN, 0 } };
#define POLL_MIX(ms) (use_ppoll                                                    \
	? ppoll(fds, 2, &(struct timespec){ (ms) / 1000, (ms) % 1000 * 1000000L }, NULL) \
	: poll(fds, 2, (ms)))
	double start = now_ms();
	int n = POLL_MIX(150);
	double took = now_ms() - start;
	EXPECT(n == 0, "nothing ready: %d (%s)", n, errname(errno));
	EXPECT(took >= 120 && took < 2000, "timeout 150 ms took %.0f ms", took);
	SYS(write(pipe_fds[1], "p", 1));
	n = POLL_MIX(TIMEOUT_MS);
	EXPECT(n == 1 && fds[0].revents == 0 && fds[1].revents == POLLIN,
	       "pipe readable: %d, revents %#x %#x", n, fds[0].revents, fds[1].revents);
	TRY(far_send(p.b, "s", 1));
	start = now_ms();
	do
		n = POLL_MIX(TIMEOUT_MS);
	while (n == 1 && now_ms() - start < TIMEOUT_MS);
	EXPECT(n == 2 && fds[0].revents == POLLIN && fds[1].revents == POLLIN,
	       "both readable: %d, revents %#x %#x", n, fds[0].revents, fds[1].revents);
	fds[0].events = POLLOUT;
	fds[1].events = 0;
	n = POLL_MIX(0);
	EXPECT(n == 1 && fds[0].revents == POLLOUT, "POLLOUT: %d, revents %#x", n, fds[0].revents);
#undef POLL_MIX
	EXPECT(read(p.a, buf, 1) == 1, "read: %s", errname(errno));
	return PASSED;
}

static int check_poll(void)
{
	return poll_mix(false);
}

static int check_ppoll(void)
{
	return poll_mix(true);
}

/* select or pselect over a tas socket and a pipe. */
static int select_mix(bool use_pselect)
{
	struct pair p;
	int pipe_fds[2];
	fd_set rd, wr;

	TRY(pair_open(&p));
	SYS(pipe(pipe_fds));
	fdreg(pipe_fds[0]);
	fdreg(pipe_fds[1]);
	int nfds = (p.a > pipe_fds[0] ? p.a : pipe_fds[0]) + 1;
#define SELECT_MIX(ms, w) (use_pselect                                              \
	? pselect(nfds, &rd, (w), NULL,                                             \
		  &(struct timespec){ (ms) / 1000, (ms) % 1000 * 1000000L }, NULL)  \
	: select(nfds, &rd, (w), NULL, &(struct timeval){ (ms) / 1000, (ms) % 1000 * 1000 }))
#define SET_BOTH() do { FD_ZERO(&rd); FD_SET(p.a, &rd); FD_SET(pipe_fds[0], &rd); } while (0)
	SET_BOTH();
	double start = now_ms();
	int n = SELECT_MIX(150, NULL);
	double took = now_ms() - start;
	EXPECT(n == 0, "nothing ready: %d (%s)", n, errname(errno));
	EXPECT(took >= 120 && took < 2000, "timeout 150 ms took %.0f ms", took);
	SYS(write(pipe_fds[1], "p", 1));
	SET_BOTH();
	n = SELECT_MIX(TIMEOUT_MS, NULL);
	EXPECT(n == 1 && FD_ISSET(pipe_fds[0], &rd) && !FD_ISSET(p.a, &rd),
	       "pipe readable: %d (socket %d, pipe %d)", n, FD_ISSET(p.a, &rd),
	       FD_ISSET(pipe_fds[0], &rd));
	TRY(far_send(p.b, "s", 1));
	start = now_ms();
	do {
		SET_BOTH();
		n = SELECT_MIX(TIMEOUT_MS, NULL);
	} while (n == 1 && now_ms() - start < TIMEOUT_MS);
	EXPECT(n == 2 && FD_ISSET(pipe_fds[0], &rd) && FD_ISSET(p.a, &rd),
	       "both readable: %d (socket %d, pipe %d)", n, FD_ISSET(p.a, &rd),
	       FD_ISSET(pipe_fds[0], &rd));
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p.a, &wr);
	n = SELECT_MIX(0, &wr);
	EXPECT(n == 1 && FD_ISSET(p.a, &wr), "writable: %d", n);
#undef SELECT_MIX
#undef SET_BOTH
	return PASSED;
}

static int check_select(void)
{
	return select_mix(false);
}

static int check_pselect(void)
{
	return select_mix(true);
}

static int epoll_add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* epoll_wait for one event within ms: 1 (in *ev), 0, or -1. */
static int epoll_one(int ep, struct epoll_event *ev, int ms)
{
	struct epoll_event evs[4];
	int n = epoll_wait(ep, evs, 4, ms);

	if (n > 0)
		*ev = evs[0];
	return n;
}

/* An epoll set holding a's end of a fresh pair with these events. */
static int epoll_pair(struct pair *p, int *ep, uint32_t events)
{
	TRY(pair_open(p));
	SYS(*ep = fdreg(epoll_create1(EPOLL_CLOEXEC)));
	SYS(epoll_add(*ep, p->a, events, 7));
	return PASSED;
}

static int check_epoll_lt(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 };
	char buf[4];

	TRY(epoll_pair(&p, &ep, EPOLLIN));
	EXPECT(epoll_one(ep, &ev, 100) == 0, "an idle connection reported");
	TRY(far_send(p.b, "lt", 2));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && ev.events == EPOLLIN && ev.data.u64 == 7,
	       "data: no EPOLLIN report (events %#x)", ev.events);
	EXPECT(epoll_one(ep, &ev, 100) == 1 && ev.events == EPOLLIN,
	       "level-triggered: unread data not reported again");
	TRY(wait_fionread(p.a, 2, TIMEOUT_MS));
	EXPECT(read(p.a, buf, sizeof(buf)) == 2, "read: %s", errname(errno));
	EXPECT(epoll_one(ep, &ev, 100) == 0, "reported after everything was read (events %#x)",
	       ev.events);
	return PASSED;
}

static int check_epoll_et(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 };

	TRY(epoll_pair(&p, &ep, EPOLLIN | EPOLLET));
	TRY(far_send(p.b, "1", 1));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && (ev.events & EPOLLIN),
	       "edge-triggered: first arrival not reported");
	EXPECT(epoll_one(ep, &ev, 150) == 0,
	       "edge-triggered: reported again without new data (events %#x)", ev.events);
	TRY(far_send(p.b, "2", 1));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && (ev.events & EPOLLIN),
	       "edge-triggered: new data (the first still unread) not reported");
	EXPECT(epoll_one(ep, &ev, 150) == 0, "edge-triggered: reported twice for one arrival");
	TRY(wait_fionread(p.a, 2, TIMEOUT_MS));
	return expect_read(p.a, "12", 2);
}

static int check_epoll_oneshot(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 }, mod = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 8 };

	TRY(epoll_pair(&p, &ep, EPOLLIN | EPOLLONESHOT));
	TRY(far_send(p.b, "1", 1));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && (ev.events & EPOLLIN),
	       "EPOLLONESHOT: not reported");
	TRY(far_send(p.b, "2", 1));
	EXPECT(epoll_one(ep, &ev, 150) == 0, "EPOLLONESHOT: reported again before EPOLL_CTL_MOD");
	SYS(epoll_ctl(ep, EPOLL_CTL_MOD, p.a, &mod));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && ev.data.u64 == 8,
	       "EPOLLONESHOT: not reported after EPOLL_CTL_MOD re-armed it");
	EXPECT(epoll_one(ep, &ev, 100) == 0, "EPOLLONESHOT: reported twice after one re-arm");
	return PASSED;
}

static int check_epoll_rdhup(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 };

	TRY(epoll_pair(&p, &ep, EPOLLIN | EPOLLRDHUP));
	EXPECT(epoll_one(ep, &ev, 100) == 0, "an idle connection reported");
	TRY(far_ok(OP_SHUTDOWN, p.b, SHUT_WR, 0, NULL, 0, NULL));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 &&
	       ev.events == (EPOLLIN | EPOLLRDHUP), "peer's SHUT_WR: events %#x, expected "
	       "EPOLLIN|EPOLLRDHUP", ev.events);
	return PASSED;
}

static int check_epoll_exclusive(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 }, mod = { .events = EPOLLIN };

	TRY(epoll_pair(&p, &ep, EPOLLIN | EPOLLEXCLUSIVE));
	TRY(far_send(p.b, "x", 1));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && (ev.events & EPOLLIN),
	       "EPOLLEXCLUSIVE member: data not reported");
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p.a, &mod), EINVAL);
	SYS(epoll_ctl(ep, EPOLL_CTL_DEL, p.a, NULL));
	return PASSED;
}

static int check_epoll_mix(void)
{
	struct pair p;
	int ep, pipe_fds[2];
	bool saw_socket = false, saw_pipe = false;

	TRY(epoll_pair(&p, &ep, EPOLLIN));
	SYS(pipe(pipe_fds));
	fdreg(pipe_fds[0]);
	fdreg(pipe_fds[1]);
	SYS(epoll_add(ep, pipe_fds[0], EPOLLIN, 9));
	SYS(write(pipe_fds[1], "p", 1));
	TRY(far_send(p.b, "s", 1));
	double deadline = now_ms() + TIMEOUT_MS;
	while (!(saw_socket && saw_pipe) && now_ms() < deadline) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, 200);
		for (int i = 0; i < n; i++) {
			EXPECT(evs[i].events == EPOLLIN, "events %#x for data %llu", evs[i].events,
			       (unsigned long long)evs[i].data.u64);
			saw_socket |= evs[i].data.u64 == 7;
			saw_pipe |= evs[i].data.u64 == 9;
		}
	}
	EXPECT(saw_socket && saw_pipe, "reported: socket %d, pipe %d", saw_socket, saw_pipe);
	return PASSED;
}

static int check_epoll_del(void)
{
	struct pair p;
	int ep, other;
	struct epoll_event ev = { .events = EPOLLIN };

	TRY(epoll_pair(&p, &ep, EPOLLIN));
	EXPECT_ERRNO(epoll_add(ep, p.a, EPOLLIN, 7), EEXIST);
	SYS(epoll_ctl(ep, EPOLL_CTL_DEL, p.a, NULL));
	TRY(far_send(p.b, "x", 1));
	TRY(wait_fionread(p.a, 1, TIMEOUT_MS));
	EXPECT(epoll_one(ep, &ev, 150) == 0, "reported after EPOLL_CTL_DEL");
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p.a, NULL), ENOENT);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p.a, &ev), ENOENT);
	SYS(epoll_add(ep, p.a, EPOLLIN, 7));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1, "not reported after adding it back");
	/* Closing the only descriptor removes it from the set. */
	SYS(other = tcp_socket(0));
	SYS(epoll_add(ep, other, EPOLLOUT, 5));
	EXPECT(epoll_one(ep, &ev, 0) >= 1, "a fresh socket with EPOLLOUT is not reported");
	SYS(epoll_ctl(ep, EPOLL_CTL_DEL, p.a, NULL));
	SYS(fdclose(other));
	EXPECT(epoll_one(ep, &ev, 100) == 0, "a closed socket is still reported (data %llu)",
	       (unsigned long long)ev.data.u64);
	return PASSED;
}

static int check_epoll_timeout(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 };

	TRY(epoll_pair(&p, &ep, EPOLLIN));
	double start = now_ms();
	EXPECT(epoll_one(ep, &ev, 0) == 0, "timeout 0: reported");
	EXPECT(now_ms() - start < 100, "timeout 0 waited");
	start = now_ms();
	int n = epoll_one(ep, &ev, 200);
	double took = now_ms() - start;
	EXPECT(n == 0, "timeout 200 ms: %d (%s)", n, errname(errno));
	EXPECT(took >= 180 && took < 2000, "timeout 200 ms took %.0f ms", took);
	return PASSED;
}

static int check_epoll_out(void)
{
	struct pair p;
	int ep;
	struct epoll_event ev = { 0 };

	TRY(epoll_pair(&p, &ep, EPOLLOUT));
	EXPECT(epoll_one(ep, &ev, TIMEOUT_MS) == 1 && ev.events == EPOLLOUT,
	       "connection not reported writable (events %#x)", ev.events);
	return PASSED;
}

/* ================================================================== */
/* Checks: threads                                                     */

struct recv_job {
	int fd;
	char buf[8];
	ssize_t got;
	int err;
	volatile bool done;
};

static void *recv_thread(void *arg)
{
	struct recv_job *job = arg;

	job->got = read_all(job->fd, job->buf, 4, 0);
	job->err = errno;
	job->done = true;
	return NULL;
}

static int check_thread_blocked_recv(void)
{
	struct pair p;
	static struct recv_job job; /* static: a stuck thread may outlive the check */
	pthread_t thread;

	TRY(pair_open(&p));
	job = (struct recv_job){ .fd = p.a };
	EXPECT(spawn_thread(&thread, recv_thread, &job) == 0, "pthread_create");
	sleep_ms(100);
	bool early = job.done;
	EXPECT(send(p.a, "ping", 4, 0) == 4, "send while another thread blocks in recv: %s",
	       errname(errno));
	int far_done = far_expect(p.b, "ping", 4);
	if (far_done == PASSED)
		far_done = far_send(p.b, "pong", 4);
	if (join_within(thread, TIMEOUT_MS) != 0)
		FAIL("the thread blocked in recv did not return after data came%s",
		     far_done == PASSED ? "" : " (nor did the far end get the ping)");
	TRY(far_done);
	EXPECT(!early, "recv returned before any data was sent (%zd, %s)", job.got,
	       errname(job.err));
	EXPECT(job.got == 4 && memcmp(job.buf, "pong", 4) == 0, "blocked recv got %zd bytes (%s)",
	       job.got, errname(job.err));
	return PASSED;
}

#define THREAD_ROUNDS 50
#define THREAD_MSG 100

struct conn_job {
	int fd;
	int seed;
	char failure[128];
};

static void *conn_thread(void *arg)
{
	struct conn_job *job = arg;
	uint8_t out[THREAD_MSG], in[THREAD_MSG];

	for (int round = 0; round < THREAD_ROUNDS; round++) {
		pattern_fill(out, sizeof(out), (uint64_t)job->seed, (uint64_t)round * THREAD_MSG);
		if (write_all(job->fd, out, sizeof(out)) != THREAD_MSG) {
			snprintf(job->failure, sizeof(job->failure), "round %d: write: %s", round,
				 errname(errno));
			return NULL;
		}
		if (read_all(job->fd, in, sizeof(in), 0) != THREAD_MSG ||
		    memcmp(in, out, sizeof(in)) != 0) {
			snprintf(job->failure, sizeof(job->failure), "round %d: echo wrong (%s)",
				 round, errname(errno));
			return NULL;
		}
	}
	return NULL;
}

static int check_threads_own_conns(void)
{
	struct pair p[2];
	static struct conn_job jobs[2]; /* static: stuck threads may outlive the check */
	pthread_t threads[2];
	int32_t ids[2];
	struct far_result res;

	for (int i = 0; i < 2; i++) {
		TRY(pair_open(&p[i]));
		ids[i] = p[i].b;
		jobs[i] = (struct conn_job){ .fd = p[i].a, .seed = 30 + i };
	}
	uint32_t seq = far_start(OP_ECHO, 0, THREAD_ROUNDS * THREAD_MSG, 0, ids, sizeof(ids));
	for (int i = 0; i < 2; i++)
		EXPECT(spawn_thread(&threads[i], conn_thread, &jobs[i]) == 0, "pthread_create");
	int stuck = 0;
	for (int i = 0; i < 2; i++)
		stuck += join_within(threads[i], 2 * TIMEOUT_MS) != 0;
	TRY(far_finish(seq, &res));
	EXPECT(stuck == 0, "%d of 2 threads did not finish", stuck);
	for (int i = 0; i < 2; i++)
		EXPECT(jobs[i].failure[0] == 0, "thread %d: %s", i + 1, jobs[i].failure);
	EXPECT(res.result == 2 * THREAD_ROUNDS * THREAD_MSG, "far side echoed %lld bytes (%s)",
	       (long long)res.result, res.result < 0 ? errname(res.err) : "");
	return PASSED;
}

/* ================================================================== */
/* Checks: fork and exec                                               */

static int wait_child(pid_t pid, int ms, int *status)
{
	double deadline = now_ms() + ms;

	for (;;) {
		pid_t done = waitpid(pid, status, WNOHANG);
		if (done == pid)
			return PASSED;
		if (done < 0 && errno != EINTR)
			FAIL("waitpid: %s", errname(errno));
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			FAIL("child %d did not exit within %d ms", (int)pid, ms);
		}
		sleep_ms(10);
	}
}

/* The child of check_fork_listener: accept one connection on l. */
static void child_accept_once(int l)
{
	char buf[2];
	int code;

	signal(SIGALRM, SIG_DFL);
	alarm(15);
	int s = accept(l, NULL, NULL);
	if (s < 0)
		code = 2;
	else if (read_all(s, buf, 2, 0) != 2 || memcmp(buf, "hi", 2) != 0)
		code = 3;
	else if (write(s, "child", 5) != 5)
		code = 4;
	else
		code = close(s) == 0 ? 0 : 5;
	_exit(code);
}

static int check_fork_listener(void)
{
	int port = next_port(), l, b, b2, status;

	SYS(l = listener(any_ip, port, 8));
	fflush(stdout);
	pid_t pid = fork();
	SYS(pid);
	if (pid == 0)
		child_accept_once(l);
	int connected = far_connect(cfg.my_ip, port, &b);
	if (connected == PASSED && (connected = far_send(b, "hi", 2)) == PASSED &&
	    (connected = far_expect(b, "child", 5)) == PASSED)
		connected = far_expect_recv(b, 0);
	TRY(wait_child(pid, TIMEOUT_MS * 2, &status));
	TRY(connected);
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed: status %#x "
	       "(2 accept, 3 read, 4 write, 5 close)", status);
	/* The parent took no part, and still listens. */
	SYS(set_nonblocking(l, true));
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
	SYS(set_nonblocking(l, false));
	TRY(far_connect(cfg.my_ip, port, &b2));
	int s = accept_within(l, TIMEOUT_MS, 0);
	EXPECT(s >= 0, "the parent's accept after the child: %s", errname(errno));
	return exchange(&(struct pair){ .a = s, .b = b2 });
}

/* --check-fds N:open,M:closed... (run by exec): exit 0 if all hold. */
static int check_fds_after_exec(const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	int bad = 0;

	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		int fd = atoi(item);
		bool want_open = strstr(item, ":open") != NULL;
		bool is_open = fcntl(fd, F_GETFD) >= 0;
		if (is_open != want_open) {
			printf("after exec: descriptor %d is %s\n", fd, is_open ? "open" : "closed");
			bad++;
		}
	}
	free(copy);
	return bad == 0 ? 0 : 1;
}

static int check_exec_cloexec(void)
{
	struct pair p;
	int cloexec, plain, status;
	char spec[128];

	SYS(cloexec = tcp_socket(SOCK_CLOEXEC));
	SYS(plain = tcp_socket(0));
	TRY(pair_open(&p));
	SYS(fcntl(p.a, F_SETFD, FD_CLOEXEC));
	EXPECT(fcntl(p.a, F_GETFD) == FD_CLOEXEC, "F_SETFD FD_CLOEXEC not reported");
	snprintf(spec, sizeof(spec), "%d:closed,%d:open,%d:closed", cloexec, plain, p.a);
	fflush(stdout);
	pid_t pid = fork();
	SYS(pid);
	if (pid == 0) {
		execl("/proc/self/exe", "shim-semantics", "--check-fds", spec, (char *)NULL);
		_exit(127);
	}
	TRY(wait_child(pid, TIMEOUT_MS, &status));
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "after exec (%s): status %#x (1: a descriptor was wrong)", spec, status);
	return exchange(&p);
}

/* ================================================================== */
/* Checks: syscall()                                                   */

static int check_raw_syscall(void)
{
	int lid, port = next_port(), s;
	char buf[8];
	struct far_result res;
	struct sockaddr_in to = inet(cfg.far_ip, port), peer;
	socklen_t len = sizeof(peer);

	TRY(far_listen(port, &lid));
	uint32_t seq = far_start(OP_ACCEPT, lid, TIMEOUT_MS, 0, NULL, 0);
	SYS(s = fdreg((int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0)));
	long connected = syscall(SYS_connect, s, &to, sizeof(to));
	int err = errno;
	TRY(far_finish(seq, &res));
	EXPECT(connected == 0, "syscall(SYS_connect) to %s: %s", addr_text(&to), errname(err));
	EXPECT(res.result >= 0, "far side: accept: %s", errname(res.err));
	int b = (int)res.result;
	SYS(syscall(SYS_getpeername, s, &peer, &len));
	EXPECT(same_addr(&peer, &to), "syscall(SYS_getpeername): %s", addr_text(&peer));
	EXPECT(syscall(SYS_write, s, "raw", 3) == 3, "syscall(SYS_write): %s", errname(errno));
	TRY(far_expect(b, "raw", 3));
	TRY(far_send(b, "back", 4));
	size_t got = 0;
	while (got < 4) {
		long n = syscall(SYS_read, s, buf + got, 4 - got);
		EXPECT(n > 0, "syscall(SYS_read): %ld (%s)", n, errname(errno));
		got += (size_t)n;
	}
	EXPECT(memcmp(buf, "back", 4) == 0, "syscall(SYS_read) gave different bytes");
	fdforget(s);
	SYS(syscall(SYS_close, s));
	return far_expect_recv(b, 0);
}

/* ================================================================== */
/* The table                                                           */

struct check {
	const char *name;
	int (*run)(void);
};

static const struct check checks[] = {
	{ "bind-port0", check_bind_port0 },
	{ "listen-port0", check_listen_port0 },
	{ "bind-any", check_bind_any },
	{ "bind-loopback", check_bind_loopback },
	{ "bind-loopback-private", check_bind_loopback_private },
	{ "bind-host-ip", check_bind_host_ip },
	{ "eaddrinuse", check_eaddrinuse },
	{ "eaddrinuse-far", check_eaddrinuse_far },
	{ "listen-twice", check_listen_twice },
	{ "names-unconnected", check_names_unconnected },
	{ "names-connected", check_names_connected },
	{ "connect-blocking", check_connect_blocking },
	{ "connect-nonblocking", check_connect_nonblocking },
	{ "connect-again-after-inprogress", check_connect_again_after_inprogress },
	{ "connect-ealready", check_connect_ealready },
	{ "connect-sndtimeo", check_connect_sndtimeo },
	{ "connect-refused-blocking", check_connect_refused_blocking },
	{ "connect-refused-nonblocking", check_connect_refused_nonblocking },
	{ "connect-refused-revents", check_connect_refused_revents },
	{ "accept4-flags", check_accept4_flags },
	{ "accept-eagain", check_accept_eagain },
	{ "accept-rcvtimeo", check_accept_rcvtimeo },
	{ "read-write", check_read_write },
	{ "send-recv", check_send_recv },
	{ "sendto-recvfrom", check_sendto_recvfrom },
	{ "sendmsg-recvmsg", check_sendmsg_recvmsg },
	{ "readv-writev", check_readv_writev },
	{ "msg-peek", check_msg_peek },
	{ "msg-dontwait", check_msg_dontwait },
	{ "msg-waitall", check_msg_waitall },
	{ "large-transfer", check_large_transfer },
	{ "sendfile", check_sendfile },
	{ "fionread", check_fionread },
	{ "fionbio", check_fionbio },
	{ "o-nonblock", check_o_nonblock },
	{ "so-rcvtimeo", check_so_rcvtimeo },
	{ "shutdown-wr", check_shutdown_wr },
	{ "shutdown-rd", check_shutdown_rd },
	{ "shutdown-rd-queued", check_shutdown_rd_queued },
	{ "shutdown-rdwr", check_shutdown_rdwr },
	{ "close", check_close },
	{ "epipe-sigpipe", check_epipe_sigpipe },
	{ "econnreset-unread", check_econnreset_unread },
	{ "econnreset-peer-linger0", check_econnreset_peer_linger0 },
	{ "linger0-sends-rst", check_linger0_sends_rst },
	{ "so-error", check_so_error },
	{ "so-reuseaddr", check_so_reuseaddr },
	{ "so-reuseaddr-rebind", check_so_reuseaddr_rebind },
	{ "bind-timewait-eaddrinuse", check_bind_timewait_eaddrinuse },
	{ "so-reuseport", check_so_reuseport },
	{ "so-keepalive", check_so_keepalive },
	{ "so-linger", check_so_linger },
	{ "so-bufs", check_so_bufs },
	{ "tcp-nodelay", check_tcp_nodelay },
	{ "tcp-info", check_tcp_info },
	{ "tcp-defer-accept", check_tcp_defer_accept },
	{ "tcp-defer-accept-waits", check_tcp_defer_accept_waits },
	{ "unknown-option", check_unknown_option },
	{ "dup", check_dup },
	{ "dup2", check_dup2 },
	{ "dup3", check_dup3 },
	{ "f-dupfd", check_f_dupfd },
	{ "dup2-over-socket", check_dup2_over_socket },
	{ "fd-numbers", check_fd_numbers },
	{ "others-untouched", check_others_untouched },
	{ "poll", check_poll },
	{ "ppoll", check_ppoll },
	{ "select", check_select },
	{ "pselect", check_pselect },
	{ "epoll-lt", check_epoll_lt },
	{ "epoll-et", check_epoll_et },
	{ "epoll-oneshot", check_epoll_oneshot },
	{ "epoll-rdhup", check_epoll_rdhup },
	{ "epoll-exclusive", check_epoll_exclusive },
	{ "epoll-mix", check_epoll_mix },
	{ "epoll-del", check_epoll_del },
	{ "epoll-timeout", check_epoll_timeout },
	{ "epoll-out", check_epoll_out },
	{ "thread-blocked-recv", check_thread_blocked_recv },
	{ "threads-own-conns", check_threads_own_conns },
	{ "fork-listener", check_fork_listener },
	{ "exec-cloexec", check_exec_cloexec },
	{ "raw-syscall", check_raw_syscall },
};

/* ------------------------------------------------------------------ */
/* Running them                                                        */

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void say(const char *text)
{
	if (write(STDOUT_FILENO, text, strlen(text)) < 0) {
		/* nothing to do */
	}
}

/* The first alarm interrupts what the check blocks in; the second ends
 * the run. */
static void on_alarm(int sig)
{
	(void)sig;
	if (++alarms == 1) {
		alarm(ALARM_GRACE);
		return;
	}
	say("not ok ");
	say(current);
	say(": hung: still blocked after SIGALRM; the run ends here\n");
	_exit(3);
}

static bool selected(const char *name)
{
	if (cfg.only == NULL)
		return true;
	size_t len = strlen(name);
	for (const char *p = cfg.only; (p = strstr(p, name)) != NULL; p += len)
		if ((p == cfg.only || p[-1] == ',') && (p[len] == 0 || p[len] == ','))
			return true;
	return false;
}

static int parse_ip(const char *text, struct in_addr *ip)
{
	return inet_pton(AF_INET, text, ip) == 1 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: shim-semantics [--far thread|unix:PATH] [--far-ip A] [--my-ip A]\n"
		"  [--local-ip A] [--side connect|accept] [--far-on-host] [--blackhole A:P]\n"
		"  [--refused-port P] [--port P] [--only N,...] [--budget S]\n"
		"  | --serve-agent PATH | --check-fds SPEC\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	parse_ip("127.0.0.1", &loopback_ip);
	cfg.far_ip = cfg.my_ip = cfg.local_ip = loopback_ip;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = true;
		if (strcmp(opt, "--far-on-host") == 0) {
			cfg.far_on_host = true;
			continue;
		}
		if (val == NULL)
			usage();
		i++;
		if (strcmp(opt, "--serve-agent") == 0)
			exit(serve_agent(val));
		else if (strcmp(opt, "--check-fds") == 0)
			exit(check_fds_after_exec(val));
		else if (strcmp(opt, "--far") == 0)
			cfg.far = val;
		else if (strcmp(opt, "--far-ip") == 0)
			ok = parse_ip(val, &cfg.far_ip) == 0;
		else if (strcmp(opt, "--my-ip") == 0)
			ok = parse_ip(val, &cfg.my_ip) == 0;
		else if (strcmp(opt, "--local-ip") == 0)
			ok = parse_ip(val, &cfg.local_ip) == 0;
		else if (strcmp(opt, "--side") == 0)
			cfg.side_accept = strcmp(val, "accept") == 0;
		else if (strcmp(opt, "--refused-port") == 0)
			cfg.refused_port = atoi(val);
		else if (strcmp(opt, "--port") == 0)
			cfg.port = atoi(val);
		else if (strcmp(opt, "--only") == 0)
			cfg.only = val;
		else if (strcmp(opt, "--budget") == 0)
			cfg.budget_s = atoi(val);
		else if (strcmp(opt, "--blackhole") == 0) {
			char ip[64];
			int port;
			struct in_addr addr;
			ok = sscanf(val, "%63[^:]:%d", ip, &port) == 2 && parse_ip(ip, &addr) == 0;
			cfg.blackhole = inet(addr, port);
			cfg.have_blackhole = ok;
		} else
			ok = false;
		if (!ok)
			usage();
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	const char *preload = getenv("LD_PRELOAD");
	under_shim = preload != NULL && strstr(preload, "tas-interpose") != NULL;

	struct sigaction pipe_action = { .sa_handler = on_sigpipe };
	struct sigaction alarm_action = { .sa_handler = on_alarm }; /* no SA_RESTART */
	sigaction(SIGPIPE, &pipe_action, NULL);
	sigaction(SIGALRM, &alarm_action, NULL);

	if (start_far() != 0) {
		printf("not ok far-side: cannot start the far side %s: %s\n", cfg.far,
		       strerror(errno));
		return 1;
	}
	printf("shim-semantics: %s, far side %s, side %s, far %s, mine %s, local %s\n",
	       under_shim ? "under the shim" : "no shim", cfg.far,
	       cfg.side_accept ? "accept" : "connect", inet_ntoa(cfg.far_ip),
	       addr_text(&(struct sockaddr_in){ .sin_addr = cfg.my_ip }),
	       addr_text(&(struct sockaddr_in){ .sin_addr = cfg.local_ip }));

	unsigned passed = 0, failed = 0, skipped = 0;
	double run_start = now_ms();
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (!selected(checks[i].name))
			continue;
		current = checks[i].name;
		if (cfg.budget_s > 0 && now_ms() - run_start > cfg.budget_s * 1000.0) {
			failed++;
			printf("not ok %s: not run: the run's time budget of %d s is spent\n",
			       current, cfg.budget_s);
			continue;
		}
		message[0] = note[0] = known[0] = 0;
		alarms = 0;
		alarm(CHECK_SECONDS);
		double start = now_ms();
		int outcome = checks[i].run();
		double took = now_ms() - start;
		alarm(0);
		if (alarms != 0 && outcome == PASSED)
			outcome = failf(0, "SIGALRM after %d s", CHECK_SECONDS);
		else if (alarms != 0)
			strncat(message, " (after SIGALRM: the check hung)",
				sizeof(message) - strlen(message) - 1);
		close_check_fds();
		struct far_result res;
		far_call(OP_CLOSE_ALL, 0, 0, 0, NULL, 0, &res);
		if (outcome == PASSED && known[0] != 0) {
			outcome = SKIPPED;
			snprintf(message, sizeof(message), "%s", known);
		}
		if (took > SLOW_MS)
			printf("# %s took %.0f ms\n", current, took);
		if (outcome == PASSED) {
			passed++;
			printf("ok %s%s%s%s\n", current, note[0] ? " (" : "", note, note[0] ? ")" : "");
		} else if (outcome == SKIPPED) {
			skipped++;
			printf("skip %s: %s\n", current, message);
		} else {
			failed++;
			printf("not ok %s: %s\n", current, message);
		}
	}
	struct far_result res;
	far_call(OP_QUIT, 0, 0, 0, NULL, 0, &res);
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	return failed == 0 ? 0 : 1;
}
