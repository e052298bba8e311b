/*
 * The service's log: one line per message on stderr, prefixed "tas: ".
 * Informational messages are suppressed by --quiet; warnings and errors
 * are always printed.  Usable from the slow-path thread and from the
 * start-up code; fast-path cores must not log on the common path.
 */
#ifndef TAS_LOG_H
#define TAS_LOG_H

#include <stdbool.h>

void log_set_quiet(bool quiet);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* TAS_LOG_H */
