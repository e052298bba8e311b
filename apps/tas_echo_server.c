/*
 * tas-echo-server: echoes every byte back, on libtas, zero-copy: received
 * bytes are copied straight from the receive buffer into reserved space
 * of the send buffer.  When the send buffer is full the connection stops
 * consuming (its receive window closes, back-pressuring the peer) until
 * TAS_EV_WRITABLE.
 *
 * Threads: one context each.  The service allows one listener per port
 * but takes accepts for it from any context of the application, so the
 * listener is opened once, through the first context, and every thread
 * keeps its own accepts outstanding on it: new connections land on
 * whichever thread asked.
 *
 * Processes (--workers N), as pre-fork servers do: the parent listens,
 * then forks the workers.  Each creates its own contexts (which joins it
 * to the parent's application) and accepts on the inherited listener.
 * The parent passes SIGINT/SIGTERM on, waits for every worker and prints
 * what each one served, which the workers send it through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tas/tas.h>

#include "echo_options.h"
#include "mono_time.h"
#include "stop_signal.h"

#define EVENT_BATCH 64
#define ACCEPTS_OUTSTANDING 8
#define STOP_CHECK_MS 200 /* how long a worker may miss the stop flag */
#define ACCEPT_RETRY_NS (100 * 1000 * 1000ull) /* after a failed accept */

struct echo_conn {
	struct tas_conn *conn;
	bool peer_fin;
	bool closing;
	struct echo_conn *prev, *next;
};

struct echo_worker {
	pthread_t thread;
	unsigned index;
	struct tas_context *ctx;
	struct echo_conn *conns;  /* accepting or accepted, not yet CLOSED */
	unsigned accepts_outstanding;
	uint64_t accept_retry_ns; /* no new accepts before this time */
	uint64_t connections;
	uint64_t bytes;
};

/* What a worker process sends its parent when it stops. */
struct worker_report {
	uint32_t index;
	uint64_t connections;
	uint64_t bytes;
};

static struct tas_listener *listener;
static atomic_bool stopping;
static int worker_process = -1; /* index of this worker process, if one */

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void conn_link(struct echo_worker *worker, struct echo_conn *conn)
{
	conn->next = worker->conns;
	if (worker->conns)
		worker->conns->prev = conn;
	worker->conns = conn;
}

static void conn_unlink_free(struct echo_worker *worker,
			     struct echo_conn *conn)
{
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		worker->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	free(conn);
}

/* Other threads' accepts are refused (-EAGAIN) until the listener is up:
 * wait a little rather than spin. */
static void accept_refused(struct echo_worker *worker, int error)
{
	if (error != -EAGAIN)
		fprintf(stderr, "tas_accept: %s\n", strerror(-error));
	worker->accept_retry_ns = mono_now_ns() + ACCEPT_RETRY_NS;
}

/* Each accept carries the echo_conn its connection will use, so events
 * for the new connection find it even within the same batch.  It is on
 * the worker's list from here on, so nothing leaks at exit.  After a
 * failure, wait a little rather than spin on a refusing listener. */
static void issue_accepts(struct echo_worker *worker)
{
	if (worker->accepts_outstanding == ACCEPTS_OUTSTANDING ||
	    mono_now_ns() < worker->accept_retry_ns)
		return;
	while (worker->accepts_outstanding < ACCEPTS_OUTSTANDING) {
		struct echo_conn *conn = calloc(1, sizeof(*conn));
		int error;

		if (!conn)
			return;
		error = tas_accept(worker->ctx, listener, conn);
		if (error < 0) {
			free(conn);
			accept_refused(worker, error);
			return;
		}
		conn_link(worker, conn);
		worker->accepts_outstanding++;
	}
}

static void echo_pump(struct echo_worker *worker, struct echo_conn *conn)
{
	if (conn->closing)
		return;
	for (;;) {
		void *rx, *tx;
		size_t rx_len = tas_recv_peek(conn->conn, &rx);
		size_t tx_len, len;

		if (rx_len == 0)
			break;
		tx_len = tas_send_reserve(conn->conn, &tx);
		if (tx_len == 0)
			return; /* TAS_EV_WRITABLE resumes */
		len = min_size(rx_len, tx_len);
		memcpy(tx, rx, len);
		if (tas_send_commit(conn->conn, len) < 0 ||
		    tas_recv_release(conn->conn, len) < 0) {
			tas_abort(conn->conn);
			conn->closing = true;
			return;
		}
		worker->bytes += len;
	}
	if (conn->peer_fin) {
		tas_close(conn->conn);
		conn->closing = true;
	}
}

/* libtas reports a failed accept as TAS_EV_ERROR on the listener. */
static void accept_failed(struct echo_worker *worker, struct echo_conn *conn,
			  int status)
{
	fprintf(stderr, "accept failed: %s\n", strerror(-status));
	worker->accepts_outstanding--;
	conn_unlink_free(worker, conn);
	worker->accept_retry_ns = mono_now_ns() + ACCEPT_RETRY_NS;
}

static void on_accepted(struct echo_worker *worker, struct echo_conn *conn,
			struct tas_conn *accepted)
{
	worker->accepts_outstanding--;
	conn->conn = accepted;
	worker->connections++;
	echo_pump(worker, conn);
}

static void handle_event(struct echo_worker *worker,
			 const struct tas_event *event)
{
	struct echo_conn *conn = event->user_data;

	if (!conn) {
		/* Every connection of ours has an echo_conn: this is about
		 * the listener or the context. */
		if (event->type == TAS_EV_ERROR)
			fprintf(stderr, "tas error: %s\n",
				strerror(-event->status));
		return;
	}
	if (event->type == TAS_EV_ACCEPTED) {
		if (event->status < 0 || !event->conn)
			accept_failed(worker, conn, event->status);
		else
			on_accepted(worker, conn, event->conn);
		return;
	}
	if (event->type == TAS_EV_ERROR && !event->conn && event->listener) {
		accept_failed(worker, conn, event->status);
		return;
	}
	if (!event->conn)
		return;
	switch (event->type) {
	case TAS_EV_DATA:
	case TAS_EV_WRITABLE:
		echo_pump(worker, conn);
		break;
	case TAS_EV_PEER_CLOSED:
		conn->peer_fin = true;
		echo_pump(worker, conn);
		break;
	case TAS_EV_RESET:
	case TAS_EV_ERROR:
		/* libtas wants a close even after a reset; CLOSED follows. */
		if (!conn->closing) {
			tas_abort(conn->conn);
			conn->closing = true;
		}
		break;
	case TAS_EV_CLOSED:
		conn_unlink_free(worker, conn);
		break;
	default:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct echo_worker *worker = arg;
	struct tas_event events[EVENT_BATCH];

	issue_accepts(worker);
	/* Tests wait for this before they connect. */
	if (worker_process >= 0 && worker->index == 0) {
		printf("echo-worker: index=%d pid=%d accepting=%u\n",
		       worker_process, (int)getpid(),
		       worker->accepts_outstanding);
		fflush(stdout);
	}
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		int count = tas_wait(worker->ctx, events, EVENT_BATCH,
				     STOP_CHECK_MS);

		if (count < 0 && count != -EINTR) {
			fprintf(stderr, "tas_wait: %s\n", strerror(-count));
			break;
		}
		for (int i = 0; i < count; i++)
			handle_event(worker, &events[i]);
		issue_accepts(worker);
	}
	while (worker->conns)
		conn_unlink_free(worker, worker->conns);
	return NULL;
}

/* Open the shared listener through ctx and wait until it is listening. */
static int start_listening(struct tas_context *ctx,
			   const struct echo_options *options)
{
	struct tas_event event;
	int error = tas_listen(ctx, options->port, options->backlog, NULL,
			       &listener);

	while (error == 0) {
		int count = tas_wait(ctx, &event, 1, -1);

		if (count < 0 && count != -EINTR)
			error = count;
		else if (count == 1 && event.type == TAS_EV_LISTENING)
			error = event.status < 0 ? event.status : 1;
		else if (count == 1 && event.type == TAS_EV_ERROR)
			error = event.status < 0 ? event.status : -EIO;
	}
	if (error < 0) {
		fprintf(stderr, "listen on port %u: %s\n", options->port,
			strerror(-error));
		return -1;
	}
	return 0;
}

static int create_contexts(struct echo_worker *workers, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		workers[i].index = i;
		workers[i].ctx = tas_context_create();
		if (!workers[i].ctx) {
			perror("tas_context_create");
			return -1;
		}
	}
	return 0;
}

static int start_threads(struct echo_worker *workers, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		int error = pthread_create(&workers[i].thread, NULL,
					   worker_main, &workers[i]);

		if (error != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(error));
			return -1;
		}
	}
	return 0;
}

/* Serve until SIGINT or SIGTERM; the totals of every thread. */
static struct worker_report serve(struct echo_worker *workers, unsigned count)
{
	struct worker_report total = { 0 };

	stop_signal_wait();
	atomic_store(&stopping, true);
	for (unsigned i = 0; i < count; i++) {
		pthread_join(workers[i].thread, NULL);
		total.connections += workers[i].connections;
		total.bytes += workers[i].bytes;
	}
	return total;
}

/* One process, --threads threads. */
static int run_single(const struct echo_options *options)
{
	struct echo_worker *workers = calloc(options->threads, sizeof(*workers));

	if (!workers || create_contexts(workers, options->threads) != 0 ||
	    start_listening(workers[0].ctx, options) != 0 ||
	    start_threads(workers, options->threads) != 0)
		return 1;
	struct worker_report total = serve(workers, options->threads);
	echo_report(total.connections, total.bytes);
	tas_fini();
	free(workers);
	return 0;
}

/* A forked worker: its own contexts, the inherited listener. */
static int run_worker(unsigned index, const struct echo_options *options,
		      int report_fd)
{
	struct echo_worker *workers = calloc(options->threads, sizeof(*workers));

	worker_process = (int)index;
	if (!workers || create_contexts(workers, options->threads) != 0 ||
	    start_threads(workers, options->threads) != 0)
		return 1;
	struct worker_report report = serve(workers, options->threads);
	report.index = index;
	/* Smaller than PIPE_BUF: one atomic write. */
	if (write(report_fd, &report, sizeof(report)) != (ssize_t)sizeof(report))
		perror("echo-worker: report");
	tas_fini();
	free(workers);
	return 0;
}

struct worker_proc {
	pid_t pid;
	bool exited;
	int status;              /* of waitpid */
	bool reported;
	struct worker_report report;
};

static void stop_workers(struct worker_proc *procs, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (procs[i].pid > 0 && !procs[i].exited)
			kill(procs[i].pid, SIGTERM);
}

static unsigned reap_workers(struct worker_proc *procs, unsigned count)
{
	unsigned reaped = 0;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < count; i++) {
			if (procs[i].pid == pid) {
				procs[i].exited = true;
				procs[i].status = status;
				reaped++;
			}
		}
	}
	return reaped;
}

/* Until every worker has exited; SIGINT and SIGTERM are passed on. */
static void supervise(struct worker_proc *procs, unsigned count,
		      unsigned live)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGCHLD);
	while (live > 0) {
		int signal_number = sigwaitinfo(&signals, NULL);

		if (signal_number == SIGCHLD)
			live -= reap_workers(procs, count);
		else if (signal_number == SIGINT || signal_number == SIGTERM)
			stop_workers(procs, count);
	}
}

static void collect_reports(int report_fd, struct worker_proc *procs,
			    unsigned count)
{
	struct worker_report report;

	while (read(report_fd, &report, sizeof(report)) ==
	       (ssize_t)sizeof(report)) {
		if (report.index < count) {
			procs[report.index].report = report;
			procs[report.index].reported = true;
		}
	}
}

/* One line per worker, then the totals; the number that failed. */
static unsigned print_reports(const struct worker_proc *procs, unsigned count)
{
	uint64_t connections = 0, bytes = 0;
	unsigned failed = 0;

	for (unsigned i = 0; i < count; i++) {
		const struct worker_proc *proc = &procs[i];
		int status = proc->status;
		bool ok = proc->reported && WIFEXITED(status) &&
			  WEXITSTATUS(status) == 0;

		printf("echo-worker: index=%u pid=%d ", i, (int)proc->pid);
		if (WIFSIGNALED(status))
			printf("signal=%d", WTERMSIG(status));
		else
			printf("exit=%d", WEXITSTATUS(status));
		if (proc->reported)
			printf(" connections=%" PRIu64 " bytes=%" PRIu64,
			       proc->report.connections, proc->report.bytes);
		printf("\n");
		failed += !ok;
		connections += proc->report.connections;
		bytes += proc->report.bytes;
	}
	printf("echo-workers: workers=%u failed=%u\n", count, failed);
	echo_report(connections, bytes);
	return failed;
}

/* --workers: listen here, serve in forked processes. */
static int run_workers(const struct echo_options *options)
{
	struct worker_proc *procs = calloc(options->workers, sizeof(*procs));
	struct tas_context *ctx = tas_context_create();
	int report_pipe[2];
	sigset_t child_exit;
	unsigned started = 0;

	if (!procs || !ctx) {
		perror("tas_context_create");
		return 1;
	}
	if (start_listening(ctx, options) != 0)
		return 1;
	if (pipe2(report_pipe, O_CLOEXEC) != 0) {
		perror("pipe2");
		return 1;
	}
	/* Blocked before the first fork, so that no exit goes unnoticed. */
	sigemptyset(&child_exit);
	sigaddset(&child_exit, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &child_exit, NULL);
	/* Or the children would print what is still buffered, again. */
	fflush(stdout);
	for (; started < options->workers; started++) {
		pid_t pid = fork();

		if (pid == 0) {
			free(procs);
			close(report_pipe[0]);
			exit(run_worker(started, options, report_pipe[1]));
		}
		if (pid < 0) {
			perror("fork");
			stop_workers(procs, started);
			break;
		}
		procs[started].pid = pid;
	}
	close(report_pipe[1]);
	supervise(procs, started, started);
	collect_reports(report_pipe[0], procs, started);
	close(report_pipe[0]);
	unsigned failed = print_reports(procs, started);
	tas_fini();
	free(procs);
	return failed == 0 && started == options->workers ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct echo_options options;
	int error;

	echo_options_parse(&options, argc, argv, true);
	stop_signal_block();
	error = tas_init(NULL);
	if (error < 0) {
		fprintf(stderr, "tas_init: %s\n", strerror(-error));
		return 1;
	}
	return options.workers > 0 ? run_workers(&options)
				   : run_single(&options);
}
