/*
 * The slow path's event loop: one thread blocking in epoll_wait on the
 * file descriptors modules register, the slow-path doorbell and the next
 * timer deadline, and polling the fast-path cores' rings after every wake.
 */
#ifndef TAS_SP_LOOP_H
#define TAS_SP_LOOP_H

#include <stdint.h>

struct service;

typedef void (*sp_fd_handler)(struct service *svc, int fd, uint32_t epoll_events,
			      void *arg);

int sp_loop_init(struct service *svc);
/* Watch fd for EPOLLIN (plus EPOLLRDHUP); handler runs on the sp thread. */
int sp_loop_add_fd(int fd, sp_fd_handler handler, void *arg);
/* Stop watching fd; call it before closing fd. */
void sp_loop_remove_fd(int fd);
/* Run until SIGINT/SIGTERM, sp_loop_stop() or svc->stopping.  Signals do
 * not set svc->stopping: the cores keep running until main() has sent the
 * final RSTs through them. */
void sp_loop_run(struct service *svc);
/* Make sp_loop_run return after the current iteration (sp thread only). */
void sp_loop_stop(void);
void sp_loop_fini(void);

#endif /* TAS_SP_LOOP_H */
