/*
 * Opening connections: listeners and their accepts, and connects.
 *
 * Requests are matched with their completions by cookie.  A connect or
 * accept gets its struct tas_conn when it is requested; it waits in the
 * context's opening map until ACCEPTED/CONNECTED attaches it to a flow.
 * Accepts asked for before the listener is up are sent when it is.
 */
#include <errno.h>
#include <stdlib.h>

#include <arpa/inet.h>

#include "tas_internal.h"

struct tas_listener *listener_by_cookie(const struct tas_context *ctx,
					uint64_t cookie)
{
	for (struct tas_listener *l = ctx->listeners; l != NULL; l = l->next)
		if (l->cookie == cookie)
			return l;
	return NULL;
}

static int listen_on(struct tas_context *ctx, uint32_t ip, uint16_t local_port,
		     uint32_t backlog, void *user_data,
		     struct tas_listener **out)
{
	if (ctx->inherited)
		return -EBADF;

	struct tas_listener *listener = calloc(1, sizeof(*listener));
	if (listener == NULL)
		return -ENOMEM;
	listener->ctx = ctx;
	listener->cookie = ctx->next_cookie++;
	listener->user_data = user_data;

	struct tas_app_cmd cmd = {
		.type = TAS_CMD_LISTEN,
		.value = backlog,
		.ip = ip,
		.port = htons(local_port),
		.cookie = listener->cookie,
	};
	int err = command_to_slowpath(ctx, &cmd, -1);
	if (err != 0) {
		free(listener);
		return err;
	}
	listener->next = ctx->listeners;
	ctx->listeners = listener;
	*out = listener;
	return 0;
}

int tas_listen(struct tas_context *ctx, uint16_t local_port, uint32_t backlog,
	       void *user_data, struct tas_listener **out)
{
	return listen_on(ctx, registration.header->local_ip, local_port, backlog,
			 user_data, out);
}

int tas_listen_local(struct tas_context *ctx, uint16_t local_port,
		     uint32_t backlog, void *user_data,
		     struct tas_listener **out)
{
	return listen_on(ctx, htonl(INADDR_LOOPBACK), local_port, backlog,
			 user_data, out);
}

static int send_accept(struct tas_conn *conn)
{
	struct tas_app_cmd cmd = {
		.type = TAS_CMD_ACCEPT,
		.flow_id = conn->listener->id,
		.cookie = conn->cookie,
	};
	int err = command_to_slowpath(conn->ctx, &cmd, -1);

	if (err == 0)
		conn->flags |= CONN_ACCEPT_SENT;
	return err;
}

static void accept_link(struct tas_listener *listener, struct tas_conn *conn)
{
	conn->listener = listener;
	conn->accept_prev = NULL;
	conn->accept_next = listener->accepts;
	if (listener->accepts != NULL)
		listener->accepts->accept_prev = conn;
	listener->accepts = conn;
}

void accept_unlink(struct tas_conn *conn)
{
	if (conn->accept_prev != NULL)
		conn->accept_prev->accept_next = conn->accept_next;
	else
		conn->listener->accepts = conn->accept_next;
	if (conn->accept_next != NULL)
		conn->accept_next->accept_prev = conn->accept_prev;
	conn->accept_prev = conn->accept_next = NULL;
}

/* Drop a pending accept whose completion will not be reported. */
static void accept_drop(struct tas_conn *conn)
{
	conn_map_remove(&conn->ctx->opening, conn->cookie);
	accept_unlink(conn);
	free(conn);
}

/*
 * An accept from a context other than the listener's (one listener shared
 * by several threads, or inherited from a parent process): the request
 * goes out on this context's ring, so the connection is announced here,
 * and the listener's own list, which only its thread touches, is left
 * alone.  The listener must be up already.
 */
static int accept_foreign(struct tas_context *ctx,
			  struct tas_listener *listener, void *user_data)
{
	if (!__atomic_load_n(&listener->listening, __ATOMIC_ACQUIRE))
		return -EAGAIN;

	struct tas_conn *conn = conn_new(ctx, user_data);
	if (conn == NULL)
		return -ENOMEM;
	conn->listener = listener;
	conn->flags |= CONN_ACCEPT_FOREIGN;
	int err = conn_map_insert(&ctx->opening, conn->cookie, conn);
	if (err == 0) {
		err = send_accept(conn);
		if (err != 0)
			conn_map_remove(&ctx->opening, conn->cookie);
	}
	if (err != 0)
		free(conn);
	return err;
}

int tas_accept(struct tas_context *ctx, struct tas_listener *listener,
	       void *user_data)
{
	if (ctx->inherited)
		return -EBADF;
	if (listener->ctx != ctx)
		return accept_foreign(ctx, listener, user_data);
	if (listener->status != 0)
		return listener->status;

	struct tas_conn *conn = conn_new(ctx, user_data);
	if (conn == NULL)
		return -ENOMEM;
	int err = conn_map_insert(&ctx->opening, conn->cookie, conn);
	if (err != 0) {
		free(conn);
		return err;
	}
	accept_link(listener, conn);
	if (listener->listening) {
		err = send_accept(conn);
		if (err != 0)
			accept_drop(conn);
	}
	return err;
}

void listener_started(struct tas_listener *listener, uint32_t id)
{
	listener->id = id;
	/* Other contexts read id once they see listening (accept_foreign). */
	__atomic_store_n(&listener->listening, true, __ATOMIC_RELEASE);
	/* Oldest first, as they were asked for. */
	struct tas_conn *oldest = listener->accepts;
	while (oldest != NULL && oldest->accept_next != NULL)
		oldest = oldest->accept_next;
	for (struct tas_conn *conn = oldest, *newer; conn != NULL; conn = newer) {
		newer = conn->accept_prev;
		if (!(conn->flags & CONN_ACCEPT_SENT) && send_accept(conn) != 0) {
			ready_push(conn->ctx, TAS_EV_ERROR, -ENOMEM, NULL,
				   listener, conn->user_data);
			accept_drop(conn);
		}
	}
}

void listener_free(struct tas_context *ctx, struct tas_listener *listener)
{
	while (listener->accepts != NULL)
		accept_drop(listener->accepts);
	for (struct tas_listener **link = &ctx->listeners; *link != NULL;
	     link = &(*link)->next) {
		if (*link == listener) {
			*link = listener->next;
			break;
		}
	}
	ready_forget_listener(ctx, listener);
	free(listener);
}

/* Accepts still outstanding are dropped without events; accepted
 * connections that arrive for them later are aborted.  An inherited
 * listener is the parent's: only our copy goes, whatever ctx is. */
int tas_listener_close(struct tas_context *ctx, struct tas_listener *listener)
{
	if (listener_inherited(listener)) {
		inherited_listener_forget(listener);
		return 0;
	}
	if (ctx != NULL && ctx->inherited)
		return -EBADF;
	if (listener->ctx != ctx)
		return -EINVAL;
	if (listener->listening) {
		struct tas_app_cmd cmd = { .type = TAS_CMD_LISTEN_CLOSE,
					   .flow_id = listener->id };
		int err = command_to_slowpath(ctx, &cmd, -1);
		if (err != 0)
			return err;
	}
	listener_free(ctx, listener);
	return 0;
}

void listeners_free(struct tas_context *ctx)
{
	while (ctx->listeners != NULL)
		listener_free(ctx, ctx->listeners);
}

int tas_connect(struct tas_context *ctx, uint32_t remote_ip,
		uint16_t remote_port, void *user_data, struct tas_conn **out)
{
	if (ctx->inherited)
		return -EBADF;

	struct tas_conn *conn = conn_new(ctx, user_data);
	if (conn == NULL)
		return -ENOMEM;
	int err = conn_map_insert(&ctx->opening, conn->cookie, conn);
	if (err != 0) {
		free(conn);
		return err;
	}

	struct tas_app_cmd cmd = {
		.type = TAS_CMD_CONNECT,
		.ip = htonl(remote_ip),
		.port = htons(remote_port),
		.cookie = conn->cookie,
	};
	err = command_to_slowpath(ctx, &cmd, -1);
	if (err != 0) {
		conn_map_remove(&ctx->opening, conn->cookie);
		free(conn);
		return err;
	}
	*out = conn;
	return 0;
}

uint32_t tas_local_address(void)
{
	return registration.header != NULL ? ntohl(registration.header->local_ip)
					   : 0;
}
