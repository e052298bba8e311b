/*
 * tas-fork-check, part two: connections inherited across fork() move to
 * the process that takes them over (tas.h, "Processes"), checked with
 * pairs through tas's own address, the client end staying in the parent.
 *   a child adopts the server end of a pair its parent still has: what
 *     the parent received and did not read before the fork is the child's
 *     to read, data calls wait (-EAGAIN) until TAS_EV_ADOPTED, a second
 *     adoption is refused, the parent's copy ends with TAS_EV_LEFT, and
 *     the child's close reaches the client end as end of file;
 *   the parent closes its copy of the server end right after the fork:
 *     the connection stays open for the child, which adopts it later (the
 *     parent's copy ends with TAS_EV_LEFT, not TAS_EV_CLOSED); a grandchild
 *     takes it over from the child (the child's ends with TAS_EV_LEFT) and
 *     serves it to the end;
 *   a copy a living child holds keeps the connection open after the
 *     parent's close until the child exits; one it forgot does not.
 * Children forget the client ends they inherit, as a forking server
 * closes the descriptors it does not serve: a copy they kept would hold
 * the parent's close of it back.  Parent and child wait for each other on
 * pipes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fork_check.h"

/* How long a close held back by a child's copy is watched. */
#define HELD_MS 300

static void tell(int fd)
{
	char byte = 1;

	(void)!write(fd, &byte, 1);
}

/* Until the other process tells (or WAIT_MS pass). */
static bool hear(int fd)
{
	struct pollfd waiting = { .fd = fd, .events = POLLIN };
	char byte;

	return poll(&waiting, 1, WAIT_MS) == 1 && read(fd, &byte, 1) == 1;
}

static bool sends(struct tas_conn *conn, const char *text)
{
	size_t len = strlen(text);

	return tas_send(conn, text, len) == (ssize_t)len;
}

/* End of file on conn within timeout_ms, and nothing before it. */
static bool eof_within(struct tas_context *ctx, struct tas_conn *conn,
		       long long timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char byte;

	for (;;) {
		ssize_t n = tas_recv(conn, &byte, 1);

		if (n == 0)
			return true;
		if (n != -EAGAIN || now_ms() >= deadline ||
		    !collect(ctx, POLL_MS))
			return false;
	}
}

/* At least bytes have arrived on conn, unread, within WAIT_MS. */
static bool arrived(struct tas_context *ctx, struct tas_conn *conn,
		    size_t bytes)
{
	long long deadline = now_ms() + WAIT_MS;

	while (tas_recv_pending(conn) < bytes)
		if (now_ms() >= deadline || !collect(ctx, POLL_MS))
			return false;
	return true;
}

/* conn closed, and its TAS_EV_CLOSED seen: the other end has closed
 * already, or does so meanwhile. */
static bool closes(struct tas_context *ctx, struct tas_conn *conn,
		   void *user_data)
{
	struct tas_event ev;

	return tas_close(conn) == 0 &&
	       wait_for(ctx, TAS_EV_CLOSED, user_data, &ev);
}

static bool adopts(struct tas_context *ctx, struct tas_conn *conn,
		   void *user_data)
{
	struct tas_event ev;

	return tas_conn_adopt(ctx, conn) == 0 &&
	       wait_for(ctx, TAS_EV_ADOPTED, user_data, &ev) &&
	       ev.status == 0 && ev.conn == conn;
}

static bool has_left(struct tas_context *ctx, void *user_data)
{
	struct tas_event ev;

	return wait_for(ctx, TAS_EV_LEFT, user_data, &ev);
}

/* ---- a child adopts what its parent still has ---- */

static void adopting_child(struct pair *pair)
{
	struct tas_context *ctx = create_context();
	struct tas_conn *conn = pair->server;
	struct tas_event ev;
	char byte;

	check(tas_close(pair->client) == 0, "the child forgets the client end");
	check(tas_conn_adopt(ctx, conn) == 0 &&
		      tas_recv(conn, &byte, 1) == -EAGAIN &&
		      tas_send(conn, "x", 1) == -EAGAIN &&
		      tas_conn_adopt(ctx, conn) == -EALREADY,
	      "during the adoption data calls wait and a second one is refused");
	check(wait_for(ctx, TAS_EV_ADOPTED, &pair->server, &ev) &&
		      ev.status == 0 && ev.conn == conn,
	      "the adoption completes");
	check(tas_conn_adopt(ctx, conn) == -EINVAL,
	      "an adopted connection is no inherited one any more");
	check(receives(ctx, conn, "unread"),
	      "what the parent received and did not read is the child's");
	check(receives(ctx, conn, "ping") && sends(conn, "pong"),
	      "the adopted connection carries data both ways");
	check(closes(ctx, conn, &pair->server), "the child closes it");
	exit_child();
}

static void check_parent_keeps_copy(struct tas_context *ctx)
{
	struct pair pair;
	char byte;

	check(open_pair(ctx, &pair) && sends(pair.client, "unread") &&
		      arrived(ctx, pair.server, strlen("unread")),
	      "a pair with data the server end has not read");
	pid_t pid = fork_as("adopting child");
	if (pid == 0)
		adopting_child(&pair);
	check(has_left(ctx, &pair.server),
	      "the parent's copy of the adopted connection ends with "
	      "TAS_EV_LEFT");
	check(sends(pair.client, "ping") && receives(ctx, pair.client, "pong"),
	      "the parent's client end talks to the child");
	check(eof_within(ctx, pair.client, WAIT_MS) &&
		      tas_recv(pair.client, &byte, 1) == 0,
	      "the child's close reaches the parent's client end");
	check(closes(ctx, pair.client, &pair.client), "the client end closes");
	check(child_succeeded(pid), "the adopting child succeeded");
}

/* ---- the parent closes first; a grandchild takes over ---- */

static void grandchild_taking_over(struct pair *pair)
{
	struct tas_context *ctx = create_context();

	check(adopts(ctx, pair->server, &pair->server),
	      "the grandchild adopts the child's connection");
	check(receives(ctx, pair->server, "two") && sends(pair->server, "TWO"),
	      "the grandchild serves it");
	check(closes(ctx, pair->server, &pair->server),
	      "the grandchild closes it");
	exit_child();
}

static void child_of_closed_copy(struct pair *pair, int parent_closed)
{
	check(tas_close(pair->client) == 0, "the child forgets the client end");
	check(hear(parent_closed), "the parent closed its copy");
	struct tas_context *ctx = create_context();

	check(adopts(ctx, pair->server, &pair->server),
	      "the child adopts a connection its parent closed");
	check(receives(ctx, pair->server, "one") && sends(pair->server, "ONE"),
	      "the child serves it");
	pid_t pid = fork_as("grandchild taking over");
	if (pid == 0)
		grandchild_taking_over(pair);
	check(has_left(ctx, &pair->server),
	      "the child's connection ends with TAS_EV_LEFT when the "
	      "grandchild takes it");
	check(child_succeeded(pid), "the grandchild succeeded");
	exit_child();
}

static void check_parent_closes_first(struct tas_context *ctx)
{
	struct pair pair;
	int closed[2];

	check(open_pair(ctx, &pair) && pipe(closed) == 0, "a pair");
	pid_t pid = fork_as("child of a closed copy");
	if (pid == 0)
		child_of_closed_copy(&pair, closed[0]);
	check(tas_close(pair.server) == 0 && collect(ctx, 0),
	      "the parent closes its copy at once");
	tell(closed[1]);
	check(has_left(ctx, &pair.server),
	      "a copy closed and then taken over ends with TAS_EV_LEFT");
	check(sends(pair.client, "one") && receives(ctx, pair.client, "ONE") &&
		      sends(pair.client, "two") &&
		      receives(ctx, pair.client, "TWO"),
	      "the connection the parent closed served by child and grandchild");
	check(eof_within(ctx, pair.client, WAIT_MS),
	      "the grandchild's close reaches the parent's client end");
	check(closes(ctx, pair.client, &pair.client), "the client end closes");
	check(child_succeeded(pid), "the child of the closed copy succeeded");
	close(closed[0]);
	close(closed[1]);
}

/* ---- copies held and forgotten ---- */

static void child_holding_copies(struct pair *held, struct pair *forgotten,
				 int ready, int done)
{
	check(tas_close(held->client) == 0 && tas_close(forgotten->client) == 0,
	      "the child forgets the client ends");
	check(tas_close(forgotten->server) == 0, "the child forgets one copy");
	tell(ready);
	check(hear(done), "the parent is done");
	exit_child();
}

static void check_copies_hold_close(struct tas_context *ctx)
{
	struct pair held, forgotten;
	struct tas_event ev;
	int ready[2], done[2];

	check(open_pair(ctx, &held) && open_pair(ctx, &forgotten) &&
		      pipe(ready) == 0 && pipe(done) == 0,
	      "two pairs");
	pid_t pid = fork_as("child holding copies");
	if (pid == 0)
		child_holding_copies(&held, &forgotten, ready[1], done[0]);
	check(hear(ready[0]), "the child forgot its copy");
	check(tas_close(forgotten.server) == 0 &&
		      eof_within(ctx, forgotten.client, WAIT_MS) &&
		      closes(ctx, forgotten.client, &forgotten.client) &&
		      wait_for(ctx, TAS_EV_CLOSED, &forgotten.server, &ev),
	      "a connection whose copy the child forgot closes at once");
	check(tas_close(held.server) == 0 &&
		      !eof_within(ctx, held.client, HELD_MS),
	      "a connection a living child holds a copy of stays open");
	tell(done[1]);
	check(child_succeeded(pid), "the child holding a copy succeeded");
	check(eof_within(ctx, held.client, WAIT_MS) &&
		      closes(ctx, held.client, &held.client) &&
		      wait_for(ctx, TAS_EV_CLOSED, &held.server, &ev),
	      "it closes once the child has exited");
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(done[i]);
	}
}

void check_adoption(struct tas_context *ctx)
{
	check_parent_keeps_copy(ctx);
	check_parent_closes_first(ctx);
	check_copies_hold_close(ctx);
}
