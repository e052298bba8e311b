#include "stop_signal.h"

#include <pthread.h>
#include <signal.h>

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

void stop_signal_block(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int stop_signal_wait(void)
{
	sigset_t set;
	int signal_number = 0;

	stop_signals(&set);
	while (sigwait(&set, &signal_number) != 0)
		;
	return signal_number;
}
