"""Read a callgrind output file: for each function, how often it was
called and the instructions executed inside it, callees included
(inclusive cost), summed over every call site.

Format: https://valgrind.org/docs/manual/cl-format.html.  Functions are
named once as `fn=(id) name` or `cfn=(id) name` and by `(id)` after that;
a call is `cfn=...`, then `calls=COUNT TARGET`, then the cost line of the
call, whose last field is its inclusive Ir (the only event recorded
without cache simulation).  A recursive function would be counted once
per level; the functions measured here do not recurse.
"""

import re

NAMED = re.compile(r'^c?fn=\((\d+)\)(?: (.*))?$')


def cost_of(line):
    fields = line.split()
    return int(fields[-1]) if len(fields) > 1 else 0


def read(path):
    """{'calls': {name: n}, 'inclusive': {name: Ir}, 'total': Ir}."""
    names = {}
    calls = {}
    inclusive = {}
    total = 0
    callee = None
    call_pending = False
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            named = NAMED.match(line)
            if named:
                number, name = named.groups()
                if name is not None:
                    names[number] = name
                if line.startswith('cfn='):
                    callee = names.get(number, f'({number})')
                continue
            if line.startswith('calls='):
                calls[callee] = calls.get(callee, 0) + int(line[6:].split()[0])
                call_pending = True
                continue
            if line.startswith(('summary:', 'totals:')):
                total = max(total, int(line.split()[1]))
                continue
            if call_pending and line and (line[0].isdigit() or line[0] in '+-*'):
                inclusive[callee] = inclusive.get(callee, 0) + cost_of(line)
                call_pending = False
    return {'calls': calls, 'inclusive': inclusive, 'total': total}
