"""Verified request/echo rounds on many connections to an echo server.

Runs inside the test-bed namespace (Linux TCP), standard library only.
Each of --conns connections sends --size bytes (a pattern of its own for
every round), waits until exactly those bytes came back, and starts the
next round; the first round to end after --duration is its last: it
half-closes and must see EOF.  Prints `ready: conns=N` once every connection has completed a round,
and at the end one line:
  echo_clients: conns= completed= reset= failed= rounds= bytes=
completed: every round verified and closed in order; reset: ECONNRESET
(an RST from the server) at any point; failed: anything else (wrong or
extra bytes, EOF too early, no connection, the --timeout).  Exit 0 if no
connection failed.  With --expect refused it makes one connection attempt
and exits 0 only if it is refused (an RST answers the SYN).
"""

import argparse
import errno
import random
import selectors
import socket
import sys
import time


class Conn:
    def __init__(self, index, args):
        self.index = index
        self.size = args.size
        self.seed = args.seed
        self.round = 0
        self.outcome = None
        self.closing = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex((args.ip, args.port))
        self.connected = False
        self.start_round()

    def start_round(self):
        rng = random.Random(f'{self.seed}/{self.index}/{self.round}')
        self.expected = rng.randbytes(self.size)
        self.sent = 0
        self.received = 0

    def wants_write(self):
        return not self.connected or (not self.closing and self.sent < self.size)

    def on_writable(self):
        if not self.connected:
            error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, 'connect: ' + errno.errorcode.get(error, str(error)))
            self.connected = True
        if not self.closing and self.sent < self.size:
            self.sent += self.sock.send(self.expected[self.sent:])

    def on_readable(self, finishing):
        """True once this connection is done (verified and closed)."""
        data = self.sock.recv(65536)
        if not data:
            if self.closing:
                return True
            raise EOFError(f'EOF after {self.received} of {self.size} bytes of '
                           f'round {self.round}')
        if self.closing or self.received + len(data) > self.sent:
            raise ValueError('more bytes came back than were sent')
        if data != self.expected[self.received:self.received + len(data)]:
            raise ValueError(f'wrong bytes in round {self.round}')
        self.received += len(data)
        if self.received == self.size:
            self.round += 1
            if finishing:
                self.closing = True
                self.sock.shutdown(socket.SHUT_WR)
            else:
                self.start_round()
        return False


def run(args):
    selector = selectors.DefaultSelector()
    conns = [Conn(i, args) for i in range(args.conns)]
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
    started = time.monotonic()
    finish_at = started + args.duration
    give_up_at = started + args.timeout
    ready_printed = False
    live = len(conns)
    while live > 0:
        now = time.monotonic()
        if now >= give_up_at:
            for conn in conns:
                if conn.outcome is None:
                    conn.outcome = 'failed'
                    print(f'connection {conn.index}: no progress within --timeout',
                          file=sys.stderr)
            break
        finishing = now >= finish_at
        if not ready_printed and all(c.round > 0 or c.outcome for c in conns):
            print(f'ready: conns={args.conns}', flush=True)
            ready_printed = True
        for key, events in selector.select(timeout=0.05):
            conn = key.data
            try:
                if events & selectors.EVENT_WRITE:
                    conn.on_writable()
                done = (events & selectors.EVENT_READ) and conn.on_readable(finishing)
            except ConnectionResetError:
                conn.outcome = 'reset'
                done = True
            except (OSError, EOFError, ValueError) as error:
                conn.outcome = 'failed'
                print(f'connection {conn.index}: {error}', file=sys.stderr)
                done = True
            else:
                if done:
                    conn.outcome = 'completed'
            if done:
                selector.unregister(conn.sock)
                conn.sock.close()
                live -= 1
                continue
            mask = selectors.EVENT_READ
            if conn.wants_write():
                mask |= selectors.EVENT_WRITE
            selector.modify(conn.sock, mask, conn)
    counts = {name: sum(c.outcome == name for c in conns)
              for name in ('completed', 'reset', 'failed')}
    rounds = sum(c.round for c in conns)
    print(f'echo_clients: conns={args.conns} completed={counts["completed"]} '
          f'reset={counts["reset"]} failed={counts["failed"]} rounds={rounds} '
          f'bytes={rounds * args.size}', flush=True)
    return 0 if counts['failed'] == 0 else 1


def expect_refused(args):
    try:
        socket.create_connection((args.ip, args.port), timeout=args.timeout).close()
    except ConnectionRefusedError:
        print(f'echo_clients: port {args.port} refused the connection', flush=True)
        return 0
    except OSError as error:
        print(f'echo_clients: expected a refusal, got {error}', flush=True)
        return 1
    print(f'echo_clients: port {args.port} accepted a connection', flush=True)
    return 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--ip', required=True)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--conns', type=int, default=1)
    parser.add_argument('--size', type=int, default=16384)
    parser.add_argument('--duration', type=float, default=1)
    parser.add_argument('--timeout', type=float, default=30)
    parser.add_argument('--seed', default='1')
    parser.add_argument('--expect', choices=('refused',))
    args = parser.parse_args()
    return expect_refused(args) if args.expect else run(args)


if __name__ == '__main__':
    sys.exit(main())
