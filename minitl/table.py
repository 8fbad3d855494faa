"""Plain-text tables: the one formatter behind ``summary()``, step reports and block-scale reports.

Columns are left-aligned and padded to their widest cell, a rule of dashes sits under the header,
and trailing spaces are stripped, so the output is stable to compare in tests and diffs.
"""


def text_table(header, rows, footer=()):
    """``header`` and ``rows`` (sequences of strings) as aligned lines; ``footer`` lines follow a second rule."""
    table = [list(header)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    rule = "-" * max(len(line) for line in lines)
    tail = [rule, *footer] if footer else []
    return "\n".join([lines[0], rule, *lines[1:], *tail])
