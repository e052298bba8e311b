"""Registration with tas from a test's side: the protocol
(include/tas/shm_abi.h) spoken directly, for requests libtas never sends
(a JOIN with a wrong token or to an application that is gone, messages of
unknown type or ABI version), and what tas logs about applications.

struct tas_reg_msg: type, abi_version, status, ctx_id (u32, u32, i32,
u32), region_size (u64), num_fp_cores, app_id (u32, u32), join_token (u64),
flow_id, flow_gen, pid, reserved (u32, u32, i32, u32).
"""

import os
import re
import socket
import struct

import harness

MSG = struct.Struct('<IIiIQIIQIIiI')
TAS_REG_ERROR = 5
TAS_REG_JOIN = 6
REPLY_TIMEOUT = 10


def abi_version():
    """TAS_SHM_ABI_VERSION of the tree under test."""
    path = os.path.join(harness.SOURCE_ROOT, 'include', 'tas', 'shm_abi.h')
    with open(path) as f:
        match = re.search(r'#define TAS_SHM_ABI_VERSION (\d+)u', f.read())
    harness.check(match, f'no TAS_SHM_ABI_VERSION in {path}')
    return int(match.group(1))


def request(socket_path, msg_type, app_id=0, token=0, version=None):
    """Send one message on a new connection; return the reply as
    (type, status), or None if tas hung up without answering."""
    if version is None:
        version = abi_version()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(REPLY_TIMEOUT)
        sock.connect(socket_path)
        sock.sendall(MSG.pack(msg_type, version, 0, 0, 0, 0, app_id, token, 0, 0, 0, 0))
        reply = b''
        while len(reply) < MSG.size:
            chunk = sock.recv(MSG.size - len(reply))
            if not chunk:
                return None
            reply += chunk
    fields = MSG.unpack(reply)
    return fields[0], fields[2]


def check_refused(socket_path, expected_errno, what, **message):
    """A request tas must answer with TAS_REG_ERROR, status -expected_errno."""
    reply = request(socket_path, **message)
    harness.check(reply == (TAS_REG_ERROR, -expected_errno),
                  f'{what}: expected ERROR {-expected_errno}, got {reply}')


def app_id_of(tas, pid, timeout=10):
    """The id tas gave the application that process pid registered."""
    return int(tas.proc.wait_output(rf'app (\d+) registered: pid {pid} ', timeout).group(1))


def wait_joined(tas, app_id, pid, timeout=10):
    tas.proc.wait_output(rf'app {app_id}: pid {pid} uid \d+ joined', timeout)


def wait_released(tas, app_id, pid, timeout=10):
    """tas freed the application's region: every flow and context is gone."""
    tas.proc.wait_output(rf'app {app_id} \(pid {pid}\) released', timeout)
