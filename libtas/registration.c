/*
 * Registration with the tas service over its Unix socket (shm_abi.h):
 * HELLO / WELCOME with the region memfd and the doorbells, the mapping and
 * checking of the region, FORK / JOINED before a fork (KEEP, CHILD and
 * FORGET in the child after it), JOIN / JOINED in a forked child that is
 * no member yet, NEW_CONTEXT / CONTEXT, and tas_fini.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tas_internal.h"

/* A service that does not answer within this time is considered dead. */
#define REPLY_TIMEOUT_S 10
#define WELCOME_FDS (2u + TAS_MAX_FP_CORES)

struct tas_registration registration = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sock = -1,
	.child_sock = -1,
};

static void close_fds(const int *fds, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		close(fds[i]);
}

/* One message, with descriptor fd unless it is -1. */
static int send_request_with(int sock, struct tas_reg_msg msg, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1 };

	msg.abi_version = TAS_SHM_ABI_VERSION;
	if (fd >= 0) {
		hdr.msg_control = control.buf;
		hdr.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&hdr);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	ssize_t sent = sendmsg(sock, &hdr, MSG_NOSIGNAL);
	if (sent < 0)
		return -errno;
	return sent == sizeof(msg) ? 0 : -EPIPE;
}

static int send_request(int sock, struct tas_reg_msg msg)
{
	return send_request_with(sock, msg, -1);
}

/* Collect the descriptors of one SCM_RIGHTS message into fds. */
static void take_fds(struct msghdr *hdr, int *fds, unsigned max_fds,
		     unsigned *fd_count)
{
	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(hdr); cmsg != NULL;
	     cmsg = CMSG_NXTHDR(hdr, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned n = (unsigned)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int received[WELCOME_FDS];

		/* The control buffer has room for WELCOME_FDS at most. */
		if (n > WELCOME_FDS)
			n = WELCOME_FDS;
		memcpy(received, CMSG_DATA(cmsg), n * sizeof(int));
		for (unsigned i = 0; i < n; i++) {
			if (*fd_count < max_fds)
				fds[(*fd_count)++] = received[i];
			else
				close(received[i]);
		}
	}
}

/* Receive one reply and the descriptors sent with it.  A reply of type
 * TAS_REG_ERROR turns into its status.  0 or -errno. */
static int receive_reply(int sock, struct tas_reg_msg *msg, int *fds,
			 unsigned max_fds, unsigned *fd_count)
{
	union {
		char buf[CMSG_SPACE(WELCOME_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	size_t got = 0;

	*fd_count = 0;
	while (got < sizeof(*msg)) {
		struct iovec iov = { .iov_base = (uint8_t *)msg + got,
				     .iov_len = sizeof(*msg) - got };
		struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control.buf,
				      .msg_controllen = sizeof(control.buf) };
		ssize_t n = recvmsg(sock, &hdr, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n == 0 ? -ECONNRESET
					 : (errno == EAGAIN ? -ETIMEDOUT : -errno);
			close_fds(fds, *fd_count);
			*fd_count = 0;
			return err;
		}
		take_fds(&hdr, fds, max_fds, fd_count);
		got += (size_t)n;
	}
	if (msg->type == TAS_REG_ERROR) {
		close_fds(fds, *fd_count);
		*fd_count = 0;
		return msg->status < 0 ? msg->status : -EPROTO;
	}
	return 0;
}

static int limit_reply_wait(int sock)
{
	struct timeval timeout = { .tv_sec = REPLY_TIMEOUT_S };

	return setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout,
			  sizeof(timeout)) == 0 ? 0 : -errno;
}

static int connect_service(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);

	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	int err = connect(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0
			  ? limit_reply_wait(sock) : -errno;
	if (err != 0) {
		close(sock);
		return err;
	}
	return sock;
}

static bool area_fits(uint64_t offset, uint64_t size, uint64_t region_size)
{
	return offset <= region_size && size <= region_size - offset;
}

static bool header_valid(const struct tas_shm_header *header,
			 const struct tas_reg_msg *welcome)
{
	uint64_t size = welcome->region_size;

	return header->magic == TAS_SHM_MAGIC &&
	       header->abi_version == TAS_SHM_ABI_VERSION &&
	       header->region_size == size &&
	       header->max_contexts == TAS_MAX_CONTEXTS &&
	       header->num_fp_cores == welcome->num_fp_cores &&
	       area_fits(header->ctx_table_offset,
			 TAS_MAX_CONTEXTS * sizeof(struct tas_shm_context),
			 size) &&
	       header->ctx_table_offset % 8 == 0 &&
	       area_fits(header->ring_area_offset, header->ring_area_size,
			 size) &&
	       area_fits(header->buf_area_offset, header->buf_area_size, size);
}

/* Map the region behind memfd and check what the service wrote. */
static int map_region(int memfd, const struct tas_reg_msg *welcome)
{
	struct stat st;

	if (fstat(memfd, &st) != 0)
		return -errno;
	if (welcome->region_size < sizeof(struct tas_shm_header) ||
	    (uint64_t)st.st_size < welcome->region_size)
		return -EPROTO;

	void *base = mmap(NULL, welcome->region_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, memfd, 0);
	if (base == MAP_FAILED)
		return -errno;
	if (!header_valid(base, welcome)) {
		munmap(base, welcome->region_size);
		return -EPROTO;
	}
	registration.region = base;
	registration.region_size = welcome->region_size;
	registration.header = base;
	return 0;
}

static int welcome_valid(const struct tas_reg_msg *welcome, unsigned fd_count)
{
	if (welcome->type != TAS_REG_WELCOME ||
	    welcome->abi_version != TAS_SHM_ABI_VERSION)
		return -EPROTO;
	if (welcome->num_fp_cores == 0 ||
	    welcome->num_fp_cores > TAS_MAX_FP_CORES ||
	    fd_count != 2 + welcome->num_fp_cores)
		return -EPROTO;
	return 0;
}

static int register_with(const char *path)
{
	struct tas_reg_msg welcome;
	int fds[WELCOME_FDS];
	unsigned fd_count = 0;

	int sock = connect_service(path);
	if (sock < 0)
		return sock;
	int err = send_request(sock,
			       (struct tas_reg_msg){ .type = TAS_REG_HELLO });
	/* A service refusing us (e.g. EPERM) answers and hangs up before it
	 * reads HELLO: the send may then fail, but its answer is there. */
	if (err == 0 || err == -EPIPE || err == -ECONNRESET)
		err = receive_reply(sock, &welcome, fds, WELCOME_FDS, &fd_count);
	if (err == 0)
		err = welcome_valid(&welcome, fd_count);
	if (err == 0)
		err = map_region(fds[0], &welcome);
	if (err != 0) {
		close_fds(fds, fd_count);
		close(sock);
		return err;
	}

	/* The mapping keeps the region alive. */
	close(fds[0]);
	registration.sock = sock;
	registration.app_id = welcome.app_id;
	registration.join_token = welcome.join_token;
	registration.fp_cores = welcome.num_fp_cores;
	registration.sp_doorbell_fd = fds[1];
	for (unsigned i = 0; i < welcome.num_fp_cores; i++)
		registration.fp_doorbell_fd[i] = fds[2 + i];
	return 0;
}

int tas_init(const char *socket_path)
{
	const char *path = socket_path;

	if (path == NULL)
		path = getenv(TAS_SOCKET_ENV);
	if (path == NULL || path[0] == '\0')
		path = TAS_DEFAULT_SOCKET_PATH;

	if (strlen(path) >= sizeof(registration.path))
		return -ENAMETOOLONG;
	/* Installed at load already; its failure is reported here. */
	int err = inherit_install_fork_handlers();
	if (err != 0)
		return err;
	pthread_mutex_lock(&registration.lock);
	err = registration.initialised ? -EALREADY : register_with(path);
	if (err == 0) {
		registration.initialised = true;
		strcpy(registration.path, path);
	}
	pthread_mutex_unlock(&registration.lock);
	return err;
}

void tas_fini(void)
{
	pthread_mutex_lock(&registration.lock);
	if (!registration.initialised) {
		pthread_mutex_unlock(&registration.lock);
		return;
	}
	while (registration.contexts != NULL) {
		struct tas_context *ctx = registration.contexts;

		registration.contexts = ctx->next;
		context_destroy(ctx);
	}
	/* EOF on the socket tells the service to reset our connections. */
	if (registration.sock >= 0)
		close(registration.sock);
	close(registration.sp_doorbell_fd);
	close_fds(registration.fp_doorbell_fd, registration.fp_cores);
	munmap(registration.region, registration.region_size);
	registration.initialised = false;
	registration.sock = -1;
	registration.region = NULL;
	registration.header = NULL;
	pthread_mutex_unlock(&registration.lock);
}

/* A forked child becomes a member of its parent's application: the same
 * region, which it has mapped already, and a socket of its own, whose EOF
 * tells the service that this process is gone.  Lock held. */
static int join_app(void)
{
	struct tas_reg_msg joined;
	int fd;
	unsigned fd_count = 0;
	int sock = connect_service(registration.path);

	if (sock < 0)
		return sock;
	int err = send_request(sock, (struct tas_reg_msg){
		.type = TAS_REG_JOIN,
		.app_id = registration.app_id,
		.join_token = registration.join_token,
	});
	/* A refusal may come before the service read our request. */
	if (err == 0 || err == -EPIPE || err == -ECONNRESET)
		err = receive_reply(sock, &joined, &fd, 1, &fd_count);
	if (err == 0 &&
	    (joined.type != TAS_REG_JOINED || fd_count != 0 ||
	     joined.app_id != registration.app_id ||
	     joined.region_size != registration.region_size ||
	     joined.num_fp_cores != registration.fp_cores)) {
		close_fds(&fd, fd_count);
		err = -EPROTO;
	}
	if (err != 0) {
		close(sock);
		return err;
	}
	registration.sock = sock;
	return 0;
}

/* The service answers FORK once the child's member exists, holding its
 * copies: what this process does after fork() returns (close, exit)
 * comes after that. */
int registration_fork_member(void)
{
	struct tas_reg_msg joined;
	int pair[2], fd;
	unsigned fd_count = 0;

	if (!registration.initialised || registration.sock < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
		return -1;
	int err = limit_reply_wait(pair[0]);
	if (err == 0)
		err = send_request_with(registration.sock,
					(struct tas_reg_msg){ .type = TAS_REG_FORK },
					pair[1]);
	close(pair[1]);
	if (err == 0)
		err = receive_reply(registration.sock, &joined, &fd, 1, &fd_count);
	if (err == 0 && (joined.type != TAS_REG_JOINED || fd_count != 0 ||
			 joined.app_id != registration.app_id)) {
		close_fds(&fd, fd_count);
		err = -EPROTO;
	}
	if (err != 0) {
		close(pair[0]);
		return -1;
	}
	return pair[0];
}

void registration_keep_copy(uint32_t flow_id, uint32_t flow_gen)
{
	(void)send_request(registration.sock, (struct tas_reg_msg){
		.type = TAS_REG_KEEP,
		.flow_id = flow_id,
		.flow_gen = flow_gen,
	});
}

void registration_child_started(void)
{
	/* Nothing to do about a failure: the service sees the socket go. */
	(void)send_request(registration.sock, (struct tas_reg_msg){
		.type = TAS_REG_CHILD,
		.pid = (int32_t)getpid(),
	});
}

void registration_forget_copy(uint32_t flow_id, uint32_t flow_gen)
{
	if (registration.sock < 0)
		return;
	(void)send_request(registration.sock, (struct tas_reg_msg){
		.type = TAS_REG_FORGET,
		.flow_id = flow_id,
		.flow_gen = flow_gen,
	});
}

int registration_new_context(uint16_t *ctx_id, int *eventfd)
{
	struct tas_reg_msg reply;
	int fd;
	unsigned fd_count = 0;

	pthread_mutex_lock(&registration.lock);
	int err = registration.initialised ? 0 : -ENOTCONN;
	if (err == 0 && registration.sock < 0)
		err = join_app();
	if (err == 0)
		err = send_request(registration.sock,
				   (struct tas_reg_msg){ .type = TAS_REG_NEW_CONTEXT });
	if (err == 0)
		err = receive_reply(registration.sock, &reply, &fd, 1, &fd_count);
	pthread_mutex_unlock(&registration.lock);
	if (err != 0)
		return err;
	if (reply.type != TAS_REG_CONTEXT || fd_count != 1 ||
	    reply.ctx_id >= TAS_MAX_CONTEXTS) {
		close_fds(&fd, fd_count);
		return -EPROTO;
	}
	*ctx_id = (uint16_t)reply.ctx_id;
	*eventfd = fd;
	return 0;
}
