/*
 * Retry FIFOs for events and fast-path commands that found their ring full.
 */
#include "tcp_deliver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "app_registry.h"
#include "fastpath.h"
#include "log.h"
#include "tcp_conn.h"

/* Beyond this many waiting items something is stuck for good: drop. */
#define DELIVER_MAX_QUEUED (1u << 20)
#define DELIVER_INITIAL_CAPACITY 64u

struct fifo {
	uint8_t *items;
	size_t elem_size;
	uint32_t head;
	uint32_t count;
	uint32_t capacity;        /* power of two */
};

struct queued_event {
	struct app *app;
	uint16_t ctx_id;
	struct tas_app_event ev;
};

struct queued_command {
	struct fp_core *core;
	struct fp_command cmd;
};

static struct fifo event_fifo = { .elem_size = sizeof(struct queued_event) };
static struct fifo command_fifo = { .elem_size = sizeof(struct queued_command) };

static void *fifo_at(const struct fifo *fifo, uint32_t index)
{
	uint32_t slot = (fifo->head + index) & (fifo->capacity - 1);

	return fifo->items + (size_t)slot * fifo->elem_size;
}

static bool fifo_grow(struct fifo *fifo)
{
	uint32_t capacity = fifo->capacity ? fifo->capacity * 2
					   : DELIVER_INITIAL_CAPACITY;
	uint8_t *items = malloc((size_t)capacity * fifo->elem_size);

	if (items == NULL)
		return false;
	for (uint32_t i = 0; i < fifo->count; i++)
		memcpy(items + (size_t)i * fifo->elem_size, fifo_at(fifo, i),
		       fifo->elem_size);
	free(fifo->items);
	fifo->items = items;
	fifo->head = 0;
	fifo->capacity = capacity;
	return true;
}

static bool fifo_push(struct fifo *fifo, const void *item)
{
	if (fifo->count >= DELIVER_MAX_QUEUED)
		return false;
	if (fifo->count == fifo->capacity && !fifo_grow(fifo))
		return false;
	memcpy(fifo_at(fifo, fifo->count), item, fifo->elem_size);
	fifo->count++;
	return true;
}

static void fifo_pop(struct fifo *fifo)
{
	fifo->head = (fifo->head + 1) & (fifo->capacity - 1);
	fifo->count--;
}

static void fifo_free(struct fifo *fifo)
{
	free(fifo->items);
	fifo->items = NULL;
	fifo->head = fifo->count = fifo->capacity = 0;
}

void tcp_send_event(struct app *app, uint16_t ctx_id,
		    const struct tas_app_event *ev)
{
	if (event_fifo.count == 0 && app_send_event(app, ctx_id, ev) != -ENOBUFS)
		return;
	struct queued_event item = { .app = app, .ctx_id = ctx_id, .ev = *ev };
	if (!fifo_push(&event_fifo, &item)) {
		tcp_sp.stats.events_dropped++;
		log_warn("tcp: event %u for app %u dropped: queue full",
			 (unsigned)ev->type, (unsigned)app_id(app));
	}
}

void tcp_send_command(struct fp_core *core, const struct fp_command *cmd)
{
	if (command_fifo.count == 0 && fp_send_command(core, cmd) == 0)
		return;
	struct queued_command item = { .core = core, .cmd = *cmd };
	if (!fifo_push(&command_fifo, &item))
		log_err("tcp: command %u for flow %u lost: queue full",
			(unsigned)cmd->type, (unsigned)cmd->flow_id);
}

static void flush_events(void)
{
	while (event_fifo.count > 0) {
		struct queued_event *item = fifo_at(&event_fifo, 0);
		if (app_send_event(item->app, item->ctx_id, &item->ev) == -ENOBUFS)
			return;
		fifo_pop(&event_fifo);
	}
}

static void flush_commands(void)
{
	while (command_fifo.count > 0) {
		struct queued_command *item = fifo_at(&command_fifo, 0);
		if (fp_send_command(item->core, &item->cmd) != 0)
			return;
		fifo_pop(&command_fifo);
	}
}

bool tcp_deliver_flush(void)
{
	flush_commands();
	flush_events();
	return event_fifo.count > 0 || command_fifo.count > 0;
}

void tcp_deliver_forget(const struct app *app, uint32_t contexts)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < event_fifo.count; i++) {
		struct queued_event *item = fifo_at(&event_fifo, i);
		if (item->app == app && item->ctx_id < TAS_MAX_CONTEXTS &&
		    (contexts & (1u << item->ctx_id)) != 0)
			continue;
		if (kept != i)
			memcpy(fifo_at(&event_fifo, kept), item, event_fifo.elem_size);
		kept++;
	}
	event_fifo.count = kept;
}

void tcp_deliver_fini(void)
{
	fifo_free(&event_fifo);
	fifo_free(&command_fifo);
}
