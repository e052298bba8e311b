/*
 * fork(): what a child process inherits from libtas (tas.h, "Processes").
 *
 * Before the fork the parent asks the service to make the child a member
 * of the application, on one end of a socket pair that the child keeps
 * and the parent closes after the fork; the service gives that member a
 * copy of each of the parent's connections (registration_fork_member).
 * The child shares the parent's region (MAP_SHARED) and doorbells, which
 * it keeps, and would share the parent's registration socket and its
 * contexts' rings, which it must not touch: the rings have one producer
 * and one consumer, and the service must see the socket hang up when the
 * parent dies.  So the child closes its copy of the parent's socket, and
 * every context it inherited, with every connection and listener
 * reachable from it, is marked inherited.  The child may forget those
 * (tas_close, tas_abort, tas_listener_close free the local state; a
 * connection's copy at the service goes too), adopt a connection into a
 * context of its own (adopt.c), and accept on an inherited listener
 * through a context of its own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "tas_internal.h"

/* No other thread may be half-way through a registration exchange or an
 * edit of the context list while the address space is copied.  The
 * child's member is made first, so that its copies are the parent's
 * connections of this moment. */
static void before_fork(void)
{
	pthread_mutex_lock(&registration.lock);
	registration.child_sock = registration_fork_member();
}

static void after_fork_in_parent(void)
{
	if (registration.child_sock >= 0)
		close(registration.child_sock);
	registration.child_sock = -1;
	pthread_mutex_unlock(&registration.lock);
}

static bool is_kept(const struct tas_conn *conn)
{
	return conn_has_flow(conn) &&
	       !(conn->flags & (CONN_CLOSING | CONN_CLOSED | CONN_RESET |
				CONN_ACCEPT_QUEUED));
}

static void keep_copies(const struct conn_map *map)
{
	for (uint32_t i = 0; i < map->capacity; i++) {
		const struct tas_conn *conn = map->slots[i].conn;

		if (conn != NULL && is_kept(conn))
			registration_keep_copy(conn->flow_id, conn->flow_gen);
	}
}

/* The copies the service made are of every connection of the parent's
 * member; those the program can name (the parent's descriptors) are
 * kept, the others (closed already, or accepted and not delivered yet)
 * go at once. */
static void keep_known_copies(void)
{
	for (struct tas_context *ctx = registration.contexts; ctx != NULL;
	     ctx = ctx->next) {
		keep_copies(&ctx->flows);
		keep_copies(&ctx->opening); /* adoptions under way */
	}
	registration_child_started();
}

/* The child's only thread is the one that locked in before_fork. */
static void after_fork_in_child(void)
{
	if (registration.initialised && registration.sock >= 0)
		close(registration.sock);
	registration.sock = registration.child_sock;
	registration.child_sock = -1;
	if (registration.sock >= 0)
		keep_known_copies();
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
		conn_map_remove(&ctx->opening, conn->cookie); /* connect, adopt */
	if (conn_has_flow(conn))
		registration_forget_copy(conn->flow_id, conn->flow_gen);
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
