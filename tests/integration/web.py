"""Web servers and clients for the program tests (prog_*.py).

nginx and lighttpd run in the foreground with their own configuration,
document root, logs and pid file in the test's work directory; curl, wrk
and ab run to completion and their reports are parsed.  The server runs
where harness.Programs puts servers, the clients where it puts clients.
"""

import hashlib
import os
import pwd
import re
import shutil

import harness

WEB_USER = 'www-data'          # the workers' user, as in Debian's own configs
SMALL_BYTES = 1 * harness.KIB  # the file wrk and ab fetch
BIG_BYTES = 1 * harness.MIB    # the file curl fetches and uploads, checksummed
CLIENT_TIMEOUT = 60            # seconds any one client run may take


def program(name):
    """Absolute path of a Debian program (tools/setup.sh installs them)."""
    path = shutil.which(name, path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin')
    harness.check(path, f'{name} is not installed (tools/setup.sh installs it)')
    return path


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def random_file(path, size):
    """Write size random bytes to path (world-readable); their sha256."""
    with open(path, 'wb') as f:
        f.write(os.urandom(size))
    os.chmod(path, 0o644)
    return sha256_file(path)


def web_user_ids():
    entry = pwd.getpwnam(WEB_USER)
    return entry.pw_uid, entry.pw_gid


class WebRoot:
    """A server's directory: www/ (small.bin, big.bin), logs, and an upload/
    directory, which its workers (WEB_USER) may write."""

    def __init__(self, test, name):
        self.dir = os.path.join(test.workdir, name)
        self.www = os.path.join(self.dir, 'www')
        self.upload = os.path.join(self.www, 'upload')
        self.tmp = os.path.join(self.dir, 'tmp')
        for path in (self.dir, self.www, self.upload, self.tmp):
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o755)
        uid, gid = web_user_ids()
        for path in (self.upload, self.tmp):
            os.chown(path, uid, gid)
        self.sha = {'small.bin': random_file(os.path.join(self.www, 'small.bin'), SMALL_BYTES),
                    'big.bin': random_file(os.path.join(self.www, 'big.bin'), BIG_BYTES)}
        self.access_log = os.path.join(self.dir, 'access.log')
        self.error_log = os.path.join(self.dir, 'error.log')
        for log in (self.access_log, self.error_log):   # lighttpd opens them as WEB_USER
            with open(log, 'w'):
                pass
            os.chown(log, uid, gid)

    def path(self, name):
        return os.path.join(self.dir, name)


# ----------------------------------------------------------------------
# Servers

NGINX_WORKERS = 2
# pid of the worker, the connection's serial number and how many requests
# it has carried so far, status, method, path and query (?run=NAME).
NGINX_LOG_FORMAT = '$pid $connection $connection_requests $status $request_method $uri $args'


class Nginx:
    """nginx: a master and NGINX_WORKERS workers (as www-data) on port,
    files as in Debian's default configuration (sendfile, tcp_nopush,
    keep-alive), PUT allowed into /upload/."""

    def __init__(self, programs, port, name='nginx'):
        self.programs = programs
        self.test = programs.test
        self.port = port
        self.root = WebRoot(self.test, name)
        self.conf = self.root.path('nginx.conf')
        tmp = self.root.tmp
        with open(self.conf, 'w') as f:
            f.write(f'''daemon off;
master_process on;
worker_processes {NGINX_WORKERS};
user {WEB_USER};
pid {self.root.path('nginx.pid')};
error_log {self.root.error_log} notice;
events {{ worker_connections 1024; }}
http {{
    types {{ application/octet-stream bin; text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    log_format runs '{NGINX_LOG_FORMAT}';
    access_log {self.root.access_log} runs;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen {port} backlog=1024;
        root {self.root.www};
        location /upload/ {{
            dav_methods PUT;
            client_max_body_size 16m;
        }}
    }}
}}
''')
        self.proc = programs.server(name, [program('nginx'), '-p', self.root.dir, '-c', self.conf,
                                           '-e', self.root.error_log])
        programs.watch_log(self.root.error_log)   # the workers' stderr
        programs.wait_server_listening(self.proc, port)
        self.workers = self.wait_workers()

    def wait_workers(self, timeout=10):
        """The workers' pids, once exactly NGINX_WORKERS run."""
        def workers():
            return sorted(pid for pid, cmdline in harness.child_processes(self.proc.pid).items()
                          if cmdline.startswith('nginx: worker process'))
        harness.wait_until(lambda: len(workers()) == NGINX_WORKERS, timeout,
                           lambda: f'{NGINX_WORKERS} nginx workers (children of the master '
                           f'{self.proc.pid}: {harness.child_processes(self.proc.pid)})')
        found = workers()
        self.test.log(f'nginx master {self.proc.pid}, workers {found}')
        return found

    def check_workers(self):
        """The master still runs with the same workers (none crashed and
        was replaced)."""
        harness.check(self.proc.running(), 'nginx master exited\n' + self.proc.describe())
        now = self.wait_workers()
        harness.check(now == self.workers, f'nginx workers changed from {self.workers} to '
                      f'{now}: one died (error log:\n'
                      f'{harness.tail(harness.read_text(self.root.error_log))})')

    def requests(self, run):
        """Access-log entries of the requests tagged ?run=RUN."""
        entries = []
        for line in harness.read_text(self.root.access_log).splitlines():
            fields = line.split()
            if len(fields) == 7 and fields[6] == f'run={run}':
                entries.append({'pid': int(fields[0]), 'connection': int(fields[1]),
                                'connection_requests': int(fields[2]),
                                'status': int(fields[3]), 'method': fields[4],
                                'uri': fields[5]})
        return entries

    def check_log(self, run, at_least, keepalive):
        """The run's requests in the access log: at least at_least, all with
        a 2xx status; on kept-alive connections (some carried more than one
        request) or, if not keepalive, each on its own connection."""
        entries = self.requests(run)
        harness.check(len(entries) >= at_least, f'nginx logged {len(entries)} requests of '
                      f'run {run}, expected at least {at_least}')
        statuses = {entry['status'] for entry in entries}
        harness.check(all(200 <= status < 300 for status in statuses),
                      f'run {run}: statuses {statuses}, not all 2xx')
        most = max(entry['connection_requests'] for entry in entries)
        if keepalive:
            harness.check(most > 1, f'run {run}: no connection carried more than one request')
        else:
            harness.check(most == 1, f'run {run}: a connection carried {most} requests, '
                          f'despite "Connection: close"')
        pids = {}
        for entry in entries:
            pids[entry['pid']] = pids.get(entry['pid'], 0) + 1
        self.test.log(f'nginx run {run}: {len(entries)} requests, on '
                      f'{len({e["connection"] for e in entries})} connections, by worker '
                      f'{pids}')
        return entries


class Lighttpd:
    """lighttpd in the foreground (-D) on port, its files in the work
    directory, as www-data."""

    def __init__(self, programs, port, name='lighttpd'):
        self.programs = programs
        self.test = programs.test
        self.port = port
        self.root = WebRoot(self.test, name)
        self.conf = self.root.path('lighttpd.conf')
        with open(self.conf, 'w') as f:
            f.write(f'''server.document-root = "{self.root.www}"
server.bind = "0.0.0.0"
server.port = {port}
server.username = "{WEB_USER}"
server.groupname = "{WEB_USER}"
server.errorlog = "{self.root.error_log}"
server.upload-dirs = ( "{self.root.tmp}" )
server.max-keep-alive-requests = 100000
server.modules = ( "mod_accesslog" )
accesslog.filename = "{self.root.access_log}"
accesslog.format = "%s %r"
mimetype.assign = ( ".bin" => "application/octet-stream" )
''')
        self.proc = programs.server(name, [program('lighttpd'), '-D', '-f', self.conf])
        programs.watch_log(self.root.error_log)
        programs.wait_server_listening(self.proc, port)

    def requests(self, run):
        """Statuses of the access-log entries of the requests tagged ?run=RUN."""
        return [int(line.split()[0]) for line in
                harness.read_text(self.root.access_log).splitlines()
                if f'?run={run} ' in line]


# ----------------------------------------------------------------------
# Clients

def url(address, port, path, run):
    return f'http://{address}:{port}/{path}?run={run}'


CURL_UNDER_ASAN = ('curl cannot run with the ASan runtime preloaded: it deadlocks in glibc '
                   'setlocale() at start-up (curl 7.88.1, the setlocale lock is left corrupt)')


def curl_cannot_run(programs):
    """Whether curl would be the client under the shim of a sanitizer build."""
    return programs.preloads_asan(programs.client_on_host)


def curl(programs, name, transfers, close=False):
    """One curl process making transfers in order, each (url, output file,
    file to upload with PUT or None); with close, every request says
    "Connection: close".  curl pairs its n-th --upload-file with its n-th
    URL, so uploads come first.  Returns, per transfer, its {'code',
    'connects', 'size'}: connects is 0 when the transfer reused the
    previous one's connection."""
    harness.check(not curl_cannot_run(programs), CURL_UNDER_ASAN)
    uploads = [transfer[2] for transfer in transfers if transfer[2]]
    harness.check(all(transfer[2] for transfer in transfers[:len(uploads)]),
                  f'{name}: uploads must come before downloads')
    argv = [program('curl'), '--silent', '--show-error', '--fail', '--max-time', '30',
            '--write-out', '%{http_code} %{num_connects} %{size_download} %{size_upload}\n']
    if close:
        argv += ['--header', 'Connection: close']
    for upload in uploads:
        argv += ['--upload-file', upload]
    for address, output, _ in transfers:
        argv += ['--output', output, address]
    out = programs.run_client(name, argv, CLIENT_TIMEOUT)
    results = []
    for line in out.splitlines():
        code, connects, down, up = line.split()
        results.append({'code': int(code), 'connects': int(connects),
                        'size': int(float(down)) + int(float(up))})
    harness.check(len(results) == len(transfers),
                  f'{name}: {len(results)} transfer reports for {len(transfers)} transfers:\n'
                  + out)
    programs.test.log(f'{name}: {results}')
    return results


def check_downloads(programs, server, name, address, close=False, upload=True):
    """curl uploads big.bin (PUT, if upload) and fetches it twice, on one
    command line: every byte as sent (sha256), and each transfer after the
    first reused its connection, or, with close, each had its own.  Where
    curl cannot run (CURL_UNDER_ASAN), nc fetches it once instead."""
    if curl_cannot_run(programs):
        check_download_nc(programs, server, name, address)
        return
    test = programs.test
    source = os.path.join(server.root.www, 'big.bin')
    outputs = [os.path.join(test.workdir, f'{name}-{i}.bin') for i in (1, 2)]
    transfers = [(url(address, server.port, 'big.bin', name), output, None)
                 for output in outputs]
    if upload:
        transfers.insert(0, (url(address, server.port, f'upload/{name}.bin', name),
                             os.devnull, source))
    results = curl(programs, name, transfers, close=close)
    for output in outputs:
        harness.check(os.path.getsize(output) == BIG_BYTES and
                      sha256_file(output) == server.root.sha['big.bin'],
                      f'{name}: {output} ({os.path.getsize(output)} bytes) differs from '
                      f'the served big.bin')
    codes = [result['code'] for result in results]
    want = [201, 200, 200] if upload else [200, 200]
    harness.check(codes == want, f'{name}: HTTP statuses {codes}, expected {want}')
    if upload:
        uploaded = os.path.join(server.root.upload, f'{name}.bin')
        harness.check(os.path.isfile(uploaded) and
                      sha256_file(uploaded) == server.root.sha['big.bin'],
                      f'{name}: the uploaded {uploaded} differs from what curl sent')
    connects = [result['connects'] for result in results]
    want = [1] * len(results) if close else [1] + [0] * (len(results) - 1)
    harness.check(connects == want, f'{name}: connections opened per transfer {connects}, '
                  f'expected {want} ({"Connection: close" if close else "keep-alive"})')
    test.log(f'{name}: {BIG_BYTES} bytes {"up once and " if upload else ""}down twice, '
             f'checksums equal, connections opened per transfer {connects}')


def check_download_nc(programs, server, name, address):
    """nc fetches big.bin with an HTTP/1.0 request: status 200 and every
    byte as on the server."""
    test = programs.test
    request = os.path.join(test.workdir, f'{name}.request')
    with open(request, 'w') as f:
        f.write(f'GET /big.bin?run={name} HTTP/1.0\r\nHost: {address}\r\n\r\n')
    # No -N: a client that shuts its sending side down is, to nginx, one
    # that went away, and nginx stops sending once its socket buffer is
    # full (Linux too, with a small send buffer).
    argv = [program('nc'), '-w', '30', address, server.port]
    response_path = os.path.join(test.workdir, f'{name}.response')
    client = programs.client(name, argv, stdin_path=request)
    client.finish(CLIENT_TIMEOUT)
    with open(client.out_path, 'rb') as f:
        response = f.read()
    head, _, body = response.partition(b'\r\n\r\n')
    harness.check(re.match(rb'HTTP/1\.[01] 200 ', head),
                  f'{name}: response {head[:200]!r}, not 200')
    with open(response_path, 'wb') as f:
        f.write(body)
    harness.check(len(body) == BIG_BYTES and sha256_file(response_path) == server.root.sha['big.bin'],
                  f'{name}: {len(body)} bytes of body, not the served big.bin')
    test.log(f'{name}: {BIG_BYTES} bytes through nc (curl cannot run in this build), '
             f'checksum equal')


WRK_MIN_REQUESTS = 200   # in the run's seconds; Linux here does ~25k-100k a second


def wrk(programs, name, address, port, seconds, conns, close=False,
        min_requests=WRK_MIN_REQUESTS):
    """wrk for seconds on conns connections for small.bin (with close:
    "Connection: close" on every request); requires no socket error, no
    non-2xx/3xx response and at least min_requests.  Returns the count."""
    argv = [program('wrk'), '--threads', 1, '--connections', conns,
            '--duration', f'{seconds}s', '--timeout', '5s']
    if close:
        argv += ['--header', 'Connection: close']
    argv.append(url(address, port, 'small.bin', name))
    out = programs.run_client(name, argv, seconds + CLIENT_TIMEOUT)
    done = re.search(r'^\s*(\d+) requests in ([\d.]+)(\w+)', out, re.MULTILINE)
    harness.check(done, f'{name}: no request count in\n{out}')
    requests = int(done.group(1))
    errors = re.search(r'Socket errors: (.*)', out)
    harness.check(not errors, f'{name}: socket errors: {errors and errors.group(1)}\n{out}')
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    harness.check(not non_2xx, f'{name}: {non_2xx and non_2xx.group(1)} non-2xx/3xx '
                  f'responses\n{out}')
    harness.check(requests >= min_requests, f'{name}: {requests} requests in {seconds} s, '
                  f'expected at least {min_requests}\n{out}')
    rate = re.search(r'Requests/sec:\s*([\d.]+)', out)
    programs.test.log(f'measured: {name}: {requests} requests in {done.group(2)}{done.group(3)}'
                      f' ({rate.group(1) if rate else "?"} req/s), {conns} connections'
                      f'{", Connection: close" if close else ", keep-alive"}')
    return requests


def ab(programs, name, address, port, requests, conns, keepalive):
    """ab: requests GETs of small.bin on conns connections (with -k
    keep-alive, else a connection per request); requires every request
    complete, none failed, none non-2xx, and with -k all kept alive."""
    argv = [program('ab'), '-q', '-n', requests, '-c', conns, '-s', 20]
    if keepalive:
        argv.append('-k')
    argv.append(url(address, port, 'small.bin', name))
    out = programs.run_client(name, argv, CLIENT_TIMEOUT)

    def field(label):
        match = re.search(rf'^{label}:\s+([\d.]+)', out, re.MULTILINE)
        return match and float(match.group(1))
    complete, failed = field('Complete requests'), field('Failed requests')
    harness.check(complete == requests and failed == 0,
                  f'{name}: {complete} complete, {failed} failed of {requests}\n{out}')
    harness.check(field('Non-2xx responses') is None, f'{name}: non-2xx responses\n{out}')
    harness.check(field('Document Length') == SMALL_BYTES,
                  f'{name}: document length {field("Document Length")}, not {SMALL_BYTES}')
    if keepalive:
        harness.check(field('Keep-Alive requests') == requests,
                      f'{name}: {field("Keep-Alive requests")} of {requests} kept alive\n{out}')
    programs.test.log(f'measured: {name}: {requests} requests, {conns} connections, '
                      f'{"keep-alive" if keepalive else "one connection each"}: '
                      f'{field("Requests per second")} req/s')
