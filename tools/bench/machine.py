"""The conditions a benchmark ran under: machine, kernel, settings that
move latency figures, the build, and the source tree's state."""

import json
import os
import platform
import subprocess
import time

HALT_POLL_PATH = '/sys/module/haltpoll/parameters/guest_halt_poll_ns'
HUGEPAGES_DIR = '/sys/kernel/mm/hugepages/hugepages-2048kB'


def read_first_line(path, missing='not present'):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return missing


def command_output(argv, missing='unknown', strip=True):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return missing
    if done.returncode != 0:
        return missing
    return done.stdout.strip() if strip else done.stdout


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def load_average():
    return ' '.join(f'{value:.2f}' for value in os.getloadavg())


def build_options(build_dir):
    """buildtype, optimization, debug, b_ndebug and b_lto of a meson build
    directory, from `meson introspect`."""
    text = command_output(['meson', 'introspect', '--buildoptions', build_dir], '')
    wanted = ('buildtype', 'optimization', 'debug', 'b_ndebug', 'b_lto')
    try:
        options = {o['name']: o['value'] for o in json.loads(text)}
    except (ValueError, KeyError, TypeError):
        return {name: 'unknown' for name in wanted}
    return {name: options.get(name, 'unknown') for name in wanted}


def source_state(source_root):
    """Commit of the source tree and the files changed since (others may
    be editing it while a benchmark runs)."""
    commit = command_output(['git', '-C', source_root, 'rev-parse', '--short', 'HEAD'])
    changed = command_output(['git', '-C', source_root, 'status', '--porcelain',
                              '--untracked-files=no'], '', strip=False)
    files = [line[3:] for line in changed.splitlines() if line.strip()]
    return commit, files


def conditions(source_root, build_dir):
    """Everything worth recording with the figures, as an ordered dict of
    label -> text."""
    commit, changed = source_state(source_root)
    build = build_options(build_dir)
    return {
        'date': time.strftime('%Y-%m-%d %H:%M %Z'),
        'CPU': cpu_model(),
        'cores (online CPUs)': str(os.cpu_count()),
        'kernel': platform.release(),
        'guest_halt_poll_ns': read_first_line(HALT_POLL_PATH),
        'hugepages (2 MB) total/free at start':
            f'{read_first_line(HUGEPAGES_DIR + "/nr_hugepages", "0")}/'
            f'{read_first_line(HUGEPAGES_DIR + "/free_hugepages", "0")}',
        'DPDK': command_output(['pkg-config', '--modversion', 'libdpdk']),
        'compiler': command_output(['cc', '--version']).split('\n')[0],
        'build directory': os.path.abspath(build_dir),
        'build type': ', '.join(f'{k}={v}' for k, v in build.items()),
        'source': f'commit {commit}' + (f', with uncommitted changes to '
                                        f'{", ".join(changed)}' if changed else ''),
        'load average at start': load_average(),
    }


def is_release(build_dir):
    return build_options(build_dir)['buildtype'] == 'release'
