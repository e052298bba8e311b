#include "impair_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames one direction can hold at once: 10 ms of delay at 3 Gbit/s is
 * ~2500 full-size frames, a 1 MB rate-limiter queue ~700; leave room for
 * more delay.  Untouched buffers cost no memory (impair_pool_init). */
#define POOL_FRAMES 32768u
/* An MTU-sized payload plus its Ethernet header and one VLAN tag. */
#define FRAME_OVERHEAD 18u
#define SLOT_ALIGN 64u

static uint32_t slot_size_for(uint32_t mtu)
{
	return (mtu + FRAME_OVERHEAD + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
}

int impair_path_init(struct impair_path *path, const char *name,
		     struct impair_link *rx, struct impair_link *tx,
		     const struct impair_spec *spec, uint64_t seed,
		     uint32_t stream, char *why, size_t why_size)
{
	uint32_t slot_size = slot_size_for(rx->mtu);

	memset(path, 0, sizeof(*path));
	path->name = name;
	path->rx = rx;
	path->tx = tx;
	impair_rules_init(&path->rules, spec, seed, stream);
	path->discard = malloc(slot_size);
	if (!path->discard || impair_pool_init(&path->pool, POOL_FRAMES, slot_size) != 0 ||
	    impair_fifo_init(&path->fifo, POOL_FRAMES) != 0) {
		snprintf(why, why_size, "%s: frame buffers: %s", name, strerror(errno));
		impair_path_destroy(path);
		return -1;
	}
	return 0;
}

void impair_path_destroy(struct impair_path *path)
{
	impair_fifo_destroy(&path->fifo);
	impair_pool_destroy(&path->pool);
	free(path->discard);
	path->discard = NULL;
}

/* Held frames that may leave now queue behind what is queued. */
static void queue_released(struct impair_path *path, uint64_t now_ns)
{
	uint32_t slot;
	uint64_t release_ns;

	while (impair_rules_release_held(&path->rules, now_ns, &slot, &release_ns))
		impair_fifo_push(&path->fifo, slot, release_ns);
}

static void queue_copy(struct impair_path *path, uint32_t slot,
		       uint64_t release_ns)
{
	uint32_t copy;

	if (!impair_pool_get(&path->pool, &copy)) {
		path->counters.overflow_drops++;
		return;
	}
	memcpy(impair_pool_frame(&path->pool, copy),
	       impair_pool_frame(&path->pool, slot), path->pool.lengths[slot]);
	path->pool.lengths[copy] = path->pool.lengths[slot];
	impair_fifo_push(&path->fifo, copy, release_ns);
}

static void admit(struct impair_path *path, uint32_t slot, uint32_t len,
		  uint64_t now_ns)
{
	struct impair_verdict verdict;

	path->counters.frames++;
	if (len > path->pool.slot_size) {
		path->counters.overflow_drops++;
		impair_pool_put(&path->pool, slot);
		return;
	}
	path->pool.lengths[slot] = len;
	impair_rules_decide(&path->rules, impair_pool_frame(&path->pool, slot),
			    len, now_ns, slot, &verdict);
	if (verdict.copies == 0) {
		impair_pool_put(&path->pool, slot);
		return;
	}
	if (!verdict.hold)
		impair_fifo_push(&path->fifo, slot, verdict.release_ns[0]);
	if (verdict.copies == 2)
		queue_copy(path, slot, verdict.release_ns[1]);
	queue_released(path, now_ns);
}

/* No buffer is free: the frames waiting are tail-dropped, but must still
 * be read, or the socket would stay readable and poll() never sleep. */
static int discard_batch(struct impair_path *path)
{
	struct iovec iov[IMPAIR_BATCH];
	uint32_t lengths[IMPAIR_BATCH];
	int got;

	for (unsigned i = 0; i < IMPAIR_BATCH; i++)
		iov[i] = (struct iovec){ path->discard, path->pool.slot_size };
	got = impair_link_recv(path->rx, iov, lengths, IMPAIR_BATCH);
	if (got < 0)
		return got;
	path->counters.frames += (uint64_t)got;
	path->counters.overflow_drops += (uint64_t)got;
	return 0;
}

int impair_path_receive(struct impair_path *path, uint64_t now_ns)
{
	uint32_t slots[IMPAIR_BATCH], lengths[IMPAIR_BATCH];
	struct iovec iov[IMPAIR_BATCH];
	unsigned n = 0, used;
	int got;

	while (n < IMPAIR_BATCH && impair_pool_get(&path->pool, &slots[n])) {
		iov[n] = (struct iovec){ impair_pool_frame(&path->pool, slots[n]),
					 path->pool.slot_size };
		n++;
	}
	if (n == 0)
		return discard_batch(path);
	got = impair_link_recv(path->rx, iov, lengths, n);
	used = got > 0 ? (unsigned)got : 0;
	/* Unused buffers go back in reverse, so the pool's order is kept. */
	for (unsigned i = n; i-- > used;)
		impair_pool_put(&path->pool, slots[i]);
	for (unsigned i = 0; i < used; i++)
		admit(path, slots[i], lengths[i], now_ns);
	return got < 0 ? got : 0;
}

static void retire(struct impair_path *path, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		impair_pool_put(&path->pool, impair_fifo_peek(&path->fifo, 0)->slot);
		impair_fifo_pop(&path->fifo);
	}
}

/* The outgoing interface is gone or down: nothing will leave again. */
static bool link_gone(int error)
{
	return error == -ENETDOWN || error == -ENXIO || error == -ENODEV;
}

int impair_path_transmit(struct impair_path *path, uint64_t now_ns)
{
	queue_released(path, now_ns);
	while (!path->tx_blocked) {
		struct iovec iov[IMPAIR_BATCH];
		unsigned n = 0;
		int sent;

		while (n < IMPAIR_BATCH && n < path->fifo.count) {
			const struct impair_release *entry = impair_fifo_peek(&path->fifo, n);

			if (entry->release_ns > now_ns)
				break;
			iov[n] = (struct iovec){ impair_pool_frame(&path->pool, entry->slot),
						 path->pool.lengths[entry->slot] };
			n++;
		}
		if (n == 0)
			return 0;
		sent = impair_link_send(path->tx, iov, n);
		if (sent > 0) {
			retire(path, (unsigned)sent);
			path->counters.sent += (uint64_t)sent;
		} else if (sent == -EAGAIN || sent == -EWOULDBLOCK) {
			path->tx_blocked = true;
		} else if (link_gone(sent)) {
			return sent;
		} else {
			/* ENOBUFS: the interface dropped it (its peer's backlog
			 * is full), as a congested link would. */
			retire(path, 1);
			path->counters.tx_errors++;
		}
	}
	return 0;
}

uint64_t impair_path_next_wake(const struct impair_path *path)
{
	uint64_t wake = impair_rules_next_deadline(&path->rules);

	if (!path->tx_blocked && path->fifo.count &&
	    impair_fifo_peek(&path->fifo, 0)->release_ns < wake)
		wake = impair_fifo_peek(&path->fifo, 0)->release_ns;
	return wake;
}

uint64_t impair_path_unsent(const struct impair_path *path)
{
	return path->fifo.count + path->rules.held_count;
}
