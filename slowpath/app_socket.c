/*
 * The registration socket file: a Unix stream socket that any local user
 * may connect to (mode 0666; app_registry.c says why that is safe), its
 * parent directories created with mode 0755.  A socket file that answers
 * connect() means another tas: refuse to start; a dead one is removed.
 */
#include "app_socket.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define LISTEN_BACKLOG 64

static int make_parent_dirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

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

static int bind_and_listen(const struct sockaddr_un *addr)
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

int app_socket_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (path[0] == '\0' || strlen(path) >= sizeof(addr.sun_path)) {
		log_err("socket path '%s' is empty or too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int err = prepare_socket_path(&addr);
	if (err != 0)
		return err;
	return bind_and_listen(&addr);
}
