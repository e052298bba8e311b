/*
 * Member processes of an application (app_member.h).
 */
#include "app_member.h"

#include <errno.h>
#include <sys/random.h>

int app_members_init(struct app_members *members)
{
	uint64_t token;
	/* The token is all that keeps another local process out of this
	 * application's connections: from the kernel's CSPRNG, never a
	 * counter or a clock. */
	ssize_t got = getrandom(&token, sizeof(token), 0);

	if (got < 0)
		return -errno;
	if (got != (ssize_t)sizeof(token))
		return -EIO;
	*members = (struct app_members){ .join_token = token };
	return 0;
}

bool app_members_token_matches(const struct app_members *members,
			       uint64_t token)
{
	return (members->join_token ^ token) == 0;
}

int app_members_add(struct app_members *members, struct app_member *member)
{
	for (unsigned i = 0; i < APP_MAX_MEMBERS; i++) {
		if (members->member[i] == NULL) {
			members->member[i] = member;
			members->count++;
			return 0;
		}
	}
	return -EUSERS;
}

uint32_t app_members_remove(struct app_members *members,
			    struct app_member *member)
{
	for (unsigned i = 0; i < APP_MAX_MEMBERS; i++) {
		if (members->member[i] == member) {
			uint32_t contexts = member->contexts;

			members->member[i] = NULL;
			members->count--;
			member->contexts = 0;
			return contexts;
		}
	}
	return 0;
}

struct app_member *app_members_owner(const struct app_members *members,
				     uint16_t ctx_id)
{
	if (ctx_id >= TAS_MAX_CONTEXTS)
		return NULL;
	for (unsigned i = 0; i < APP_MAX_MEMBERS; i++) {
		struct app_member *member = members->member[i];

		if (member != NULL && (member->contexts & (1u << ctx_id)))
			return member;
	}
	return NULL;
}
