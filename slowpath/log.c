/*
 * The service's log (log.h).  Each message is formatted into one buffer
 * and written with a single write(2) so that lines from different threads
 * do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static bool log_quiet;

void log_set_quiet(bool quiet)
{
	log_quiet = quiet;
}

static void log_line(const char *level, const char *fmt, va_list args)
{
	char line[1024];
	int len = snprintf(line, sizeof(line), "tas: %s", level);
	int body = vsnprintf(line + len, sizeof(line) - (size_t)len - 1, fmt, args);

	if (body < 0)
		return;
	len += body;
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	/* Nothing sensible to do if stderr is gone. */
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

void log_info(const char *fmt, ...)
{
	va_list args;

	if (log_quiet)
		return;
	va_start(args, fmt);
	log_line("", fmt, args);
	va_end(args);
}

void log_warn(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_line("warning: ", fmt, args);
	va_end(args);
}

void log_err(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_line("error: ", fmt, args);
	va_end(args);
}
