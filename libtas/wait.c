/*
 * Blocking for events: tas_wait, and tas_context_fd/tas_context_arm for
 * other event loops.  The protocol is internals.md's: set app_sleeping,
 * full fence, re-check the rings, then block on the context's eventfd,
 * which the service writes after enqueueing events while app_sleeping is
 * set.  tas_poll clears the flag again.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "tas_internal.h"

/* While commands wait (for ring space, or for a core to take the data a
 * CLOSE must follow) nobody wakes us when they can go: retry this often.
 * The core is busy with those very commands, so it is a short wait. */
#define PENDING_RETRY_NS 50000

int tas_context_fd(const struct tas_context *ctx)
{
	return ctx->inherited ? -EBADF : ctx->eventfd;
}

/* true if there are events to poll for; else the service will kick the
 * eventfd for the next one. */
static bool arm(struct tas_context *ctx)
{
	if (events_ready(ctx))
		return true;
	if (!ctx->armed) {
		__atomic_store_n(&ctx->shm->app_sleeping, 1, __ATOMIC_RELAXED);
		ctx->armed = true;
	}
	/* Pairs with the service's fence between enqueueing and reading
	 * app_sleeping: either it sees the flag or we see its events. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return events_ready(ctx);
}

/* Commands still waiting for ring space also mean "call tas_poll": it
 * is what sends them. */
int tas_context_arm(struct tas_context *ctx)
{
	if (ctx->inherited)
		return -EBADF;
	commands_flush(ctx);
	if (commands_pending(ctx))
		return 1;
	return arm(ctx) ? 1 : 0;
}

static int64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none). */
static int64_t remaining_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;

	int64_t left = deadline - now_ms();
	return left < 0 ? 0 : left;
}

/* Sleep on the context's eventfd for up to timeout (NULL: no limit); the
 * registration socket hanging up means the service is gone.  0 or -errno. */
static int block(struct tas_context *ctx, const struct timespec *timeout)
{
	struct pollfd fds[2] = {
		{ .fd = ctx->eventfd, .events = POLLIN },
		{ .fd = registration.sock, .events = POLLRDHUP },
	};

	if (ppoll(fds, 2, timeout, NULL) < 0)
		return -errno;
	if (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
		return -ENOTCONN;
	return 0;
}

/* How long to block with wait_ms (-1: forever) left: NULL for no limit,
 * else *timeout. */
static const struct timespec *block_limit(const struct tas_context *ctx,
					  int64_t wait_ms,
					  struct timespec *timeout)
{
	if (commands_pending(ctx) &&
	    (wait_ms < 0 || wait_ms * 1000000 > PENDING_RETRY_NS)) {
		*timeout = (struct timespec){ .tv_nsec = PENDING_RETRY_NS };
		return timeout;
	}
	if (wait_ms < 0)
		return NULL;
	*timeout = (struct timespec){ .tv_sec = wait_ms / 1000,
				      .tv_nsec = wait_ms % 1000 * 1000000 };
	return timeout;
}

int tas_wait(struct tas_context *ctx, struct tas_event *events, int max,
	     int timeout_ms)
{
	if (ctx->inherited)
		return -EBADF;

	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		int count = tas_poll(ctx, events, max);
		if (count != 0)
			return count;

		int64_t wait_ms = remaining_ms(deadline);
		if (wait_ms == 0)
			return 0;
		if (arm(ctx))
			continue;

		struct timespec timeout;
		int err = block(ctx, block_limit(ctx, wait_ms, &timeout));
		if (err != 0) {
			events_disarm(ctx);
			return err;
		}
	}
}
