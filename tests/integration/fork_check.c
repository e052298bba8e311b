/*
 * tas-fork-check: what libtas promises about fork() (tas.h, "Processes"),
 * checked with connections through tas's own address (local delivery),
 * so that both ends of every connection are ours.
 *
 *   --ip A --port P     tas's address (host order) and a free port
 *
 * The parent listens on P and opens a connection pair (client and server
 * end).  Then, in turn:
 *   a child checks that everything it inherited refuses with -EBADF,
 *     forgets the inherited pair (tas_close/tas_abort), creates its own
 *     context and opens a pair of its own through the inherited listener;
 *     its child (a grandchild) does the same and forgets the inherited
 *     listener (ctx NULL); the child then still accepts (the listener was
 *     only forgotten) and forgets the listener itself (its own ctx);
 *   a child that never creates a context forgets the inherited listener
 *     and pair, as a snapshotting child (redis BGSAVE) does;
 *   a child connects to the parent, which accepts, and dies by SIGKILL:
 *     the parent's end must be reset;
 *   children take connections over (fork_adopt_check.c);
 *   CHILDREN children one after another each create a context, open a
 *     pair and exit: more than TAS_MAX_CONTEXTS, so ids must be reused.
 * After each, the parent's pair must still carry data and its listener
 * still accept.  Every check prints "check: ROLE: WHAT: ok|FAILED"; the
 * parent ends with "fork_check: checks=N failed=M" and exits 0 only if
 * nothing failed anywhere.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tas/shm_abi.h>
#include <tas/tas.h>

#include "cli.h"
#include "fork_check.h"

#define CHILDREN (TAS_MAX_CONTEXTS + 8)
#define STASH_SIZE 64

static uint32_t tas_ip;
static uint16_t port;
struct tas_listener *listener;
static const char *role = "parent";
static unsigned checks, failures;

/* Events that callers wait for, kept until they do.  Data and space
 * events are not kept: callers look at the connections for those. */
static struct tas_event stash[STASH_SIZE];
static unsigned stash_count;

void check(bool ok, const char *what)
{
	checks++;
	failures += !ok;
	printf("check: %s: %s: %s\n", role, what, ok ? "ok" : "FAILED");
	fflush(stdout);
}

long long now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static bool kept(enum tas_event_type type)
{
	return type != TAS_EV_DATA && type != TAS_EV_WRITABLE &&
	       type != TAS_EV_PEER_CLOSED;
}

bool collect(struct tas_context *ctx, int timeout_ms)
{
	struct tas_event events[16];
	int count = tas_wait(ctx, events, 16, timeout_ms);

	if (count < 0 && count != -EINTR)
		return false;
	for (int i = 0; i < count; i++) {
		if (!kept(events[i].type))
			continue;
		if (stash_count == STASH_SIZE)
			return false;
		stash[stash_count++] = events[i];
	}
	return true;
}

bool wait_for(struct tas_context *ctx, enum tas_event_type type,
	      void *user_data, struct tas_event *found)
{
	long long deadline = now_ms() + WAIT_MS;

	for (;;) {
		for (unsigned i = 0; i < stash_count; i++) {
			if (stash[i].type == type &&
			    stash[i].user_data == user_data) {
				*found = stash[i];
				stash[i] = stash[--stash_count];
				return true;
			}
		}
		if (now_ms() >= deadline || !collect(ctx, POLL_MS))
			return false;
	}
}

bool open_pair(struct tas_context *ctx, struct pair *pair)
{
	struct tas_event ev;

	if (tas_accept(ctx, listener, &pair->server) != 0 ||
	    tas_connect(ctx, tas_ip, port, &pair->client, &pair->client) != 0)
		return false;
	if (!wait_for(ctx, TAS_EV_CONNECTED, &pair->client, &ev) ||
	    ev.status != 0 ||
	    !wait_for(ctx, TAS_EV_ACCEPTED, &pair->server, &ev))
		return false;
	pair->server = ev.conn;
	return true;
}

bool receives(struct tas_context *ctx, struct tas_conn *conn,
	      const char *text)
{
	size_t len = strlen(text), got = 0;
	char buf[64];
	long long deadline = now_ms() + WAIT_MS;

	if (len > sizeof(buf))
		return false;
	while (got < len) {
		ssize_t n = tas_recv(conn, buf + got, len - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n != -EAGAIN || now_ms() >= deadline ||
		    !collect(ctx, POLL_MS))
			return false;
	}
	return memcmp(buf, text, len) == 0;
}

bool carries(struct tas_context *ctx, struct tas_conn *from,
	     struct tas_conn *to, const char *text)
{
	size_t len = strlen(text);

	return tas_send(from, text, len) == (ssize_t)len &&
	       receives(ctx, to, text);
}

static bool pair_works(struct tas_context *ctx, const struct pair *pair)
{
	return carries(ctx, pair->client, pair->server, "ping") &&
	       carries(ctx, pair->server, pair->client, "pong");
}

static void start_listening(struct tas_context *ctx)
{
	struct tas_event ev;

	check(tas_listen(ctx, port, 64, &listener, &listener) == 0 &&
		      wait_for(ctx, TAS_EV_LISTENING, &listener, &ev) &&
		      ev.status == 0,
	      "listening");
}

pid_t fork_as(const char *child_role)
{
	fflush(stdout);
	pid_t pid = fork();

	if (pid == 0) {
		role = child_role;
		stash_count = 0;
		checks = failures = 0;
	}
	return pid;
}

void exit_child(void)
{
	tas_fini();
	exit(failures == 0 ? 0 : 1);
}

bool child_succeeded(pid_t pid)
{
	int status;

	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct tas_context *create_context(void)
{
	struct tas_context *ctx = tas_context_create();

	check(ctx != NULL, "creating a context joins the application");
	if (ctx == NULL)
		exit_child();
	return ctx;
}

static void check_inherited_refuses(struct tas_context *inherited,
				    const struct pair *pair)
{
	struct tas_event ev;
	struct tas_conn *conn;
	void *data;
	char byte = 0;

	check(tas_poll(inherited, &ev, 1) == -EBADF &&
		      tas_wait(inherited, &ev, 1, 0) == -EBADF &&
		      tas_context_fd(inherited) == -EBADF &&
		      tas_context_arm(inherited) == -EBADF,
	      "an inherited context cannot wait for events");
	check(tas_listen(inherited, (uint16_t)(port + 1), 1, NULL, NULL) ==
			      -EBADF &&
		      tas_accept(inherited, listener, NULL) == -EBADF &&
		      tas_connect(inherited, tas_ip, port, NULL, &conn) == -EBADF,
	      "an inherited context opens no connection");
	check(tas_send(pair->client, "x", 1) == -EBADF &&
		      tas_recv(pair->server, &byte, 1) == -EBADF &&
		      tas_send_commit(pair->client, 0) == -EBADF &&
		      tas_recv_release(pair->server, 0) == -EBADF &&
		      tas_shutdown(pair->client, SHUT_WR) == -EBADF &&
		      tas_send_reserve(pair->client, &data) == 0 &&
		      tas_recv_peek(pair->server, &data) == 0 &&
		      tas_send_space(pair->client) == 0 &&
		      tas_recv_pending(pair->server) == 0,
	      "an inherited connection carries nothing");
	check(tas_close(pair->client) == 0 && tas_abort(pair->server) == 0,
	      "inherited connections are forgotten");
}

static void grandchild(void)
{
	struct tas_context *ctx = create_context();
	struct pair pair;

	check(open_pair(ctx, &pair) && pair_works(ctx, &pair),
	      "a pair through the listener inherited twice");
	check(tas_listener_close(NULL, listener) == 0,
	      "the inherited listener is forgotten (ctx NULL)");
	exit_child();
}

static void child(struct tas_context *inherited, const struct pair *pair)
{
	check_inherited_refuses(inherited, pair);
	struct tas_context *ctx = create_context();
	struct pair own;

	check(open_pair(ctx, &own) && pair_works(ctx, &own),
	      "a pair of its own through the inherited listener");
	pid_t pid = fork_as("grandchild");
	if (pid == 0)
		grandchild();
	check(child_succeeded(pid), "the grandchild succeeded");
	check(open_pair(ctx, &own) && pair_works(ctx, &own),
	      "the listener still accepts after the grandchild forgot it");
	check(tas_listener_close(ctx, listener) == 0,
	      "the inherited listener is forgotten (own ctx)");
	exit_child();
}

/* Forgets what it inherited and never talks to the service. */
static void snapshot_child(struct tas_context *inherited, struct pair *pair)
{
	check(tas_listener_close(inherited, listener) == 0 &&
		      tas_close(pair->client) == 0 &&
		      tas_close(pair->server) == 0,
	      "a child without contexts forgets what it inherited");
	exit_child();
}

static void doomed_child(void)
{
	struct tas_context *ctx = create_context();
	struct tas_conn *conn;
	struct tas_event ev;
	int doomed;

	check(tas_connect(ctx, tas_ip, port, &doomed, &conn) == 0 &&
		      wait_for(ctx, TAS_EV_CONNECTED, &doomed, &ev) &&
		      ev.status == 0,
	      "connected to the parent");
	fflush(stdout);
	raise(SIGKILL);
}

/* The parent accepts from a child that then dies: its end is reset. */
static void check_killed_child(struct tas_context *ctx)
{
	int accepted;
	struct tas_event ev;
	int status;

	check(tas_accept(ctx, listener, &accepted) == 0, "accepting");
	pid_t pid = fork_as("doomed child");
	if (pid == 0)
		doomed_child();
	check(pid > 0 && waitpid(pid, &status, 0) == pid &&
		      WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the doomed child was killed");
	check(wait_for(ctx, TAS_EV_ACCEPTED, &accepted, &ev) &&
		      wait_for(ctx, TAS_EV_RESET, &accepted, &ev) &&
		      tas_close(ev.conn) == 0 &&
		      wait_for(ctx, TAS_EV_CLOSED, &accepted, &ev),
	      "the connection of the killed child is reset");
}

/* Contexts of exited children may be retiring for a moment. */
static struct tas_context *create_context_retrying(void)
{
	long long deadline = now_ms() + WAIT_MS;
	struct tas_context *ctx;

	while ((ctx = tas_context_create()) == NULL && errno == ENOSPC &&
	       now_ms() < deadline)
		usleep(POLL_MS * 1000);
	return ctx;
}

static void short_lived_child(void)
{
	struct tas_context *ctx = create_context_retrying();
	struct pair pair;

	if (ctx == NULL || !open_pair(ctx, &pair) || !pair_works(ctx, &pair))
		exit(1);
	tas_fini();
	exit(0);
}

static void check_parent_unaffected(struct tas_context *ctx,
				    const struct pair *pair, const char *after)
{
	char what[128];
	struct pair fresh;

	snprintf(what, sizeof(what), "after %s: its pair works, its listener "
		 "accepts", after);
	check(pair_works(ctx, pair) && open_pair(ctx, &fresh) &&
		      pair_works(ctx, &fresh),
	      what);
}

static void parse(int argc, char **argv)
{
	static const char usage[] = "--ip A --port P\n";

	cli_init(argv[0], usage);
	if (argc != 5 || strcmp(argv[1], "--ip") != 0 ||
	    strcmp(argv[3], "--port") != 0)
		cli_fail("expected --ip A --port P");
	tas_ip = cli_parse_ipv4("--ip", argv[2]);
	port = cli_parse_port("--port", argv[4]);
}

int main(int argc, char **argv)
{
	struct pair pair;
	unsigned reused = 0;

	parse(argc, argv);
	int err = tas_init(NULL);
	if (err != 0) {
		fprintf(stderr, "tas_init: %s\n", strerror(-err));
		return 1;
	}
	struct tas_context *ctx = tas_context_create();
	if (ctx == NULL) {
		perror("tas_context_create");
		return 1;
	}
	start_listening(ctx);
	check(open_pair(ctx, &pair) && pair_works(ctx, &pair), "a pair");

	pid_t pid = fork_as("child");
	if (pid == 0)
		child(ctx, &pair);
	check(child_succeeded(pid), "the child and grandchild succeeded");
	check_parent_unaffected(ctx, &pair, "the child forgot its copies");

	pid = fork_as("snapshot child");
	if (pid == 0)
		snapshot_child(ctx, &pair);
	check(child_succeeded(pid), "the snapshot child succeeded");
	check_parent_unaffected(ctx, &pair, "the snapshot child");

	check_killed_child(ctx);
	check_parent_unaffected(ctx, &pair, "a child was killed");

	check_adoption(ctx);
	check_parent_unaffected(ctx, &pair, "children took connections over");

	for (unsigned i = 0; i < CHILDREN; i++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			short_lived_child();
		reused += child_succeeded(pid);
	}
	check(reused == CHILDREN, "more children in turn than context ids");
	check_parent_unaffected(ctx, &pair, "those children");

	printf("fork_check: checks=%u failed=%u\n", checks, failures);
	tas_fini();
	return failures == 0 ? 0 : 1;
}
