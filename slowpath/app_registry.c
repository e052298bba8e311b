/*
 * Registered applications (app_registry.h): the registration socket and
 * its protocol (include/tas/shm_abi.h), the applications' contexts and
 * their publication to the fast-path cores, the slow-path command and
 * event rings, and the clean-up of applications that go away.
 *
 * The socket file has mode 0666: any local user may register, unless
 * --allow-uid names the users who may (root always may).  Opening it to
 * everyone is safe because an application reaches only its own region and
 * everything the service reads from it is validated; every peer's pid and
 * uid (SO_PEERCRED) are logged.
 *
 * Life of an application:
 *   CONNECTED  socket accepted, app id assigned, waiting for HELLO
 *   ACTIVE     region mapped (WELCOME sent), contexts may be created
 *   GONE       EOF or error on the socket, a protocol violation or a
 *              corrupted ring: tcp_app_gone(), contexts unpublished.  The
 *              app is freed once a grace period has passed (no core still
 *              reads its rings) and tcp has returned its last buffer slot
 *              (no flow still uses its memory).
 * Until it is freed, app_by_id() still finds a GONE app, so tcp can
 * return its buffers; it has no valid contexts any more.
 */
#include "app_registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "app_region.h"
#include "fastpath.h"
#include "log.h"
#include "quiesce.h"
#include "sp_loop.h"
#include "tcp.h"

#define LISTEN_BACKLOG 64
#define CMD_BURST 32u
/* Commands taken from one context per poll, so one busy application
 * cannot monopolise the slow path. */
#define CMD_QUOTA TAS_CMD_RING_SIZE
#define WELCOME_FDS (2u + TAS_MAX_FP_CORES)

enum app_state { APP_CONNECTED, APP_ACTIVE, APP_GONE };

struct app_context {
	bool in_use;
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
	int sock;
	pid_t pid;
	uid_t uid;
	struct tas_reg_msg rx_msg; /* message being received */
	size_t rx_len;
	struct app_region region;
	bool broken;               /* corrupted ring seen outside the poll */
	bool grace_over;
	struct app_context contexts[TAS_MAX_CONTEXTS];
};

static struct {
	int listen_fd;
	bool accept_paused;        /* out of file descriptors */
	bool stopping;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct app *apps[MAX_APPS];
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

/* ------------------------------------------------------------------ */
/* Deferred frees and context lists                                    */

static void free_deferred(struct service *svc, void *arg)
{
	(void)svc;
	free(arg);
}

/* Free memory the fast-path cores may still read, after a grace period. */
static void free_after_grace(struct service *svc, void *ptr)
{
	if (ptr != NULL && sp_defer(svc, free_deferred, ptr) != 0)
		log_err("out of memory: leaking %p that fast-path cores may read",
			ptr);
}

static struct fp_context_list *list_with(const struct fp_context_list *old,
					 struct fp_context *added)
{
	uint32_t count = old != NULL ? old->count : 0;
	struct fp_context_list *list =
		malloc(sizeof(*list) + (count + 1) * sizeof(list->ctx[0]));

	if (list == NULL)
		return NULL;
	for (uint32_t i = 0; i < count; i++)
		list->ctx[i] = old->ctx[i];
	list->ctx[count] = added;
	list->count = count + 1;
	return list;
}

/* The list without the contexts of app_id; *out = NULL when it becomes
 * empty.  false on ENOMEM. */
static bool list_without_app(const struct fp_context_list *old,
			     uint16_t app_id, struct fp_context_list **out)
{
	uint32_t kept = 0;
	uint32_t count = old != NULL ? old->count : 0;

	for (uint32_t i = 0; i < count; i++)
		kept += old->ctx[i]->app_id != app_id;
	*out = NULL;
	if (kept == 0)
		return true;

	struct fp_context_list *list =
		malloc(sizeof(*list) + kept * sizeof(list->ctx[0]));
	if (list == NULL)
		return false;
	list->count = 0;
	for (uint32_t i = 0; i < count; i++)
		if (old->ctx[i]->app_id != app_id)
			list->ctx[list->count++] = old->ctx[i];
	*out = list;
	return true;
}

/* Install new lists on every core (each complete before its release
 * store) and wake sleeping cores so that they serve the new set. */
static void replace_context_lists(struct service *svc,
				  struct fp_context_list *lists[])
{
	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		struct fp_core *core = &svc->cores[i];
		struct fp_context_list *old = core->contexts;

		__atomic_store_n(&core->contexts, lists[i], __ATOMIC_RELEASE);
		free_after_grace(svc, old);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < fp_core_count(svc); i++)
		fp_kick(&svc->cores[i]);
}

static int publish_context(struct service *svc, struct app_context *ctx)
{
	struct fp_context_list *lists[TAS_MAX_FP_CORES];

	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		lists[i] = list_with(svc->cores[i].contexts, ctx->fp[i]);
		if (lists[i] == NULL) {
			while (i-- > 0)
				free(lists[i]);
			return -ENOMEM;
		}
	}
	replace_context_lists(svc, lists);
	return 0;
}

static bool has_contexts(const struct app *app)
{
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		if (app->contexts[c].in_use)
			return true;
	return false;
}

static bool unpublish_app(struct service *svc, const struct app *app)
{
	struct fp_context_list *lists[TAS_MAX_FP_CORES];

	if (!has_contexts(app))
		return true;

	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		if (!list_without_app(svc->cores[i].contexts, app->id,
				      &lists[i])) {
			while (i-- > 0)
				free(lists[i]);
			return false;
		}
	}
	replace_context_lists(svc, lists);
	return true;
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

static void free_fp_contexts(struct app *app)
{
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		for (unsigned i = 0; i < TAS_MAX_FP_CORES; i++) {
			free(app->contexts[c].fp[i]);
			app->contexts[c].fp[i] = NULL;
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

static void grace_over(struct service *svc, void *arg)
{
	struct app *app = arg;

	(void)svc;
	free_fp_contexts(app);
	app->grace_over = true;
	release_if_idle(app);
}

/*
 * The app is gone (or misbehaved): stop talking to it, let tcp reset its
 * flows and close its listeners, and stop the cores serving its contexts.
 * Never frees the app itself (callers may still hold it); that happens in
 * grace_over()/app_buffers_free().
 */
static void __attribute__((format(printf, 2, 3)))
app_disconnect(struct app *app, const char *why, ...)
{
	char reason[160];
	va_list args;

	if (app->state == APP_GONE)
		return;
	va_start(args, why);
	vsnprintf(reason, sizeof(reason), why, args);
	va_end(args);
	log_info("app %u (pid %d): %s; disconnecting", app->id, (int)app->pid,
		 reason);

	bool was_active = app->state == APP_ACTIVE;
	app->state = APP_GONE;
	sp_loop_remove_fd(app->sock);
	close(app->sock);
	app->sock = -1;
	/* At shutdown tcp_shutdown_all has reset everything already. */
	if (was_active && !registry.stopping)
		tcp_app_gone(app->svc, app);
	if (!unpublish_app(app->svc, app)) {
		log_err("app %u: out of memory unpublishing its contexts; "
			"its region stays mapped", app->id);
		return;
	}
	if (sp_defer(app->svc, grace_over, app) != 0)
		log_err("app %u: out of memory; its region stays mapped",
			app->id);
}

static int free_app_id(void)
{
	for (unsigned id = 0; id < MAX_APPS; id++)
		if (registry.apps[id] == NULL)
			return (int)id;
	return -1;
}

/* ------------------------------------------------------------------ */
/* HELLO / WELCOME                                                     */

static void reject(struct app *app, int status, const char *why)
{
	(void)send_error(app->sock, status);
	app_disconnect(app, "%s", why);
}

static void handle_hello(struct app *app, const struct tas_reg_msg *msg)
{
	struct service *svc = app->svc;

	if (app->state != APP_CONNECTED) {
		reject(app, -EPROTO, "sent a second HELLO");
		return;
	}
	if (msg->abi_version != TAS_SHM_ABI_VERSION) {
		log_warn("app %u (pid %d) speaks shm ABI %u, this tas %u",
			 app->id, (int)app->pid, msg->abi_version,
			 TAS_SHM_ABI_VERSION);
		reject(app, -EPROTONOSUPPORT, "wrong ABI version");
		return;
	}
	int err = app_region_create(&app->region, &svc->cfg, app->id);
	if (err != 0) {
		reject(app, err, "no region for it");
		return;
	}
	app->state = APP_ACTIVE;

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
	};
	err = send_message(app->sock, &welcome, fds, fd_count);
	if (err != 0)
		app_disconnect(app, "cannot send WELCOME: %s", strerror(-err));
}

/* ------------------------------------------------------------------ */
/* NEW_CONTEXT / CONTEXT                                               */

static int free_context_id(const struct app *app)
{
	for (unsigned id = 0; id < TAS_MAX_CONTEXTS; id++)
		if (!app->contexts[id].in_use)
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

/* A new context, published to every core; its id or -errno. */
static int create_context(struct app *app)
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
		err = publish_context(app->svc, ctx);
	if (err != 0) {
		for (unsigned i = 0; i < TAS_MAX_FP_CORES; i++) {
			free(ctx->fp[i]);
			ctx->fp[i] = NULL;
		}
		__atomic_store_n(&ctx->shm->in_use, 0, __ATOMIC_RELAXED);
		close(ctx->eventfd);
		ctx->eventfd = -1;
		return err;
	}
	ctx->sp_cmd = cmd[TAS_RING_SLOWPATH];
	ctx->sp_event = event[TAS_RING_SLOWPATH];
	ctx->in_use = true;
	return ctx_id;
}

static void handle_new_context(struct app *app)
{
	if (app->state != APP_ACTIVE) {
		reject(app, -EPROTO, "asked for a context before HELLO");
		return;
	}

	int ctx_id = create_context(app);
	if (ctx_id < 0) {
		/* Running out of context ids is the app's business. */
		if (ctx_id != -ENOSPC)
			log_warn("app %u: cannot create a context: %s", app->id,
				 strerror(-ctx_id));
		if (send_error(app->sock, ctx_id) != 0)
			app_disconnect(app, "does not read its socket");
		return;
	}

	struct tas_reg_msg reply = {
		.type = TAS_REG_CONTEXT,
		.abi_version = TAS_SHM_ABI_VERSION,
		.ctx_id = (uint32_t)ctx_id,
	};
	int err = send_message(app->sock, &reply,
			       &app->contexts[ctx_id].eventfd, 1);
	if (err != 0)
		app_disconnect(app, "cannot send CONTEXT: %s", strerror(-err));
}

/* ------------------------------------------------------------------ */
/* Socket events                                                       */

static void handle_message(struct app *app, const struct tas_reg_msg *msg)
{
	switch (msg->type) {
	case TAS_REG_HELLO:
		handle_hello(app, msg);
		break;
	case TAS_REG_NEW_CONTEXT:
		handle_new_context(app);
		break;
	default:
		reject(app, -EPROTO, "sent an unknown message");
		break;
	}
}

static void on_app_socket(struct service *svc, int fd, uint32_t events,
			  void *arg)
{
	struct app *app = arg;

	(void)svc;
	(void)events; /* HUP and errors show up as recv() results */
	while (app->state != APP_GONE) {
		uint8_t *into = (uint8_t *)&app->rx_msg + app->rx_len;
		ssize_t n = recv(fd, into, sizeof(app->rx_msg) - app->rx_len, 0);

		if (n > 0) {
			app->rx_len += (size_t)n;
			if (app->rx_len == sizeof(app->rx_msg)) {
				app->rx_len = 0;
				handle_message(app, &app->rx_msg);
			}
		} else if (n == 0) {
			app_disconnect(app, "closed its socket");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			app_disconnect(app, "socket error: %s", strerror(errno));
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

static void accept_app(struct service *svc, int sock)
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
	int id = free_app_id();
	if (id < 0) {
		log_warn("refusing pid %d uid %u: %u applications registered",
			 (int)cred.pid, (unsigned)cred.uid, MAX_APPS);
		(void)send_error(sock, -EUSERS);
		close(sock);
		return;
	}

	struct app *app = calloc(1, sizeof(*app));
	if (app == NULL) {
		(void)send_error(sock, -ENOMEM);
		close(sock);
		return;
	}
	app->svc = svc;
	app->id = (uint16_t)id;
	app->state = APP_CONNECTED;
	app->sock = sock;
	app->pid = cred.pid;
	app->uid = cred.uid;
	app->region.memfd = -1;
	for (unsigned c = 0; c < TAS_MAX_CONTEXTS; c++)
		app->contexts[c].eventfd = -1;
	if (sp_loop_add_fd(sock, on_app_socket, app) != 0) {
		log_warn("cannot watch the socket of pid %d", (int)cred.pid);
		close(sock);
		free(app);
		return;
	}
	registry.apps[id] = app;
	log_info("app %u connected: pid %d uid %u gid %u", app->id,
		 (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
}

static void on_listen_ready(struct service *svc, int fd, uint32_t events,
			    void *arg)
{
	(void)events;
	(void)arg;
	for (;;) {
		int sock = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (sock >= 0) {
			accept_app(svc, sock);
		} else if (errno == EMFILE || errno == ENFILE) {
			/* The listening socket stays readable: stop watching
			 * it until an application releases its descriptors. */
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
/* The listening socket                                                */

static int make_parent_dirs(const char *path)
{
	char dir[sizeof(registry.path)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *slash = strchr(dir + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	return 0;
}

static bool someone_listens(const struct sockaddr_un *addr)
{
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool listening;

	if (probe < 0)
		return false;
	listening = connect(probe, (const struct sockaddr *)addr,
			    sizeof(*addr)) == 0;
	close(probe);
	return listening;
}

/* Make addr bindable: parent directories exist, no stale socket. */
static int prepare_socket_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int err = make_parent_dirs(addr->sun_path);

	if (err != 0) {
		log_err("cannot create the directory of %s: %s", addr->sun_path,
			strerror(-err));
		return err;
	}
	if (lstat(addr->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket", addr->sun_path);
		return -EEXIST;
	}
	if (someone_listens(addr)) {
		log_err("another tas is already listening on %s", addr->sun_path);
		return -EADDRINUSE;
	}
	log_info("removing stale socket %s", addr->sun_path);
	if (unlink(addr->sun_path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int open_listen_socket(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    chmod(addr->sun_path, 0666) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		int err = -errno;
		log_err("cannot listen on %s: %s", addr->sun_path, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int app_registry_init(struct service *svc)
{
	const char *path = svc->cfg.socket_path != NULL ? svc->cfg.socket_path
							: TAS_DEFAULT_SOCKET_PATH;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	registry.stopping = false;
	int err = app_region_check_config(&svc->cfg);
	if (err != 0)
		return err;
	if (path[0] == '\0' || strlen(path) >= sizeof(addr.sun_path)) {
		log_err("socket path '%s' is empty or too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	err = prepare_socket_path(&addr);
	if (err != 0)
		return err;

	int fd = open_listen_socket(&addr);
	if (fd < 0)
		return fd;
	err = sp_loop_add_fd(fd, on_listen_ready, NULL);
	if (err != 0) {
		close(fd);
		unlink(addr.sun_path);
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
	for (unsigned id = 0; id < MAX_APPS; id++)
		if (registry.apps[id] != NULL)
			app_disconnect(registry.apps[id], "service stopping");
	sp_defer_drain(svc);
	/* The cores have stopped: flows tcp did not get to remove no longer
	 * touch the regions. */
	for (unsigned id = 0; id < MAX_APPS; id++) {
		struct app *app = registry.apps[id];
		if (app == NULL)
			continue;
		free_fp_contexts(app);
		app->grace_over = true;
		app->region.slots_used = 0;
		release_if_idle(app);
	}
	for (unsigned i = 0; i < fp_core_count(svc); i++) {
		free(svc->cores[i].contexts);
		svc->cores[i].contexts = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Slow-path rings                                                     */

/* Hand one context's slow-path commands to tcp; true if its quota ran out
 * with commands left. */
static bool drain_commands(struct service *svc, struct app *app,
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
	if (ctx->sp_cmd.corrupt) {
		app_disconnect(app, "corrupted the command ring of context %u",
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

		if (app == NULL || app->state != APP_ACTIVE)
			continue;
		if (app->broken) {
			app_disconnect(app, "corrupted an event ring");
			continue;
		}
		for (uint16_t c = 0; c < TAS_MAX_CONTEXTS; c++) {
			if (!app->contexts[c].in_use)
				continue;
			more_work |= drain_commands(svc, app, c);
			if (app->state != APP_ACTIVE)
				break;
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
		app->broken = true;
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
	return app->state == APP_ACTIVE && !app->broken &&
	       ctx_id < TAS_MAX_CONTEXTS && app->contexts[ctx_id].in_use;
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
