/*
 * One bulk connection's progress, independent of the transport: what to
 * send next, verification of what arrived, and when to send FIN, reset,
 * or consider the connection finished.  The transport-specific program
 * moves bytes and reports events; these functions decide.
 */
#ifndef TAS_APPS_BULK_STREAM_H
#define TAS_APPS_BULK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulk_options.h"

struct bulk_stream {
	const struct bulk_options *options;
	unsigned id;          /* for messages */
	uint64_t tx_seed;
	uint64_t rx_seed;
	uint64_t tx_goal;     /* bytes to send before FIN or reset */
	uint64_t sent;
	uint64_t received;
	bool corrupt;         /* a received byte did not match the pattern */
	bool overrun;         /* more than --recv arrived */
	bool eof;             /* the peer's FIN, after all its data */
	bool wr_shut;         /* our FIN was requested */
	bool aborted;         /* we reset it (--abort-after) */
	bool reset;           /* the peer reset it */
	bool failed;          /* a transport error other than reset */
	/* --pause-after: reading stops for --pause-secs, once. */
	bool paused;          /* the pause has begun */
	bool resumed;         /* and its end was handled */
	uint64_t pause_end_ns;
	/* When the first and last bytes arrived, and were taken for sending
	 * (mono_now_ns; 0: none yet), for --per-conn. */
	uint64_t rx_first_ns, rx_last_ns;
	uint64_t tx_first_ns, tx_last_ns;
};

void bulk_stream_init(struct bulk_stream *stream,
		      const struct bulk_options *options, unsigned id);

/* Bytes still to be sent before FIN or reset. */
static inline uint64_t bulk_stream_unsent(const struct bulk_stream *stream)
{
	return stream->tx_goal - stream->sent;
}

/* Write the next len (<= unsent) bytes to send into buf; the stream
 * advances only when bulk_stream_sent() says they were taken (at
 * now_ns). */
void bulk_stream_fill(const struct bulk_stream *stream, void *buf,
		      size_t len);
void bulk_stream_sent(struct bulk_stream *stream, size_t len,
		      uint64_t now_ns);

/* How many bytes may be read now: 0 during the pause of --pause-after
 * (which begins here, once that many bytes arrived), else up to where it
 * begins, else SIZE_MAX. */
size_t bulk_stream_rx_allowed(struct bulk_stream *stream, uint64_t now_ns);

/* When the transport must wake up and call bulk_stream_take_resume: the
 * end of a pause not handled yet (perhaps past), else UINT64_MAX. */
uint64_t bulk_stream_resume_ns(const struct bulk_stream *stream);

/* True once, when the pause is over: the transport reads again (no new
 * readiness event may come, since the peer could not send meanwhile). */
bool bulk_stream_take_resume(struct bulk_stream *stream, uint64_t now_ns);

/* Verify and count received bytes (arrived by now_ns). */
void bulk_stream_received(struct bulk_stream *stream, const void *buf,
			  size_t len, uint64_t now_ns);

void bulk_stream_eof(struct bulk_stream *stream);
void bulk_stream_peer_reset(struct bulk_stream *stream);
void bulk_stream_fail(struct bulk_stream *stream, const char *why, int error);

/* Everything to send before the reset has been taken: reset now. */
bool bulk_stream_should_abort(const struct bulk_stream *stream);

/* Everything is sent and --close allows the FIN now. */
bool bulk_stream_should_shut_wr(const struct bulk_stream *stream);

/* Nothing more will happen on this connection: release it. */
bool bulk_stream_is_finished(const struct bulk_stream *stream);

/* The connection ended the way the options expect. */
bool bulk_stream_succeeded(const struct bulk_stream *stream);

/* All received bytes matched, and a normally finished connection got
 * exactly --recv bytes. */
bool bulk_stream_verified(const struct bulk_stream *stream);

#endif /* TAS_APPS_BULK_STREAM_H */
