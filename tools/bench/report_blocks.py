"""Sections of doc/benchmarks.md that one suite owns (shim, loss), and how
they are merged into the file without touching the others.

A suite's section lives between SECTION markers at the end of the file,
its short summary between SUMMARY markers before the first `## ` heading.
Its own run replaces (or adds) both and keeps the rest of the file; a core
run (report.render) writes its own sections and carries every suite's
blocks over from the file it replaces.
"""

NEW_FILE = ('# Benchmarks\n\nWritten by `tools/bench/run.sh`: change the script and run '
            'it again rather than editing this file.\n')


def find_block(text, begin, end):
    """(start, stop) character offsets of a marked block, markers included,
    or None.  The begin marker is found by its text before ' (', so a
    changed note in it still matches."""
    start = text.find(begin.split(' (')[0])
    if start < 0:
        return None
    stop = text.find(end, start)
    if stop < 0:
        return None
    return start, stop + len(end)


class MarkedBlocks:
    """The summary and section blocks of one suite."""

    def __init__(self, summary_begin, summary_end, section_begin, section_end):
        self.summary = (summary_begin, summary_end)
        self.section = (section_begin, section_end)

    def extract(self, text):
        """The summary and section blocks of a file's text (None where
        absent)."""
        blocks = []
        for begin, end in (self.summary, self.section):
            span = find_block(text or '', begin, end)
            blocks.append(text[span[0]:span[1]] if span else None)
        return blocks

    def merge(self, text, summary_block, section_block):
        """text with the blocks replaced, or added: the summary before the
        first `## ` heading, the section at the end."""
        text = text or NEW_FILE
        for block, (begin, end), at_end in ((summary_block, self.summary, False),
                                            (section_block, self.section, True)):
            if block is None:
                continue
            span = find_block(text, begin, end)
            if span:
                text = text[:span[0]] + block + text[span[1]:]
            elif at_end:
                text = text.rstrip('\n') + '\n\n' + block + '\n'
            else:
                heading = text.find('\n## ')
                if heading < 0:
                    text = text.rstrip('\n') + '\n\n' + block + '\n'
                else:
                    text = text[:heading + 1] + block + '\n\n' + text[heading + 1:]
        return text if text.endswith('\n') else text + '\n'

    def carry_over(self, new_text, old_text):
        """A freshly rendered report with this suite's blocks of the file
        it replaces."""
        summary_block, section_block = self.extract(old_text)
        return self.merge(new_text, summary_block, section_block)
