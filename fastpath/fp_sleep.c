/*
 * Idle back-off of a fast-path core (doc/internals.md "Sleeping and
 * waking", "Fast path").
 *
 * A core polls while it finds work.  After FP_IDLE_POLL_US without work it
 * arms: it sets its sleeping flags (core->sleeping for the slow path and
 * the other cores, fp_sleeping[core] in every context for applications)
 * and enables its rx interrupt, issues a full barrier, and runs one more
 * iteration, which re-checks every input.  If that finds nothing too, it
 * blocks in epoll on its doorbell and, if the port has them, its rx queue
 * interrupt.
 *
 * Ports backed by a kernel interface (--iface: net_af_packet) have no rx
 * interrupts.  For them the core keeps its own packet socket on that
 * interface as a wake-up signal: its BPF filter drops every frame while
 * the core polls (the kernel runs the filter before it copies anything,
 * so this costs next to nothing), and accepts every frame while the core
 * sleeps, so the first frame to arrive wakes it within one wake-up
 * latency (~30 us here) instead of at the end of a timeout.  The filter
 * is switched to "accept" before the final re-check of the inputs, so a
 * frame arriving in between is either seen by the re-check or wakes us.
 *
 * Without either, nothing tells the core about arriving frames, so it
 * blocks with a timeout that doubles from TIMEOUT_MIN_US to TIMEOUT_MAX_US
 * while the core stays idle, and to TIMEOUT_DEEP_US once it has been idle
 * for DEEP_IDLE_AFTER_US.  Each wake-up costs 20-30 us of CPU on the test
 * VM (mostly the kernel's context switch): 1 ms timeouts cost 2-2.7 % of a
 * CPU, 4 ms ones under 1 %.
 */
#include "fp_internal.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>

#define FP_IDLE_POLL_US 100u
#define TIMEOUT_MIN_US 50u
#define TIMEOUT_MAX_US 1000u
#define TIMEOUT_DEEP_US 4000u
#define DEEP_IDLE_AFTER_US 1000000u
/* With rx interrupts or a wake socket the timeout only bounds the damage
 * of a lost wake-up. */
#define TIMEOUT_WITH_INTERRUPTS_US 100000u

static int watch(int epoll_fd, int fd, uint32_t events)
{
	struct epoll_event event = { .events = events, .data.fd = fd };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

/* BPF programs of one instruction: keep 0 bytes (drop) or 1 byte. */
static struct sock_filter drop_all[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
static struct sock_filter accept_all[] = { BPF_STMT(BPF_RET | BPF_K, 1) };

static int set_wake_filter(int fd, bool accept)
{
	struct sock_fprog program = {
		.len = 1,
		.filter = accept ? accept_all : drop_all,
	};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program,
			  sizeof(program));
}

/* A packet socket on iface that wakes the core (see the top comment);
 * -1 if there is none (the core falls back to timeouts). */
static int open_wake_socket(const char *iface)
{
	unsigned index = if_nametoindex(iface);
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			htons(ETH_P_ALL));

	if (index == 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct sockaddr_ll address = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)index,
	};
	/* Drop first, so nothing queues up between socket() and bind(). */
	if (set_wake_filter(fd, false) < 0 ||
	    bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain_wake_socket(int fd)
{
	uint8_t byte;

	while (recv(fd, &byte, sizeof(byte), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
}

int fp_sleep_init(struct fp_worker *w)
{
	struct fp_sleep *sleep = &w->sleep;
	struct service *svc = w->svc;

	sleep->rx_intr_fd = -1;
	sleep->wake_fd = -1;
	sleep->timeout_us = TIMEOUT_MIN_US;
	sleep->idle_since_us = fp_now_us();
	sleep->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (sleep->epoll_fd < 0 ||
	    watch(sleep->epoll_fd, w->core->doorbell_fd, EPOLLIN) < 0)
		goto fail;
	if (svc->rx_interrupts) {
		int fd = rte_eth_dev_rx_intr_ctl_q_get_fd(svc->port_id,
							  w->core->rx_queue);

		/* Edge-triggered and never read: the fd is an eventfd for
		 * some drivers and the queue itself for net_tap, and each new
		 * frame or interrupt makes a new edge. */
		if (fd >= 0 && watch(sleep->epoll_fd, fd, EPOLLIN | EPOLLET) < 0)
			goto fail;
		sleep->rx_intr_fd = fd;
	}
	if (sleep->rx_intr_fd < 0 && svc->cfg.wake_iface != NULL) {
		sleep->wake_fd = open_wake_socket(svc->cfg.wake_iface);
		if (sleep->wake_fd >= 0 &&
		    watch(sleep->epoll_fd, sleep->wake_fd, EPOLLIN) < 0)
			goto fail;
	}
	return 0;

fail:
	fp_sleep_fini(w);
	return -1;
}

void fp_sleep_fini(struct fp_worker *w)
{
	if (w->sleep.wake_fd >= 0)
		close(w->sleep.wake_fd);
	if (w->sleep.epoll_fd >= 0)
		close(w->sleep.epoll_fd);
	w->sleep.wake_fd = -1;
	w->sleep.epoll_fd = -1;
}

static void set_rx_interrupt(struct fp_worker *w, bool on)
{
	uint16_t port = w->svc->port_id, queue = w->core->rx_queue;

	if (w->sleep.rx_intr_fd < 0)
		return;
	/* net_tap answers -ENOTSUP: its queue fd is always armed. */
	if (on)
		rte_eth_dev_rx_intr_enable(port, queue);
	else
		rte_eth_dev_rx_intr_disable(port, queue);
}

static void arm(struct fp_worker *w)
{
	__atomic_store_n(&w->core->sleeping, 1, __ATOMIC_RELAXED);
	fp_contexts_set_sleeping(w, 1);
	set_rx_interrupt(w, true);
	if (w->sleep.wake_fd >= 0)
		(void)set_wake_filter(w->sleep.wake_fd, true);
	/* Our flags before the re-check of their rings. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	w->sleep.armed = true;
}

static void disarm(struct fp_worker *w)
{
	set_rx_interrupt(w, false);
	if (w->sleep.wake_fd >= 0) {
		(void)set_wake_filter(w->sleep.wake_fd, false);
		drain_wake_socket(w->sleep.wake_fd);
	}
	/* The contexts we saw before blocking may be gone. */
	fp_contexts_refresh(w);
	fp_contexts_set_sleeping(w, 0);
	__atomic_store_n(&w->core->sleeping, 0, __ATOMIC_RELAXED);
	w->sleep.armed = false;
}

static void drain_doorbell(int fd)
{
	uint64_t count;

	/* Non-blocking; EAGAIN means nobody rang. */
	(void)!read(fd, &count, sizeof(count));
}

static uint32_t longest_timeout(const struct fp_sleep *sleep)
{
	return fp_now_us() - sleep->idle_since_us >= DEEP_IDLE_AFTER_US
		       ? TIMEOUT_DEEP_US : TIMEOUT_MAX_US;
}

static void block(struct fp_worker *w)
{
	struct fp_sleep *sleep = &w->sleep;
	struct fp_core *core = w->core;
	bool woken_by_frames = sleep->rx_intr_fd >= 0 || sleep->wake_fd >= 0;
	uint32_t timeout_us = woken_by_frames ? TIMEOUT_WITH_INTERRUPTS_US
					      : sleep->timeout_us;

	/* A paced flow is due then (fp_pacing.c). */
	if (w->paced_count > 0) {
		uint64_t now = fp_now_us();
		uint64_t wait = w->paced_due_us > now ? w->paced_due_us - now : 0;

		timeout_us = (uint32_t)RTE_MIN((uint64_t)timeout_us, wait);
	}
	struct timespec timeout = {
		.tv_sec = timeout_us / 1000000u,
		.tv_nsec = (long)(timeout_us % 1000000u) * 1000,
	};
	struct epoll_event events[2];

	/* Offline: the slow path need not wait for us to reuse memory. */
	__atomic_fetch_add(&core->quiescent, 1, __ATOMIC_RELEASE);
	int ready = epoll_pwait2(sleep->epoll_fd, events, 2, &timeout, NULL);
	__atomic_fetch_add(&core->quiescent, 1, __ATOMIC_SEQ_CST);

	core->wakeups++;
	for (int i = 0; i < ready; i++)
		if (events[i].data.fd == core->doorbell_fd)
			drain_doorbell(core->doorbell_fd);
	if (ready == 0)
		sleep->timeout_us = RTE_MIN(2 * sleep->timeout_us,
					    longest_timeout(sleep));
}

void fp_sleep_busy(struct fp_worker *w)
{
	if (w->sleep.armed)
		disarm(w);
	w->sleep.idle_since_us = w->now_us;
	w->sleep.timeout_us = TIMEOUT_MIN_US;
}

void fp_sleep_idle(struct fp_worker *w)
{
	if (w->sleep.armed) {
		/* The re-check after arming found nothing either. */
		block(w);
		disarm(w);
	} else if (w->now_us - w->sleep.idle_since_us >= FP_IDLE_POLL_US) {
		arm(w);
	}
}
