/*
 * Registered applications (app_registry.h): the registration socket and
 * its protocol (include/tas/shm_abi.h), the applications' member
 * processes and contexts, the slow-path command and event rings, and the
 * clean-up of members and applications that go away.
 *
 * The socket file has mode 0666: any local user may register, unless
 * --allow-uid names the users who may (root always may).  Opening it to
 * everyone is safe because an application reaches only its own region and
 * everything the service reads from it is validated; every peer's pid and
 * uid (SO_PEERCRED) are logged.
 *
 * Every connection to the socket is a member process (app_member.h) once
 * it sent HELLO (a new application: region, app id, join token) or JOIN
 * (a process forked from a member: the same application, proven by the
 * token).  A member about to fork sends FORK with a socket for its child,
 * which becomes a member at once, holding copies of the forking member's
 * connections (app_copies.h, tcp_copies.h).  Each context belongs to the
 * member that created it.
 *
 * Life of an application:
 *   ACTIVE     from HELLO (region mapped, WELCOME sent).  A member that
 *              goes (EOF or error on its socket, a protocol violation, a
 *              corrupted ring) takes its contexts along: their flows are
 *              reset (tcp_app_contexts_gone), they are unpublished, and
 *              after a grace period they are retired; a retired id is
 *              reused once none of its flows is left in the fast path.
 *   GONE       its last member went: tcp_app_gone(), contexts
 *              unpublished.  The app is freed once a grace period has
 *              passed (no core still reads its rings) and tcp has
 *              returned its last buffer slot (no flow still uses its
 *              memory).
 * Until it is freed, app_by_id() still finds a GONE app, so tcp can
 * return its buffers; it has no valid contexts any more.
 */
#include "app_registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "app_copies.h"
#include "app_member.h"
#include "app_publish.h"
#include "app_region.h"
#include "app_socket.h"
#include "fastpath.h"
#include "log.h"
#include "quiesce.h"
#include "sp_loop.h"
#include "tcp.h"
#include "tcp_copies.h"

#define CMD_BURST 32u
/* Commands taken from one context per poll, so one busy application
 * cannot monopolise the slow path. */
#define CMD_QUOTA TAS_CMD_RING_SIZE
#define WELCOME_FDS (2u + TAS_MAX_FP_CORES)
/* Enough of a message to know which ABI version its sender speaks. */
#define ABI_VERSION_END \
	(offsetof(struct tas_reg_msg, abi_version) + sizeof(uint32_t))

enum app_state { APP_ACTIVE, APP_GONE };

enum context_state {
	CONTEXT_FREE,
	CONTEXT_LIVE,
	CONTEXT_RETIRING,          /* unpublished; cores may still read it */
	CONTEXT_RETIRED,           /* flows of it may still be in the fast path */
};

struct app_context {
	enum context_state state;
	bool broken;               /* corrupted event ring seen outside the poll */
	int eventfd;
	struct tas_shm_context *shm;
	struct shm_ring sp_cmd;    /* the slow path's own ring views */
	struct shm_ring sp_event;
	struct fp_context *fp[TAS_MAX_FP_CORES]; /* published to core i */
};

struct app {
	struct service *svc;
	uint16_t id;
	enum app_state state;
	pid_t pid;                 /* the process that registered */
	struct app_members members;
	struct app_region region;
	bool grace_over;
	struct app_context contexts[TAS_MAX_CONTEXTS];
};

static struct {
	int listen_fd;
	bool accept_paused;        /* out of file descriptors */
	bool stopping;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct app *apps[MAX_APPS];
	struct app_member *connections; /* every open registration socket */
} registry = { .listen_fd = -1 };

static void on_listen_ready(struct service *svc, int fd, uint32_t events,
			    void *arg);

static unsigned fp_core_count(const struct service *svc)
{
	return app_region_fp_cores(&svc->cfg);
}

static void kick_eventfd(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: the reader is woken anyway. */
	(void)!write(fd, &one, sizeof(one));
}

/* The ids of the contexts in state. */
static uint32_t contexts_in(const struct app *app, enum context_state state)
{
	uint32_t set = 0;

	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		if (app->contexts[c].state == state)
			set |= 1u << c;
	return set;
}

/* ------------------------------------------------------------------ */
/* Socket messages                                                     */

static int send_message(int sock, const struct tas_reg_msg *msg,
			const int *fds, unsigned fd_count)
{
	union {
		char buf[CMSG_SPACE(WELCOME_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd_count > 0) {
		hdr.msg_control = control.buf;
		hdr.msg_controllen = CMSG_SPACE(fd_count * sizeof(int));
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&hdr);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(fd_count * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, fd_count * sizeof(int));
	}
	/* A well-behaved app reads its replies; one whose socket buffer is
	 * full does not, and is disconnected rather than waited for. */
	ssize_t sent = sendmsg(sock, &hdr, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0)
		return -errno;
	return sent == sizeof(*msg) ? 0 : -EAGAIN;
}

static int send_error(int sock, int status)
{
	struct tas_reg_msg msg = {
		.type = TAS_REG_ERROR,
		.abi_version = TAS_SHM_ABI_VERSION,
		.status = status,
	};
	return send_message(sock, &msg, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Application life cycle                                              */

static void resume_accepting(void)
{
	if (!registry.accept_paused || registry.listen_fd < 0)
		return;
	if (sp_loop_add_fd(registry.listen_fd, on_listen_ready, NULL) == 0)
		registry.accept_paused = false;
}

static void free_fp_contexts(struct app_context *ctx)
{
	for (unsigned i = 0; i < TAS_MAX_FP_CORES; i++) {
		free(ctx->fp[i]);
		ctx->fp[i] = NULL;
	}
}

static void release_if_idle(struct app *app)
{
	if (!app->grace_over || app->region.slots_used > 0)
		return;
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		if (app->contexts[c].eventfd >= 0)
			close(app->contexts[c].eventfd);
	app_region_destroy(&app->region);
	registry.apps[app->id] = NULL;
	log_info("app %u (pid %d) released", app->id, (int)app->pid);
	free(app);
	resume_accepting();
}

/* Retirements of its contexts queued before ran already: sp_defer runs
 * in order. */
static void grace_over(struct service *svc, void *arg)
{
	struct app *app = arg;

	(void)svc;
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		free_fp_contexts(&app->contexts[c]);
	app->grace_over = true;
	release_if_idle(app);
}

/*
 * The last member went (or the service stops): let tcp reset the flows
 * and close the listeners, and stop the cores serving the contexts.
 * Never frees the app itself (callers may still hold it); that happens in
 * grace_over()/app_buffers_free().
 */
static void app_gone(struct app *app)
{
	/* Retiring ones too: their unpublishing may have failed. */
	uint32_t published = contexts_in(app, CONTEXT_LIVE) |
			     contexts_in(app, CONTEXT_RETIRING);

	app->state = APP_GONE;
	/* At shutdown tcp_shutdown_all has reset everything already. */
	if (!registry.stopping)
		tcp_app_gone(app->svc, app);
	if (published != 0 &&
	    !app_unpublish_contexts(app->svc, app->id, published)) {
		log_err("app %u: out of memory unpublishing its contexts; "
			"its region stays mapped", app->id);
		return;
	}
	if (sp_defer(app->svc, grace_over, app) != 0)
		log_err("app %u: out of memory; its region stays mapped",
			app->id);
}

struct retirement {
	struct app *app;
	uint32_t contexts;
};

/* No core reads the contexts any more.  The app is still there: its own
 * grace_over is queued after this, if at all. */
static void contexts_retired(struct service *svc, void *arg)
{
	struct retirement *retirement = arg;
	struct app *app = retirement->app;

	(void)svc;
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++) {
		struct app_context *ctx = &app->contexts[c];

		if (!(retirement->contexts & (1u << c)))
			continue;
		free_fp_contexts(ctx);
		close(ctx->eventfd);
		ctx->eventfd = -1;
		ctx->state = CONTEXT_RETIRED;
	}
	free(retirement);
}

/* A member went, the app lives on: its contexts go.  Their ids stay
 * unused until the cores cannot read them and tcp let go of their flows
 * (free_context_id). */
static void retire_contexts(struct app *app, uint32_t contexts)
{
	if (contexts == 0)
		return;
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		if (contexts & (1u << c))
			app->contexts[c].state = CONTEXT_RETIRING;
	if (!registry.stopping)
		tcp_app_contexts_gone(app->svc, app, contexts);
	if (!app_unpublish_contexts(app->svc, app->id, contexts)) {
		log_err("app %u: out of memory unpublishing contexts 0x%x; "
			"their ids stay in use", app->id, contexts);
		return;
	}
	struct retirement *retirement = malloc(sizeof(*retirement));
	if (retirement != NULL) {
		*retirement = (struct retirement){ .app = app,
						   .contexts = contexts };
		if (sp_defer(app->svc, contexts_retired, retirement) == 0)
			return;
		free(retirement);
	}
	log_err("app %u: out of memory retiring contexts 0x%x; their ids "
		"stay in use", app->id, contexts);
}

static void connection_link(struct app_member *member)
{
	member->prev = NULL;
	member->next = registry.connections;
	if (registry.connections != NULL)
		registry.connections->prev = member;
	registry.connections = member;
}

static void connection_unlink(struct app_member *member)
{
	if (member->prev != NULL)
		member->prev->next = member->next;
	else
		registry.connections = member->next;
	if (member->next != NULL)
		member->next->prev = member->prev;
}

/* Stop talking to the process and free its connection; what it had in
 * its app is the caller's business. */
static void connection_close(struct app_member *member)
{
	sp_loop_remove_fd(member->sock);
	close(member->sock);
	if (member->rx_fd >= 0)
		close(member->rx_fd);
	app_copies_free(&member->copies);
	app_copies_free(&member->keeping);
	connection_unlink(member);
	free(member);
	resume_accepting();
}

/* The member's copies go with it; tcp hears of them while the app lives
 * (with the app, or the service, every connection goes anyway). */
static void drop_copies(struct app *app, struct app_copies *copies)
{
	bool tell_tcp = app->state == APP_ACTIVE && !registry.stopping;

	for (uint32_t i = 0; tell_tcp && i < copies->count; i++)
		tcp_copies_drop(app, copies->refs[i].flow_id,
				copies->refs[i].flow_gen);
	app_copies_free(copies);
}

static unsigned take_commands(struct service *svc, struct app *app,
			      uint16_t ctx_id)
{
	struct app_context *ctx = &app->contexts[ctx_id];
	struct tas_app_cmd cmds[CMD_BURST];
	unsigned handled = 0;

	while (handled < CMD_QUOTA) {
		unsigned n = shm_ring_dequeue_burst(&ctx->sp_cmd, cmds, CMD_BURST);

		for (unsigned i = 0; i < n; i++)
			tcp_app_command(svc, app, ctx_id, &cmds[i]);
		handled += n;
		if (n < CMD_BURST)
			break;
	}
	return handled;
}

/* The slow-path commands the member's contexts have queued, now (its
 * rings stay mapped until its contexts retire).  A ring found corrupted
 * is the next poll's business. */
static void take_member_commands(struct app *app, uint32_t contexts)
{
	for (uint16_t c = 0; c < TAS_MAX_CONTEXTS; c++)
		if ((contexts & (1u << c)) && app->contexts[c].state == CONTEXT_LIVE)
			(void)take_commands(app->svc, app, c);
}

/*
 * The member is gone (or misbehaved): close its socket and free it; its
 * contexts go, and with the last member its app.  Callers must not touch
 * member afterwards.
 */
static void __attribute__((format(printf, 2, 3)))
member_disconnect(struct app_member *member, const char *why, ...)
{
	char reason[160];
	va_list args;
	struct app *app = member->app;

	va_start(args, why);
	vsnprintf(reason, sizeof(reason), why, args);
	va_end(args);
	if (app == NULL) {
		log_info("pid %d: %s; disconnecting", (int)member->pid, reason);
		connection_close(member);
		return;
	}
	/* What the process asked for before it went is done first: a
	 * CLOSE sent just before it exited closes in order. */
	if (!registry.stopping)
		take_member_commands(app, member->contexts);
	uint32_t contexts = app_members_remove(&app->members, member);
	struct app_copies copies = member->copies;

	member->copies = (struct app_copies){ 0 };
	log_info("app %u (pid %d): %s; disconnecting (contexts 0x%x, %u "
		 "members left)", app->id, (int)member->pid, reason, contexts,
		 app->members.count);
	connection_close(member);
	if (app->members.count == 0)
		app_gone(app);
	else
		retire_contexts(app, contexts);
	drop_copies(app, &copies);
}

/* Send member a reply; one it cannot take disconnects it.  false if it
 * was disconnected. */
static bool reply_or_disconnect(struct app_member *member,
				const struct tas_reg_msg *msg, const int *fds,
				unsigned fd_count, const char *what)
{
	int err = send_message(member->sock, msg, fds, fd_count);

	if (err != 0) {
		member_disconnect(member, "cannot send %s: %s", what,
				  strerror(-err));
		return false;
	}
	return true;
}

/* JOINED: a new member of app (a joining or a forked process). */
static struct tas_reg_msg joined_message(const struct service *svc,
					 const struct app *app)
{
	return (struct tas_reg_msg){
		.type = TAS_REG_JOINED,
		.abi_version = TAS_SHM_ABI_VERSION,
		.region_size = app->region.size,
		.num_fp_cores = fp_core_count(svc),
		.app_id = app->id,
	};
}

/* Refuse a request and hang up; false (for the message handlers). */
static bool reject(struct app_member *member, int status, const char *why)
{
	(void)send_error(member->sock, status);
	member_disconnect(member, "%s", why);
	return false;
}

static int free_app_id(void)
{
	for (unsigned id = 0; id < MAX_APPS; id++)
		if (registry.apps[id] == NULL)
			return (int)id;
	return -1;
}

/* ------------------------------------------------------------------ */
/* HELLO / WELCOME, JOIN / JOINED                                      */

/* A new application with founder as its first member; 0 or -errno. */
static int app_create(struct service *svc, uint16_t id,
		      struct app_member *founder)
{
	struct app *app = calloc(1, sizeof(*app));

	if (app == NULL)
		return -ENOMEM;
	int err = app_members_init(&app->members);
	if (err == 0)
		err = app_region_create(&app->region, &svc->cfg, id);
	if (err != 0) {
		free(app);
		return err;
	}
	app->svc = svc;
	app->id = id;
	app->state = APP_ACTIVE;
	app->pid = founder->pid;
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		app->contexts[c].eventfd = -1;
	(void)app_members_add(&app->members, founder); /* the first: room */
	founder->app = app;
	registry.apps[id] = app;
	return 0;
}

static bool handle_hello(struct service *svc, struct app_member *member)
{
	if (member->app != NULL)
		return reject(member, -EPROTO, "sent a second HELLO");
	int id = free_app_id();
	if (id < 0) {
		log_warn("refusing pid %d uid %u: %u applications registered",
			 (int)member->pid, (unsigned)member->uid, MAX_APPS);
		return reject(member, -EUSERS, "no application id free");
	}
	int err = app_create(svc, (uint16_t)id, member);
	if (err != 0)
		return reject(member, err, "no region for it");

	struct app *app = member->app;
	int fds[WELCOME_FDS];
	unsigned fd_count = 0;
	fds[fd_count++] = app->region.memfd;
	fds[fd_count++] = svc->sp_doorbell_fd;
	for (unsigned i = 0; i < fp_core_count(svc); i++)
		fds[fd_count++] = svc->cores[i].doorbell_fd;

	struct tas_reg_msg welcome = {
		.type = TAS_REG_WELCOME,
		.abi_version = TAS_SHM_ABI_VERSION,
		.region_size = app->region.size,
		.num_fp_cores = fp_core_count(svc),
		.app_id = app->id,
		.join_token = app->members.join_token,
	};
	log_info("app %u registered: pid %d uid %u", app->id, (int)member->pid,
		 (unsigned)member->uid);
	return reply_or_disconnect(member, &welcome, fds, fd_count, "WELCOME");
}

/* A process forked from a member: same application, same region (it has
 * the mapping and the doorbells already), a connection of its own. */
static bool handle_join(struct service *svc, struct app_member *member,
			const struct tas_reg_msg *msg)
{
	if (member->app != NULL)
		return reject(member, -EPROTO, "sent JOIN after registering");
	struct app *app = msg->app_id < MAX_APPS ? registry.apps[msg->app_id]
						 : NULL;
	if (app == NULL || app->state != APP_ACTIVE)
		return reject(member, -ESRCH,
			      "asked to join an application that is not there");
	if (!app_members_token_matches(&app->members, msg->join_token)) {
		log_warn("pid %d uid %u presented a wrong token for app %u",
			 (int)member->pid, (unsigned)member->uid, app->id);
		return reject(member, -EACCES, "wrong join token");
	}
	if (app_members_add(&app->members, member) != 0)
		return reject(member, -EUSERS, "its application is full");
	member->app = app;
	log_info("app %u: pid %d uid %u joined (%u members)", app->id,
		 (int)member->pid, (unsigned)member->uid, app->members.count);

	struct tas_reg_msg joined = joined_message(svc, app);
	return reply_or_disconnect(member, &joined, NULL, 0, "JOINED");
}

/* ------------------------------------------------------------------ */
/* FORK, CHILD, FORGET                                                 */

static void on_member_socket(struct service *svc, int fd, uint32_t events,
			     void *arg);

/* What the child's end must be: the kind of socket members talk on. */
static bool is_unix_stream(int fd)
{
	int domain, type;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
		return false;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return false;
	return domain == AF_UNIX && type == SOCK_STREAM;
}

/* A member of parent's application on sock, for parent's child: NULL
 * with *err set if there is none (sock is closed then). */
static struct app_member *child_member(struct app_member *parent, int sock,
				       int *err)
{
	struct app *app = parent->app;
	struct app_member *child = calloc(1, sizeof(*child));

	*err = -ENOMEM;
	if (child == NULL || fcntl(sock, F_SETFL, O_NONBLOCK) != 0)
		goto fail;
	/* Its own pid comes with CHILD. */
	*child = (struct app_member){ .sock = sock, .pid = parent->pid,
				      .uid = parent->uid, .app = app,
				      .rx_fd = -1, .naming_copies = true };
	*err = app_members_add(&app->members, child);
	if (*err != 0)
		goto fail;
	*err = sp_loop_add_fd(sock, on_member_socket, child);
	if (*err != 0) {
		app_members_remove(&app->members, child);
		goto fail;
	}
	connection_link(child);
	return child;
fail:
	close(sock);
	free(child);
	return NULL;
}

/* parent is about to fork: its child's end of a socket pair becomes a
 * member holding copies of parent's connections, and parent waits for
 * JOINED, so that the copies are those of the moment of the fork.  A
 * failure is answered with ERROR: the child then joins by itself later,
 * without copies. */
static bool handle_fork(struct service *svc, struct app_member *parent)
{
	struct app *app = parent->app;
	int sock = parent->rx_fd;
	int err = -EINVAL;

	parent->rx_fd = -1;
	if (app == NULL) {
		if (sock >= 0)
			close(sock);
		return reject(parent, -EPROTO, "sent FORK before HELLO or JOIN");
	}
	struct app_member *child = NULL;
	if (sock >= 0 && is_unix_stream(sock))
		child = child_member(parent, sock, &err);
	else if (sock >= 0)
		close(sock);
	if (child == NULL) {
		log_warn("app %u (pid %d): no member for its child: %s", app->id,
			 (int)parent->pid, strerror(-err));
		if (send_error(parent->sock, err) == 0)
			return true;
		member_disconnect(parent, "does not read its socket");
		return false;
	}
	/* What the parent queued before it forked (a CLOSE, a SHUTDOWN) is
	 * its own doing: before the child's copies and commands. */
	take_member_commands(app, parent->contexts);
	tcp_copies_fork(app, parent->contexts, &parent->copies, &child->copies);
	log_info("app %u: pid %d forks (%u members)", app->id,
		 (int)parent->pid, app->members.count);

	struct tas_reg_msg joined = joined_message(svc, app);
	return reply_or_disconnect(parent, &joined, NULL, 0, "JOINED");
}

/* A forked child names a copy it keeps: its parent knew the connection
 * and had not closed it. */
static bool handle_keep(struct app_member *member,
			const struct tas_reg_msg *msg)
{
	if (!member->naming_copies)
		return reject(member, -EPROTO, "sent KEEP, not being forked");
	/* Without room the copy goes at CHILD: the connection may close
	 * before this process uses it, which is what it is told then. */
	(void)app_copies_add(&member->keeping, msg->flow_id, msg->flow_gen);
	return true;
}

/* A forked child names itself, after the copies it keeps: the others go
 * (connections its parent had not been told of yet, or had closed). */
static bool handle_child(struct app_member *member,
			 const struct tas_reg_msg *msg)
{
	struct app *app = member->app;
	struct app_copies dropped = { 0 };

	if (!member->naming_copies)
		return reject(member, -EPROTO, "sent CHILD, not being forked");
	member->naming_copies = false;
	if (app_copies_retain(&member->copies, &member->keeping, &dropped) != 0)
		log_warn("app %u: out of memory; some copies of connections "
			 "stay with pid %d", app->id, (int)msg->pid);
	app_copies_free(&member->keeping);
	for (uint32_t i = 0; i < dropped.count; i++)
		tcp_copies_drop(app, dropped.refs[i].flow_id,
				dropped.refs[i].flow_gen);
	app_copies_free(&dropped);

	pid_t parent = member->pid;
	if (msg->pid > 0)
		member->pid = msg->pid;
	log_info("app %u: pid %d uid %u joined (%u members; forked from pid "
		 "%d, %u copies of connections)", app->id, (int)member->pid,
		 (unsigned)member->uid, app->members.count, (int)parent,
		 member->copies.count);
	return true;
}

/* The process closed its copy of a connection it never adopted. */
static bool handle_forget(struct app_member *member,
			  const struct tas_reg_msg *msg)
{
	if (member->app == NULL)
		return reject(member, -EPROTO, "sent FORGET before joining");
	if (app_copies_remove(&member->copies, msg->flow_id, msg->flow_gen))
		tcp_copies_drop(member->app, msg->flow_id, msg->flow_gen);
	return true;
}

bool app_copy_take(struct app *app, uint16_t ctx_id, uint32_t flow_id,
		   uint32_t flow_gen)
{
	struct app_member *owner = app_members_owner(&app->members, ctx_id);

	return owner != NULL &&
	       app_copies_remove(&owner->copies, flow_id, flow_gen);
}

/* ------------------------------------------------------------------ */
/* NEW_CONTEXT / CONTEXT                                               */

static int free_context_id(const struct app *app)
{
	for (unsigned id = 0; id < TAS_MAX_CONTEXTS; id++)
		if (app->contexts[id].state == CONTEXT_FREE)
			return (int)id;
	/* A retired id would hand the new context events of its old flows. */
	for (unsigned id = 0; id < TAS_MAX_CONTEXTS; id++)
		if (app->contexts[id].state == CONTEXT_RETIRED &&
		    !tcp_app_context_busy(app, (uint16_t)id))
			return (int)id;
	return -1;
}

static int create_fp_contexts(struct app *app, uint16_t ctx_id,
			      const struct shm_ring cmd[],
			      const struct shm_ring event[])
{
	struct app_context *ctx = &app->contexts[ctx_id];
	size_t size = (sizeof(struct fp_context) + 63) & ~(size_t)63;

	for (unsigned i = 0; i < fp_core_count(app->svc); i++) {
		struct fp_context *fp = aligned_alloc(64, size);
		if (fp == NULL)
			return -ENOMEM;
		*fp = (struct fp_context){
			.cmd = cmd[i],
			.event = event[i],
			.shm = ctx->shm,
			.doorbell_fd = ctx->eventfd,
			.app_id = app->id,
			.ctx_id = ctx_id,
		};
		ctx->fp[i] = fp;
	}
	return 0;
}

/* A new context of owner, published to every core; its id or -errno. */
static int create_context(struct app *app, struct app_member *owner)
{
	struct shm_ring cmd[TAS_RINGS_PER_DIRECTION];
	struct shm_ring event[TAS_RINGS_PER_DIRECTION];
	int ctx_id = free_context_id(app);

	if (ctx_id < 0)
		return -ENOSPC;

	struct app_context *ctx = &app->contexts[ctx_id];
	ctx->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ctx->eventfd < 0)
		return -errno;
	ctx->shm = app_region_context(&app->region, (uint16_t)ctx_id);

	int err = app_region_context_setup(&app->region, (uint16_t)ctx_id, cmd,
					   event);
	if (err == 0)
		err = create_fp_contexts(app, (uint16_t)ctx_id, cmd, event);
	if (err == 0)
		err = app_publish_context(app->svc, ctx->fp);
	if (err != 0) {
		free_fp_contexts(ctx);
		__atomic_store_n(&ctx->shm->in_use, 0, __ATOMIC_RELAXED);
		close(ctx->eventfd);
		ctx->eventfd = -1;
		ctx->state = CONTEXT_FREE;
		return err;
	}
	ctx->sp_cmd = cmd[TAS_RING_SLOWPATH];
	ctx->sp_event = event[TAS_RING_SLOWPATH];
	ctx->broken = false;
	ctx->state = CONTEXT_LIVE;
	app_member_take_context(owner, (uint16_t)ctx_id);
	return ctx_id;
}

static bool handle_new_context(struct app_member *member)
{
	struct app *app = member->app;

	if (app == NULL)
		return reject(member, -EPROTO,
			      "asked for a context before HELLO or JOIN");

	int ctx_id = create_context(app, member);
	if (ctx_id < 0) {
		/* Running out of context ids is the app's business. */
		if (ctx_id != -ENOSPC)
			log_warn("app %u: cannot create a context: %s", app->id,
				 strerror(-ctx_id));
		if (send_error(member->sock, ctx_id) == 0)
			return true;
		member_disconnect(member, "does not read its socket");
		return false;
	}

	struct tas_reg_msg reply = {
		.type = TAS_REG_CONTEXT,
		.abi_version = TAS_SHM_ABI_VERSION,
		.ctx_id = (uint32_t)ctx_id,
	};
	return reply_or_disconnect(member, &reply, &app->contexts[ctx_id].eventfd,
				   1, "CONTEXT");
}

/* ------------------------------------------------------------------ */
/* Socket events                                                       */

/* false if the member was disconnected. */
static bool handle_message(struct service *svc, struct app_member *member,
			   const struct tas_reg_msg *msg)
{
	switch (msg->type) {
	case TAS_REG_HELLO:
		return handle_hello(svc, member);
	case TAS_REG_JOIN:
		return handle_join(svc, member, msg);
	case TAS_REG_NEW_CONTEXT:
		return handle_new_context(member);
	case TAS_REG_FORK:
		return handle_fork(svc, member);
	case TAS_REG_KEEP:
		return handle_keep(member, msg);
	case TAS_REG_CHILD:
		return handle_child(member, msg);
	case TAS_REG_FORGET:
		return handle_forget(member, msg);
	default:
		return reject(member, -EPROTO, "sent an unknown message");
	}
}

/* abi_version has the same place in every version's messages: a peer
 * speaking another is told so even if its messages differ in size. */
static bool abi_version_known(struct app_member *member)
{
	if (member->rx_len < ABI_VERSION_END ||
	    member->rx_msg.abi_version == TAS_SHM_ABI_VERSION)
		return true;
	log_warn("pid %d speaks shm ABI %u, this tas %u", (int)member->pid,
		 member->rx_msg.abi_version, TAS_SHM_ABI_VERSION);
	return reject(member, -EPROTONOSUPPORT, "wrong ABI version");
}

/* Keep the first descriptor that came with the message being received
 * (FORK's socket); any other is closed. */
static void take_descriptors(struct app_member *member, struct msghdr *hdr)
{
	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(hdr); cmsg != NULL;
	     cmsg = CMSG_NXTHDR(hdr, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned n = (unsigned)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
			if (member->rx_fd < 0)
				member->rx_fd = fd;
			else
				close(fd);
		}
	}
}

static ssize_t receive_part(struct app_member *member, int fd)
{
	union {
		char buf[CMSG_SPACE(WELCOME_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {
		.iov_base = (uint8_t *)&member->rx_msg + member->rx_len,
		.iov_len = sizeof(member->rx_msg) - member->rx_len,
	};
	struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(fd, &hdr, MSG_CMSG_CLOEXEC);

	if (n > 0)
		take_descriptors(member, &hdr);
	return n;
}

static void on_member_socket(struct service *svc, int fd, uint32_t events,
			     void *arg)
{
	struct app_member *member = arg;

	(void)events; /* HUP and errors show up as recv() results */
	for (;;) {
		ssize_t n = receive_part(member, fd);

		if (n > 0) {
			member->rx_len += (size_t)n;
			if (!abi_version_known(member))
				return;
			if (member->rx_len == sizeof(member->rx_msg)) {
				member->rx_len = 0;
				/* Only FORK comes with a descriptor. */
				if (member->rx_msg.type != TAS_REG_FORK &&
				    member->rx_fd >= 0) {
					close(member->rx_fd);
					member->rx_fd = -1;
				}
				if (!handle_message(svc, member, &member->rx_msg))
					return;
			}
		} else if (n == 0) {
			member_disconnect(member, "closed its socket");
			return;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else if (errno != EINTR) {
			member_disconnect(member, "socket error: %s",
					  strerror(errno));
			return;
		}
	}
}

static bool uid_allowed(const struct service_config *cfg, uid_t uid)
{
	if (uid == 0 || cfg->allowed_uid_count == 0)
		return true;
	for (unsigned i = 0; i < cfg->allowed_uid_count; i++)
		if (cfg->allowed_uids[i] == uid)
			return true;
	return false;
}

static void accept_connection(struct service *svc, int sock)
{
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) {
		log_warn("registration socket: no peer credentials: %s",
			 strerror(errno));
		close(sock);
		return;
	}
	if (!uid_allowed(&svc->cfg, cred.uid)) {
		log_warn("refusing pid %d: uid %u is not allowed (--allow-uid)",
			 (int)cred.pid, (unsigned)cred.uid);
		(void)send_error(sock, -EPERM);
		close(sock);
		return;
	}

	struct app_member *member = calloc(1, sizeof(*member));
	if (member == NULL) {
		(void)send_error(sock, -ENOMEM);
		close(sock);
		return;
	}
	member->sock = sock;
	member->pid = cred.pid;
	member->uid = cred.uid;
	member->rx_fd = -1;
	if (sp_loop_add_fd(sock, on_member_socket, member) != 0) {
		log_warn("cannot watch the socket of pid %d", (int)cred.pid);
		close(sock);
		free(member);
		return;
	}
	connection_link(member);
	log_info("pid %d uid %u gid %u connected", (int)cred.pid,
		 (unsigned)cred.uid, (unsigned)cred.gid);
}

static void on_listen_ready(struct service *svc, int fd, uint32_t events,
			    void *arg)
{
	(void)events;
	(void)arg;
	for (;;) {
		int sock = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (sock >= 0) {
			accept_connection(svc, sock);
		} else if (errno == EMFILE || errno == ENFILE) {
			/* The listening socket stays readable: stop watching
			 * it until a process releases its descriptors. */
			log_warn("out of file descriptors; not accepting "
				 "applications for now");
			sp_loop_remove_fd(fd);
			registry.accept_paused = true;
			return;
		} else if (errno != EINTR && errno != ECONNABORTED) {
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */

int app_registry_init(struct service *svc)
{
	const char *path = svc->cfg.socket_path != NULL ? svc->cfg.socket_path
							: TAS_DEFAULT_SOCKET_PATH;

	registry.stopping = false;
	int err = app_region_check_config(&svc->cfg);
	if (err != 0)
		return err;
	int fd = app_socket_listen(path);
	if (fd < 0)
		return fd;
	err = sp_loop_add_fd(fd, on_listen_ready, NULL);
	if (err != 0) {
		close(fd);
		unlink(path);
		return err;
	}
	registry.listen_fd = fd;
	snprintf(registry.path, sizeof(registry.path), "%s", path);
	log_info("applications register at %s", path);
	return 0;
}

void app_registry_fini(struct service *svc)
{
	registry.stopping = true;
	if (registry.listen_fd >= 0) {
		if (!registry.accept_paused)
			sp_loop_remove_fd(registry.listen_fd);
		close(registry.listen_fd);
		unlink(registry.path);
		registry.listen_fd = -1;
	}
	while (registry.connections != NULL)
		member_disconnect(registry.connections, "service stopping");
	sp_defer_drain(svc);
	/* The cores have stopped: flows tcp did not get to remove no longer
	 * touch the regions. */
	for (unsigned id = 0; id < MAX_APPS; id++) {
		struct app *app = registry.apps[id];
		if (app == NULL)
			continue;
		for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
			free_fp_contexts(&app->contexts[c]);
		app->grace_over = true;
		app->region.slots_used = 0;
		release_if_idle(app);
	}
	app_publish_fini(svc);
}

/* ------------------------------------------------------------------ */
/* Slow-path rings                                                     */

/* The member a broken context belongs to goes: the context was its. */
static void __attribute__((format(printf, 3, 4)))
context_owner_disconnect(struct app *app, uint16_t ctx_id, const char *why,
			 ...)
{
	struct app_member *owner = app_members_owner(&app->members, ctx_id);
	char reason[160];
	va_list args;

	va_start(args, why);
	vsnprintf(reason, sizeof(reason), why, args);
	va_end(args);
	/* Every live context has an owner; if not, nobody can use it. */
	if (owner != NULL)
		member_disconnect(owner, "%s", reason);
	else
		retire_contexts(app, 1u << ctx_id);
}

/* Hand one context's slow-path commands to tcp; true if its quota ran out
 * with commands left. */
static bool drain_commands(struct service *svc, struct app *app,
			   uint16_t ctx_id)
{
	struct app_context *ctx = &app->contexts[ctx_id];
	unsigned handled = take_commands(svc, app, ctx_id);

	if (ctx->sp_cmd.corrupt) {
		context_owner_disconnect(app, ctx_id,
					 "corrupted the command ring of context %u",
					 ctx_id);
		return false;
	}
	return handled >= CMD_QUOTA;
}

void app_registry_poll(struct service *svc)
{
	bool more_work = false;

	for (unsigned id = 0; id < MAX_APPS; id++) {
		struct app *app = registry.apps[id];

		for (uint16_t c = 0; c < TAS_MAX_CONTEXTS; c++) {
			if (app == NULL || app->state != APP_ACTIVE)
				break;
			if (app->contexts[c].state != CONTEXT_LIVE)
				continue;
			if (app->contexts[c].broken)
				context_owner_disconnect(
					app, c, "corrupted the event ring of "
					"context %u", c);
			else
				more_work |= drain_commands(svc, app, c);
		}
	}
	if (more_work)
		kick_eventfd(svc->sp_doorbell_fd);
}

/*
 * -ENOBUFS when the ring is full: the application is not draining its
 * events.  The caller decides whether to retry later or give up on the
 * flow; nothing is queued here.
 */
int app_send_event(struct app *app, uint16_t ctx_id,
		   const struct tas_app_event *ev)
{
	if (!app_context_valid(app, ctx_id))
		return -ENOENT;

	struct app_context *ctx = &app->contexts[ctx_id];
	if (shm_ring_enqueue_burst(&ctx->sp_event, ev, 1) == 0) {
		if (!ctx->sp_event.corrupt)
			return -ENOBUFS;
		/* Callers are in the middle of tcp work: disconnect from the
		 * next poll rather than re-entering tcp now. */
		ctx->broken = true;
		kick_eventfd(app->svc->sp_doorbell_fd);
		return -ENOENT;
	}
	/* Pairs with the application's fence between setting app_sleeping
	 * and re-checking its rings. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ctx->shm->app_sleeping, __ATOMIC_RELAXED) != 0)
		kick_eventfd(ctx->eventfd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Queries and buffers                                                 */

struct app *app_by_id(struct service *svc, uint16_t id)
{
	(void)svc;
	return id < MAX_APPS ? registry.apps[id] : NULL;
}

uint16_t app_id(const struct app *app)
{
	return app->id;
}

uint8_t *app_region_base(const struct app *app)
{
	return app->region.base;
}

bool app_context_valid(const struct app *app, uint16_t ctx_id)
{
	return app->state == APP_ACTIVE && ctx_id < TAS_MAX_CONTEXTS &&
	       app->contexts[ctx_id].state == CONTEXT_LIVE &&
	       !app->contexts[ctx_id].broken;
}

int app_buffers_alloc(struct app *app, uint64_t *rx_offset,
		      uint64_t *tx_offset)
{
	if (app->state != APP_ACTIVE)
		return -ENOMEM;
	return app_region_slot_alloc(&app->region, rx_offset, tx_offset);
}

void app_buffers_free(struct app *app, uint64_t rx_offset)
{
	if (app_region_slot_free(&app->region, rx_offset) != 0) {
		log_err("app %u: freeing buffer offset %llu that is not "
			"allocated", app->id, (unsigned long long)rx_offset);
		return;
	}
	if (app->state == APP_GONE)
		release_if_idle(app);
}
