/*
 * The slow path's event loop (sp_loop.h).
 *
 * Each iteration drains a bounded amount from every fast-path core's
 * exception and notify rings, polls the applications' slow-path command
 * rings, runs due timers and due deferred work, and then blocks in
 * epoll_wait until a file descriptor, the doorbell or the next deadline
 * wakes it, so an idle slow path uses no CPU.
 *
 * Sleeping follows doc/internals.md: sp_sleeping is set and fenced before
 * the last look at the rings and the application command rings, so a
 * producer that enqueues after that look sees the flag and rings the
 * doorbell.  While the cores' rings still hold work the flag stays clear
 * and the loop does not block, sparing the producers the doorbell writes.
 */
#include "sp_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "app_registry.h"
#include "fastpath.h"
#include "log.h"
#include "quiesce.h"
#include "tcp.h"

/* Per core and wake, so that one flooded core cannot starve the others,
 * the applications or the timers. */
#define EXCEPTION_BUDGET 256u
#define NOTIFY_BUDGET 256u
#define EPOLL_BATCH 64
/* Longest single sleep; deadlines further away are re-checked then. */
#define MAX_SLEEP_MS 60000

/* Watches are indexed by fd.  The epoll data carries the fd and the
 * watch's generation, so a stale event for a closed fd whose number was
 * reused within the same batch is recognised and dropped. */
struct fd_watch {
	sp_fd_handler handler; /* NULL: not watched */
	void *arg;
	uint32_t generation;
};

static struct {
	int epoll_fd;
	int signal_fd;
	int doorbell_fd;
	struct fd_watch *watches;
	unsigned watch_capacity;
	uint32_t next_generation;
	bool stop_requested;
} loop = { .epoll_fd = -1, .signal_fd = -1, .doorbell_fd = -1 };

static uint64_t event_data(int fd, uint32_t generation)
{
	return (uint64_t)generation << 32 | (uint32_t)fd;
}

static int watch_fd(int fd, uint32_t generation)
{
	struct epoll_event event = {
		.events = EPOLLIN | EPOLLRDHUP,
		.data.u64 = event_data(fd, generation),
	};

	return epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0 ? -errno
								       : 0;
}

static int grow_watches(unsigned fd)
{
	unsigned capacity = loop.watch_capacity ? loop.watch_capacity : 64;
	struct fd_watch *watches;

	while (capacity <= fd)
		capacity *= 2;
	watches = realloc(loop.watches, capacity * sizeof(*watches));
	if (watches == NULL)
		return -ENOMEM;
	memset(watches + loop.watch_capacity, 0,
	       (capacity - loop.watch_capacity) * sizeof(*watches));
	loop.watches = watches;
	loop.watch_capacity = capacity;
	return 0;
}

int sp_loop_add_fd(int fd, sp_fd_handler handler, void *arg)
{
	struct fd_watch *watch;
	int ret;

	if (fd < 0 || handler == NULL)
		return -EINVAL;
	if ((unsigned)fd >= loop.watch_capacity) {
		ret = grow_watches((unsigned)fd);
		if (ret < 0)
			return ret;
	}
	watch = &loop.watches[fd];
	if (watch->handler != NULL)
		return -EEXIST;
	/* Generation 0 is reserved for the loop's own descriptors. */
	if (++loop.next_generation == 0)
		loop.next_generation = 1;
	ret = watch_fd(fd, loop.next_generation);
	if (ret < 0)
		return ret;
	watch->handler = handler;
	watch->arg = arg;
	watch->generation = loop.next_generation;
	return 0;
}

void sp_loop_remove_fd(int fd)
{
	if (fd < 0 || (unsigned)fd >= loop.watch_capacity ||
	    loop.watches[fd].handler == NULL)
		return;
	epoll_ctl(loop.epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	loop.watches[fd].handler = NULL;
	loop.watches[fd].arg = NULL;
}

void sp_loop_stop(void)
{
	loop.stop_requested = 1;
}

int sp_loop_init(struct service *svc)
{
	sigset_t signals;
	int ret;

	loop.stop_requested = 0;
	loop.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop.epoll_fd < 0)
		goto fail;
	/* main() blocked these in every thread before EAL started any. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGUSR1);
	loop.signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
	if (loop.signal_fd < 0)
		goto fail;
	loop.doorbell_fd = svc->sp_doorbell_fd;
	if (watch_fd(loop.signal_fd, 0) < 0 || watch_fd(loop.doorbell_fd, 0) < 0)
		goto fail;
	return 0;

fail:
	ret = -errno;
	log_err("slow-path loop: %s", strerror(errno));
	sp_loop_fini();
	return ret;
}

void sp_loop_fini(void)
{
	if (loop.signal_fd >= 0)
		close(loop.signal_fd);
	if (loop.epoll_fd >= 0)
		close(loop.epoll_fd);
	free(loop.watches);
	loop.signal_fd = loop.epoll_fd = loop.doorbell_fd = -1;
	loop.watches = NULL;
	loop.watch_capacity = 0;
}

/* Hands up to EXCEPTION_BUDGET packets to TCP; true if more are left. */
static bool drain_exceptions(struct service *svc, struct fp_core *core)
{
	struct rte_mbuf *packets[FP_BURST];
	unsigned total = 0, count;

	do {
		count = rte_ring_dequeue_burst(core->exception_ring,
					       (void **)packets, FP_BURST, NULL);
		for (unsigned i = 0; i < count; i++)
			tcp_handle_exception(
				svc, packets[i],
				(enum sp_exception_reason)packets[i]->hash.usr);
		total += count;
	} while (count == FP_BURST && total < EXCEPTION_BUDGET);
	return !rte_ring_empty(core->exception_ring);
}

static bool drain_notifications(struct service *svc, struct fp_core *core)
{
	struct sp_notify notes[FP_BURST];
	unsigned total = 0, count;

	do {
		count = rte_ring_dequeue_burst_elem(core->notify_ring, notes,
						    sizeof(notes[0]), FP_BURST,
						    NULL);
		for (unsigned i = 0; i < count; i++)
			tcp_handle_notify(svc, &notes[i]);
		total += count;
	} while (count == FP_BURST && total < NOTIFY_BUDGET);
	return !rte_ring_empty(core->notify_ring);
}

/* True if some core's rings still hold work after this pass. */
static bool drain_cores(struct service *svc)
{
	bool more = false;

	for (unsigned i = 0; i < svc->cfg.fp_cores; i++) {
		more |= drain_exceptions(svc, &svc->cores[i]);
		more |= drain_notifications(svc, &svc->cores[i]);
	}
	return more;
}

static bool cores_have_work(const struct service *svc)
{
	for (unsigned i = 0; i < svc->cfg.fp_cores; i++)
		if (!rte_ring_empty(svc->cores[i].exception_ring) ||
		    !rte_ring_empty(svc->cores[i].notify_ring))
			return true;
	return false;
}

/* epoll_wait timeout for a deadline: rounded up, so the loop does not
 * wake just before a timer is due and spin until it is. */
static int timeout_ms(uint64_t deadline_us, uint64_t now_us)
{
	uint64_t wait_ms;

	if (deadline_us == UINT64_MAX)
		return -1;
	if (deadline_us <= now_us)
		return 0;
	wait_ms = (deadline_us - now_us + 999) / 1000;
	return wait_ms > MAX_SLEEP_MS ? MAX_SLEEP_MS : (int)wait_ms;
}

static void read_doorbell(void)
{
	uint64_t count;

	/* Non-blocking; EAGAIN just means another wake consumed it. */
	(void)!read(loop.doorbell_fd, &count, sizeof(count));
}

static void read_signals(void)
{
	struct signalfd_siginfo info;

	while (read(loop.signal_fd, &info, sizeof(info)) == sizeof(info)) {
		if (info.ssi_signo == SIGUSR1) {
			tcp_log_flows();
			continue;
		}
		log_info("%s received: shutting down",
			 info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
		loop.stop_requested = 1;
	}
}

static void dispatch(struct service *svc, const struct epoll_event *event)
{
	int fd = (int)(uint32_t)event->data.u64;
	uint32_t generation = (uint32_t)(event->data.u64 >> 32);
	struct fd_watch *watch;

	if (generation == 0) {
		if (fd == loop.signal_fd)
			read_signals();
		else
			read_doorbell();
		return;
	}
	watch = &loop.watches[fd];
	if (watch->handler != NULL && watch->generation == generation)
		watch->handler(svc, fd, event->events, watch->arg);
}

static void wait_for_events(struct service *svc, int timeout)
{
	struct epoll_event events[EPOLL_BATCH];
	int count = epoll_wait(loop.epoll_fd, events, EPOLL_BATCH, timeout);

	__atomic_store_n(&svc->sp_sleeping, 0, __ATOMIC_RELAXED);
	if (count < 0 && errno != EINTR) {
		log_err("epoll_wait: %s", strerror(errno));
		loop.stop_requested = 1;
		return;
	}
	for (int i = 0; i < count; i++)
		dispatch(svc, &events[i]);
}

void sp_loop_run(struct service *svc)
{
	while (!loop.stop_requested && !svc->stopping) {
		bool busy = drain_cores(svc);
		bool deferred_waiting;
		uint64_t deadline;
		int timeout;

		if (!busy) {
			__atomic_store_n(&svc->sp_sleeping, 1, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			busy = cores_have_work(svc);
		}
		/* After the fence: commands an application enqueues from now
		 * on come with a doorbell. */
		app_registry_poll(svc);
		deadline = tcp_timers_run(svc, fp_now_us());
		deferred_waiting = sp_defer_run(svc);

		timeout = busy ? 0 : timeout_ms(deadline, fp_now_us());
		if (deferred_waiting && (timeout < 0 || timeout > 1))
			timeout = 1;
		wait_for_events(svc, timeout);
	}
}
