/*
 * The registration socket file (app_socket.c).
 */
#ifndef TAS_APP_SOCKET_H
#define TAS_APP_SOCKET_H

/* Listen on the Unix socket path (non-blocking, close-on-exec), replacing
 * a stale socket file.  The listening fd, or -errno (logged). */
int app_socket_listen(const char *path);

#endif /* TAS_APP_SOCKET_H */
