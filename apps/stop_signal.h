/*
 * SIGINT/SIGTERM for the servers: the main thread blocks both before it
 * starts workers (which inherit the mask), then waits for one, so no
 * worker is ever interrupted inside the network library.
 */
#ifndef TAS_APPS_STOP_SIGNAL_H
#define TAS_APPS_STOP_SIGNAL_H

/* Block SIGINT and SIGTERM in the calling thread. */
void stop_signal_block(void);

/* Wait for SIGINT or SIGTERM; returns the signal number. */
int stop_signal_wait(void);

#endif /* TAS_APPS_STOP_SIGNAL_H */
