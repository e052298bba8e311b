/*
 * fork(): what a child process inherits from libtas (tas.h, "Processes").
 *
 * The child shares the parent's region (MAP_SHARED) and doorbells, which
 * it keeps, and would share the parent's registration socket and its
 * contexts' rings, which it must not touch: the rings have one producer
 * and one consumer, and the service must see the socket hang up when the
 * parent dies.  So the child closes its copy of the socket, and every
 * context it inherited, with every connection and listener reachable from
 * it, is marked inherited.  All the child may do with those is forget them
 * (tas_close, tas_abort, tas_listener_close free the local state and send
 * nothing) and accept on an inherited listener through a context of its
 * own, which it gets after joining the parent's application
 * (registration.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "tas_internal.h"

/* No other thread may be half-way through a registration exchange or an
 * edit of the context list while the address space is copied. */
static void before_fork(void)
{
	pthread_mutex_lock(&registration.lock);
}

static void after_fork_in_parent(void)
{
	pthread_mutex_unlock(&registration.lock);
}

/* The child's only thread is the one that locked in before_fork. */
static void after_fork_in_child(void)
{
	if (registration.initialised && registration.sock >= 0) {
		close(registration.sock);
		registration.sock = -1;
	}
	for (struct tas_context *ctx = registration.contexts; ctx != NULL;
	     ctx = ctx->next) {
		ctx->inherited = true;
		/* The service wakes the parent through it: reading it here
		 * would steal the parent's wake-ups. */
		if (ctx->eventfd >= 0)
			close(ctx->eventfd);
		ctx->eventfd = -1;
		/* app_sleeping in the shared context is the parent's flag. */
		ctx->armed = false;
	}
	pthread_mutex_unlock(&registration.lock);
}

static int install_error;

static void install(void)
{
	install_error = pthread_atfork(before_fork, after_fork_in_parent,
				       after_fork_in_child);
}

int inherit_install_fork_handlers(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install);
	return -install_error;
}

/* As the library loads, before code that uses it can install handlers of
 * its own: prepare handlers run in reverse order of installation, so
 * ours comes last, and a caller that holds its own lock while it calls
 * libtas (the sockets shim) takes the two in the same order at a fork as
 * at any other time. */
__attribute__((constructor)) static void install_at_load(void)
{
	(void)inherit_install_fork_handlers();
}

void inherited_conn_forget(struct tas_conn *conn)
{
	struct tas_context *ctx = conn->ctx;

	/* Inherited objects belong to no thread of the child: threads
	 * forgetting them at once must not corrupt the maps they share. */
	pthread_mutex_lock(&registration.lock);
	if (conn->flags & CONN_ATTACHED)
		conn_map_remove(&ctx->flows, conn->flow_id);
	else
		conn_map_remove(&ctx->opening, conn->cookie); /* a connect */
	ready_forget_conn(ctx, conn);
	pthread_mutex_unlock(&registration.lock);
	free(conn);
}

void inherited_listener_forget(struct tas_listener *listener)
{
	pthread_mutex_lock(&registration.lock);
	listener_free(listener->ctx, listener);
	pthread_mutex_unlock(&registration.lock);
}
