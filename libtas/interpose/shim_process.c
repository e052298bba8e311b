/*
 * The process's side of the shim: its libtas context (made on the first
 * socket call, and again in a forked child), the lock every tas socket
 * call holds, applying libtas events to the sockets, and blocking.
 *
 * Waiting with several threads on one context: a waiter arms the context
 * (tas_context_arm) and sleeps on the context's eventfd and on an eventfd
 * of its own.  Whoever takes events (tas_poll, which also disarms the
 * context) re-arms it at once while other threads sleep, so the service
 * keeps signalling them, and wakes them all when it applied any event to
 * the shared socket state, so that each re-checks its condition.  A
 * thread that found no events wakes nobody: idle waiters cannot wake
 * each other in turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "real_calls.h"
#include "shim.h"
#include "tas/shm_abi.h"

/* A waiter that could not arm (commands wait for ring space, or events
 * raced in) looks again this soon. */
#define RETRY_NS 50000
#define EVENT_BATCH 64
#define POLL_ON_STACK 32

struct shim_waiter {
	int fd;                     /* eventfd: another thread took events */
	struct shim_waiter *next;
};

struct shim_process shim = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static __thread struct shim_waiter this_thread = { .fd = -1 };
static pthread_key_t waiter_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------------ */
/* Set-up, fork                                                        */

static void close_thread_waiter(void *waiter)
{
	struct shim_waiter *self = waiter;

	if (self->fd >= 0)
		REAL(close)(self->fd);
	self->fd = -1;
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&shim.lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&shim.lock);
}

/* libtas's own fork handler has already made the parent's context,
 * listeners and connections *inherited*; the next socket call here
 * creates this process's context. */
static void fork_child(void)
{
	/* The forking thread took the lock in fork_prepare. */
	pthread_mutex_unlock(&shim.lock);
	shim.ctx = NULL;
	shim.waiters = NULL;
	/* The parent's waiters are its own; this thread's eventfd is shared
	 * with the parent after fork. */
	close_thread_waiter(&this_thread);
	sock_after_fork();
}

static void init_once(void)
{
	pthread_key_create(&waiter_key, close_thread_waiter);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static int create_context(void)
{
	int err = fd_table_init();

	if (err != 0)
		return err;
	if (!shim.registered) {
		err = tas_init(NULL);
		if (err != 0) {
			const char *path = getenv(TAS_SOCKET_ENV);
			fprintf(stderr,
				"tas-interpose: cannot register with the tas "
				"service at %s: %s\n",
				path != NULL ? path : TAS_DEFAULT_SOCKET_PATH,
				strerror(-err));
			shim.init_error = err;
			return err;
		}
		shim.registered = true;
		shim.local_ip.s_addr = htonl(tas_local_address());
	}
	shim.ctx = tas_context_create();
	if (shim.ctx == NULL) {
		err = -errno;
		fprintf(stderr, "tas-interpose: no tas context: %s\n",
			strerror(errno));
		return err;
	}
	return 0;
}

int shim_enter(void)
{
	pthread_once(&once, init_once);
	pthread_mutex_lock(&shim.lock);
	if (shim.ctx != NULL)
		return 0;

	int err = shim.init_error != 0 ? shim.init_error : create_context();
	if (err != 0)
		pthread_mutex_unlock(&shim.lock);
	return err;
}

void shim_lock(void)
{
	pthread_once(&once, init_once);
	pthread_mutex_lock(&shim.lock);
}

void shim_leave(void)
{
	pthread_mutex_unlock(&shim.lock);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static struct shim_socket *conn_socket(const struct tas_event *ev)
{
	return ev->conn != NULL ? tas_conn_user_data(ev->conn) : NULL;
}

static void on_reset(struct shim_socket *sock, int status)
{
	sock->reset = true;
	sock->pending_error = status < 0 ? -status : ECONNRESET;
	sock->in_events++;
	sock->out_events++;
}

static void dispatch(const struct tas_event *ev)
{
	struct shim_socket *sock = conn_socket(ev);

	switch (ev->type) {
	case TAS_EV_LISTENING:
		if (ev->user_data != NULL)
			sock_on_listening(ev->user_data, ev->status);
		return;
	case TAS_EV_ACCEPTED:
		/* The accept's user data is its listener's socket. */
		if (sock != NULL)
			sock_on_accepted(sock, ev->conn);
		else
			tas_abort(ev->conn);
		return;
	case TAS_EV_ERROR:
		/* A failed accept names its listener; others are advisory. */
		if (ev->conn == NULL && ev->listener != NULL &&
		    ev->user_data != NULL)
			sock_on_accept_failed(ev->user_data);
		return;
	default:
		break;
	}
	if (sock == NULL)
		return; /* the program closed it already */
	switch (ev->type) {
	case TAS_EV_CONNECTED:
		sock_on_connected(sock, ev->status);
		break;
	case TAS_EV_ADOPTED:
		sock_on_adopted(sock, ev->status);
		break;
	case TAS_EV_LEFT:
		sock_on_moved(sock);
		break;
	case TAS_EV_DATA:
		sock->in_events++;
		/* It may make a deferred accept possible. */
		if (sock->queued_on != NULL)
			sock->queued_on->in_events++;
		break;
	case TAS_EV_WRITABLE:
		sock->out_events++;
		break;
	case TAS_EV_PEER_CLOSED:
		sock->peer_fin = true;
		sock->in_events++;
		if (sock->queued_on != NULL)
			sock->queued_on->in_events++;
		break;
	case TAS_EV_RESET:
		on_reset(sock, ev->status);
		if (sock->queued_on != NULL)
			sock->queued_on->in_events++;
		break;
	case TAS_EV_CLOSED:
		/* Failed connects and adoptions, resets: libtas frees the
		 * conn. */
		sock->conn = NULL;
		break;
	default:
		break;
	}
}

static unsigned dispatch_batches(void)
{
	struct tas_event events[EVENT_BATCH];
	unsigned total = 0;
	int count;

	do {
		count = tas_poll(shim.ctx, events, EVENT_BATCH);
		for (int i = 0; i < count; i++)
			dispatch(&events[i]);
		total += count > 0 ? (unsigned)count : 0;
	} while (count == EVENT_BATCH);
	return total;
}

static void wake_waiters(void)
{
	uint64_t one = 1;

	for (struct shim_waiter *w = shim.waiters; w != NULL; w = w->next)
		if (REAL(write)(w->fd, &one, sizeof(one)) < 0) {
			/* The counter is saturated: it is readable anyway. */
		}
}

/* Take the context's events; keep it armed for the threads asleep and
 * wake them if anything changed.  Returns how many events there were. */
static unsigned take_events(void)
{
	unsigned total = dispatch_batches();

	/* Events that came while the context was disarmed make the arm
	 * fail: take those too.  A round without events ends it (the arm
	 * also fails while commands wait for ring space). */
	while (shim.waiters != NULL && tas_context_arm(shim.ctx) == 1) {
		unsigned more = dispatch_batches();
		if (more == 0)
			break;
		total += more;
	}
	if (total > 0 && shim.waiters != NULL)
		wake_waiters();
	return total;
}

void shim_pump(void)
{
	take_events();
}

/* How long shim_flush waits for the service to take what is queued. */
#define FLUSH_TRIES 500

void shim_flush(void)
{
	struct timespec pause = { .tv_nsec = RETRY_NS };

	if (shim.ctx == NULL)
		return; /* a child closing what it inherited */

	/* tas_context_arm says 1 while commands wait (or events are
	 * there: taking them makes progress too).  The fast-path core the
	 * commands wait for is busy with the ones before: a short wait. */
	for (unsigned i = 0; i < FLUSH_TRIES && tas_context_arm(shim.ctx) == 1; i++) {
		if (take_events() == 0)
			nanosleep(&pause, NULL);
	}
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */

static struct shim_waiter *thread_waiter(void)
{
	if (this_thread.fd < 0) {
		this_thread.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (this_thread.fd < 0)
			return NULL;
		pthread_setspecific(waiter_key, &this_thread);
	}
	return &this_thread;
}

static void unlink_waiter(struct shim_waiter *self)
{
	for (struct shim_waiter **link = &shim.waiters; *link != NULL;
	     link = &(*link)->next) {
		if (*link == self) {
			*link = self->next;
			return;
		}
	}
}

static int64_t ns_between(const struct timespec *from, const struct timespec *to)
{
	return (int64_t)(to->tv_sec - from->tv_sec) * 1000000000 +
	       (to->tv_nsec - from->tv_nsec);
}

static struct timespec from_ns(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000,
				  .tv_nsec = ns % 1000000000 };
}

/* Time to sleep: until deadline, at most cap_ns (0: no cap).  NULL: no
 * limit. */
static const struct timespec *sleep_limit(const struct timespec *deadline,
					  int64_t cap_ns, struct timespec *out)
{
	int64_t ns = -1;

	if (deadline != NULL) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ns = ns_between(&now, deadline);
		if (ns < 0)
			ns = 0;
	}
	if (cap_ns > 0 && (ns < 0 || ns > cap_ns))
		ns = cap_ns;
	if (ns < 0)
		return NULL;
	*out = from_ns(ns);
	return out;
}

int shim_wait(struct pollfd *fds, nfds_t nfds, const struct timespec *deadline,
	      const sigset_t *sigmask)
{
	if (take_events() > 0) {
		/* Poll the kernel descriptors too, without waiting. */
		if (nfds > 0 && REAL(poll)(fds, nfds, 0) < 0 && errno == EINTR)
			return -EINTR;
		return 0;
	}

	struct shim_waiter *self = thread_waiter();
	struct pollfd on_stack[POLL_ON_STACK];
	struct pollfd *all = on_stack;
	if (nfds + 2 > POLL_ON_STACK) {
		all = malloc((nfds + 2) * sizeof(*all));
		if (all == NULL)
			return -ENOMEM;
	}
	unsigned extra = self != NULL ? 2 : 1;
	all[0] = (struct pollfd){ .fd = tas_context_fd(shim.ctx), .events = POLLIN };
	if (self != NULL) {
		all[1] = (struct pollfd){ .fd = self->fd, .events = POLLIN };
		self->next = shim.waiters;
		shim.waiters = self;
	}
	if (nfds > 0)
		memcpy(all + extra, fds, nfds * sizeof(*fds));

	/* Without an eventfd of its own a thread cannot be woken by the
	 * others: it looks again soon instead. */
	int64_t cap = (tas_context_arm(shim.ctx) == 1 || self == NULL) ? RETRY_NS : 0;
	struct timespec timeout;
	const struct timespec *limit = sleep_limit(deadline, cap, &timeout);

	shim_leave();
	int ready = REAL(ppoll)(all, nfds + extra, limit, sigmask);
	int poll_errno = errno;
	pthread_mutex_lock(&shim.lock);

	if (self != NULL) {
		unlink_waiter(self);
		if (all[1].revents & POLLIN) {
			uint64_t count;
			if (REAL(read)(self->fd, &count, sizeof(count)) < 0) {
				/* Already drained: nothing to do. */
			}
		}
	}
	for (nfds_t i = 0; i < nfds; i++)
		fds[i].revents = all[extra + i].revents;
	if (all != on_stack)
		free(all);
	take_events();
	return ready < 0 && poll_errno == EINTR ? -EINTR : 0;
}

/* ------------------------------------------------------------------ */
/* Deadlines (CLOCK_MONOTONIC)                                         */

const struct timespec *shim_deadline_ts(const struct timespec *timeout,
					struct timespec *deadline)
{
	if (timeout == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout->tv_sec;
	deadline->tv_nsec += timeout->tv_nsec;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
	return deadline;
}

const struct timespec *shim_deadline(int timeout_ms, struct timespec *deadline)
{
	if (timeout_ms < 0)
		return NULL;

	struct timespec timeout = { .tv_sec = timeout_ms / 1000,
				    .tv_nsec = timeout_ms % 1000 * 1000000L };
	return shim_deadline_ts(&timeout, deadline);
}

bool shim_deadline_passed(const struct timespec *deadline)
{
	if (deadline == NULL)
		return false;

	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ns_between(&now, deadline) <= 0;
}
