/*
 * tas-fork-serve: the classic forking server on libtas.  The parent
 * accepts, forks a child for each connection and closes its own copy at
 * once, then accepts the next; the child takes the connection over
 * (tas_conn_adopt) and echoes it.
 *
 *   --port P       listen on tas's address, port P
 *   --handoff N    a child that has echoed N bytes forks a grandchild,
 *                  which takes the connection over from it and echoes the
 *                  rest; the child's copy must end with TAS_EV_LEFT
 *                  (0, the default: children serve to the end)
 *
 * Whoever serves a connection echoes every byte until end of file, then
 * closes.  Each child and grandchild prints
 *   served: role=child|grandchild pid=P bytes=B left=yes|no
 * and exits 0 only if its part went as it should.  On SIGTERM the parent
 * waits for its children and prints
 *   fork_serve: connections=N failed=F
 * (F: children that did not exit 0); it exits 0 only if F is 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tas/tas.h>

#include "cli.h"
#include "mono_time.h"

#define ACCEPTS 4
#define EVENT_BATCH 16
#define WAIT_MS 200
#define SERVE_SECONDS 30

struct service {
	struct tas_context *ctx;
	struct tas_conn *conn;
	const char *role;
	uint64_t bytes;     /* echoed by this process */
	uint64_t handoff;   /* hand over after this many bytes; 0: never */
	bool peer_fin;
	bool closing;
	bool handed_over;   /* a grandchild has it: wait for LEFT */
	bool done;          /* CLOSED or LEFT */
	bool left;
	bool failed;
	pid_t grandchild;
};

static struct tas_listener *listener;
static uint64_t handoff;
static volatile sig_atomic_t stopping;
static int accept_tag; /* the user data of accepts */

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void fail(struct service *s, const char *why, int error)
{
	fprintf(stderr, "%s %d: %s%s%s\n", s->role, (int)getpid(), why,
		error ? ": " : "", error ? strerror(-error) : "");
	s->failed = true;
}

static void serve(struct service *s);

/* The connection goes to a grandchild, which serves the rest. */
static void hand_over(struct service *s)
{
	fflush(stdout);
	pid_t pid = fork();

	if (pid < 0) {
		fail(s, "fork", -errno);
		return;
	}
	if (pid == 0) {
		struct service grandchild = {
			.ctx = tas_context_create(),
			.conn = s->conn,
			.role = "grandchild",
		};
		serve(&grandchild);
	}
	s->grandchild = pid;
	s->handed_over = true;
}

/* Echo what is there, up to the hand-over point. */
static void pump(struct service *s)
{
	while (!s->closing && !s->handed_over) {
		void *rx, *tx;
		size_t len = tas_recv_peek(s->conn, &rx);
		size_t room = tas_send_reserve(s->conn, &tx);

		if (s->handoff > 0 && len > s->handoff - s->bytes)
			len = (size_t)(s->handoff - s->bytes);
		if (len > room)
			len = room;
		if (len == 0)
			break;
		memcpy(tx, rx, len);
		int err = tas_send_commit(s->conn, len);
		if (err == 0)
			err = tas_recv_release(s->conn, len);
		if (err != 0) {
			fail(s, "echo", err);
			return;
		}
		s->bytes += len;
		if (s->handoff > 0 && s->bytes == s->handoff)
			hand_over(s);
	}
	if (!s->closing && !s->handed_over && s->peer_fin &&
	    tas_recv_pending(s->conn) == 0) {
		s->closing = true;
		tas_close(s->conn);
	}
}

static void handle(struct service *s, const struct tas_event *ev)
{
	if (ev->conn != s->conn)
		return;
	switch (ev->type) {
	case TAS_EV_ADOPTED:
		if (ev->status != 0)
			fail(s, "adoption", ev->status);
		break;
	case TAS_EV_PEER_CLOSED:
		s->peer_fin = true;
		break;
	case TAS_EV_LEFT:
		s->left = true;
		s->done = true;
		if (!s->handed_over)
			fail(s, "the connection left before the hand-over", 0);
		return;
	case TAS_EV_CLOSED:
		s->done = true;
		if (s->handed_over)
			fail(s, "closed after the hand-over", 0);
		return;
	case TAS_EV_RESET:
	case TAS_EV_ERROR:
		fail(s, "reset or error", ev->status);
		return;
	default:
		break;
	}
	pump(s);
}

static int grandchild_status(pid_t pid)
{
	int status;

	return pid <= 0 || (waitpid(pid, &status, 0) == pid &&
			    WIFEXITED(status) && WEXITSTATUS(status) == 0)
		       ? 0 : 1;
}

/* In a child or grandchild: take the connection over and serve it;
 * never returns. */
static void serve(struct service *s)
{
	struct tas_event events[EVENT_BATCH];
	uint64_t deadline = mono_now_ns() + SERVE_SECONDS * NS_PER_SEC;
	int err = s->ctx != NULL ? tas_conn_adopt(s->ctx, s->conn) : -errno;

	if (err != 0)
		fail(s, "tas_conn_adopt", err);
	while (!s->failed && !s->done && mono_now_ns() < deadline) {
		int count = tas_wait(s->ctx, events, EVENT_BATCH, WAIT_MS);

		if (count < 0 && count != -EINTR) {
			fail(s, "tas_wait", count);
			break;
		}
		for (int i = 0; i < count && !s->done; i++)
			handle(s, &events[i]);
	}
	if (!s->done)
		fail(s, "not done in time", 0);
	printf("served: role=%s pid=%d bytes=%llu left=%s\n", s->role,
	       (int)getpid(), (unsigned long long)s->bytes,
	       s->left ? "yes" : "no");
	fflush(stdout);
	int status = grandchild_status(s->grandchild) | s->failed;
	tas_fini();
	exit(status);
}

/* A child for the connection the parent accepted. */
static void serve_in_child(struct tas_conn *conn)
{
	signal(SIGTERM, SIG_DFL);
	/* The parent's to accept on; this process serves one connection. */
	tas_listener_close(NULL, listener);

	struct service child = {
		.ctx = tas_context_create(),
		.conn = conn,
		.role = "child",
		.handoff = handoff,
	};
	serve(&child);
}

static int start_listening(struct tas_context *ctx, uint16_t port)
{
	struct tas_event ev;
	int err = tas_listen(ctx, port, 64, NULL, &listener);

	while (err == 0) {
		int count = tas_wait(ctx, &ev, 1, -1);

		if (count < 0 && count != -EINTR)
			err = count;
		else if (count == 1 && ev.type == TAS_EV_LISTENING)
			err = ev.status < 0 ? ev.status : 1;
	}
	return err < 0 ? err : 0;
}

static int accept_more(struct tas_context *ctx, unsigned *outstanding)
{
	while (*outstanding < ACCEPTS) {
		int err = tas_accept(ctx, listener, &accept_tag);

		if (err != 0)
			return err;
		(*outstanding)++;
	}
	return 0;
}

static unsigned reap(unsigned *children, bool block)
{
	unsigned failed = 0;
	int status;
	pid_t pid;

	while (*children > 0 &&
	       (pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
		(*children)--;
		failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	return failed;
}

/* Accept, fork, close our copy: one connection at a time, so that a
 * child knows (and keeps) only the connection it serves. */
static int run_parent(struct tas_context *ctx)
{
	unsigned outstanding = 0, children = 0, connections = 0, failed = 0;
	int err = accept_more(ctx, &outstanding);

	printf("fork_serve: listening\n");
	fflush(stdout);
	while (err == 0 && !stopping) {
		struct tas_event ev;
		int count = tas_wait(ctx, &ev, 1, WAIT_MS);

		failed += reap(&children, false);
		if (count < 0 && count != -EINTR)
			err = count;
		if (count != 1 || ev.type != TAS_EV_ACCEPTED)
			continue;
		outstanding--;
		connections++;
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			serve_in_child(ev.conn);
		if (pid < 0)
			failed++;
		else
			children++;
		tas_close(ev.conn);
		err = accept_more(ctx, &outstanding);
	}
	failed += reap(&children, true);
	if (err != 0)
		fprintf(stderr, "tas: %s\n", strerror(-err));
	printf("fork_serve: connections=%u failed=%u\n", connections, failed);
	return err == 0 && failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const char usage[] = "--port P [--handoff BYTES]\n";
	uint16_t port = 0;

	cli_init(argv[0], usage);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = cli_parse_port("--port", argv[i + 1]);
		else if (strcmp(argv[i], "--handoff") == 0)
			handoff = cli_parse_size("--handoff", argv[i + 1]);
		else
			cli_fail("unknown option %s", argv[i]);
	}
	if (port == 0 || argc % 2 == 0)
		cli_fail("expected --port P [--handoff BYTES]");

	struct sigaction stop = { .sa_handler = on_stop };
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	int err = tas_init(NULL);
	struct tas_context *ctx = err == 0 ? tas_context_create() : NULL;
	if (ctx == NULL) {
		fprintf(stderr, "tas: %s\n", strerror(err ? -err : errno));
		return 1;
	}
	err = start_listening(ctx, port);
	if (err != 0) {
		fprintf(stderr, "listen on port %u: %s\n", port, strerror(-err));
		return 1;
	}
	int status = run_parent(ctx);
	tas_fini();
	return status;
}
