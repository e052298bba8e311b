/*
 * The member processes of one application (shm_abi.h, TAS_REG_FORK and
 * TAS_REG_JOIN): the process that registered, and every process forked
 * from a member, made a member by its parent or joined with the
 * application's secret token.  Each context belongs to
 * the member that created it; when a member goes, its contexts go, and
 * the application goes with its last member.
 *
 * Bookkeeping only, no sockets: app_registry.c talks to the members.
 */
#ifndef TAS_APP_MEMBER_H
#define TAS_APP_MEMBER_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app_copies.h"
#include "tas/shm_abi.h"

#define APP_MAX_MEMBERS 64u

static_assert(TAS_MAX_CONTEXTS <= 32, "a member's contexts are a 32-bit set");

struct app;

/* One process on its own registration socket. */
struct app_member {
	int sock;
	pid_t pid;                  /* a child's from TAS_REG_CHILD */
	uid_t uid;
	struct app *app;            /* NULL until HELLO, JOIN or FORK */
	uint32_t contexts;          /* bit c: context c is this member's */
	struct app_copies copies;   /* connections it holds a copy of */
	bool naming_copies;         /* made by FORK, no CHILD yet */
	struct app_copies keeping;  /* the copies its KEEPs named so far */
	struct tas_reg_msg rx_msg;  /* message being received */
	size_t rx_len;
	int rx_fd;                  /* descriptor received with it, or -1 */
	struct app_member *prev;    /* the registry's list of connections */
	struct app_member *next;
};

struct app_members {
	struct app_member *member[APP_MAX_MEMBERS];
	unsigned count;
	uint64_t join_token;        /* the secret a joining process presents */
};

/* No members yet, a fresh random token.  0 or -errno. */
int app_members_init(struct app_members *members);

/* Whether token is the application's (one comparison of the whole word:
 * no early exit for timing to reveal a matching prefix). */
bool app_members_token_matches(const struct app_members *members,
			       uint64_t token);

/* member joins (member->app is the caller's to set).  0 or -EUSERS. */
int app_members_add(struct app_members *members, struct app_member *member);

/* member leaves; returns the contexts it owned, which now belong to
 * nobody. */
uint32_t app_members_remove(struct app_members *members,
			    struct app_member *member);

/* The member owning context ctx_id, or NULL. */
struct app_member *app_members_owner(const struct app_members *members,
				     uint16_t ctx_id);

static inline void app_member_take_context(struct app_member *member,
					   uint16_t ctx_id)
{
	member->contexts |= 1u << ctx_id;
}

#endif /* TAS_APP_MEMBER_H */
