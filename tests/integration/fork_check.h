/*
 * tas-fork-check (fork_check.c): what the parts of the program share.
 * Checks print "check: ROLE: WHAT: ok|FAILED"; events a check waits for
 * are stashed until it takes them (data, space and peer-closed events are
 * not: the connections tell those).
 */
#ifndef TAS_TESTS_FORK_CHECK_H
#define TAS_TESTS_FORK_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <tas/tas.h>

#define WAIT_MS 10000
#define POLL_MS 100

struct pair {
	struct tas_conn *client;
	struct tas_conn *server;
};

/* The parent's listener, on tas's address. */
extern struct tas_listener *listener;

void check(bool ok, const char *what);
long long now_ms(void);
/* Wait up to timeout_ms for events and stash those worth keeping. */
bool collect(struct tas_context *ctx, int timeout_ms);
/* The first event of type for user_data, taken out of the stash. */
bool wait_for(struct tas_context *ctx, enum tas_event_type type,
	      void *user_data, struct tas_event *found);
/* A connection from ctx to ourselves, accepted through ctx. */
bool open_pair(struct tas_context *ctx, struct pair *pair);
/* text sent one way arrives intact. */
bool carries(struct tas_context *ctx, struct tas_conn *from,
	     struct tas_conn *to, const char *text);
/* Exactly text arrives on conn within WAIT_MS. */
bool receives(struct tas_context *ctx, struct tas_conn *conn,
	      const char *text);
/* In the child (role child_role): it starts with nothing waiting. */
pid_t fork_as(const char *child_role);
void exit_child(void);
bool child_succeeded(pid_t pid);
/* The process's own context (a failure ends a child). */
struct tas_context *create_context(void);

/* fork_adopt_check.c: connections taken over by children. */
void check_adoption(struct tas_context *ctx);

#endif /* TAS_TESTS_FORK_CHECK_H */
