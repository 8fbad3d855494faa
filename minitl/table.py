"""Tables: the one formatter behind ``summary()``, step reports, traces, cost and load reports.

Plain text for terminals and logs: columns are left-aligned and padded to their widest cell, a rule
of dashes sits under the header, and trailing spaces are stripped, so the output is stable to compare
in tests and diffs. HTML for notebooks: the same cells in a ``<table>``, every one escaped, so a
layer named ``<b>`` or ``a&b`` shows as written. A report builds one ``Table`` and prints it
(``str``) or lets Jupyter show it (``_repr_html_``): both forms hold the same strings, never two
formattings of one number.
"""
import html

HTML_STYLE = "border-collapse:collapse"


def text_table(header, rows, footer=()):
    """``header`` and ``rows`` (sequences of strings) as aligned lines; ``footer`` lines follow a second rule."""
    table = [list(header)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    rule = "-" * max(len(line) for line in lines)
    tail = [rule, *footer] if footer else []
    return "\n".join([lines[0], rule, *lines[1:], *tail])


def html_table(header, rows, footer=(), caption=None):
    """The same table as one ``<table>`` element: ``caption`` above, ``footer`` lines as full-width rows below."""
    def cells(tag, row):  # no style per cell: the page (or the notebook's own sheet) styles tables
        return "".join(f"<{tag}>{html.escape(str(cell))}</{tag}>" for cell in row)

    head = f"<thead><tr>{cells('th', header)}</tr></thead>"
    body = "<tbody>" + "".join(f"<tr>{cells('td', row)}</tr>" for row in rows) + "</tbody>"
    foot = "".join(f'<tr><td colspan="{len(header)}" style="text-align:left;padding:2px 10px">{html.escape(line)}'
                   "</td></tr>" for line in footer)
    title = f'<caption style="text-align:left;font-weight:600">{html.escape(caption)}</caption>' if caption else ""
    return (f'<table class="minitl-table" style="{HTML_STYLE}">{title}{head}{body}'
            f"{'<tfoot>' + foot + '</tfoot>' if foot else ''}</table>")


class Table:
    """A table as data: ``header``, ``rows`` (strings), ``footer`` lines, an optional ``caption`` line above.

    ``str(table)`` is the text form (the caption on its own line, then ``text_table``); ``table.html()``
    the HTML form of the very same cells.
    """

    def __init__(self, header, rows, footer=(), caption=None):
        self.header, self.rows = tuple(header), [tuple(row) for row in rows]
        self.footer, self.caption = list(footer), caption

    def __str__(self):
        text = text_table(self.header, self.rows, self.footer)
        return f"{self.caption}\n{text}" if self.caption is not None else text

    def html(self) -> str:
        return html_table(self.header, self.rows, self.footer, self.caption)

    _repr_html_ = html


class TableReport:
    """Base of a report that is one table: the subclass gives ``table()``; ``print`` shows its text, a notebook
    cell its HTML (Jupyter calls ``_repr_html_``), and ``repr`` stays the text a terminal has always shown."""

    def table(self) -> Table:
        raise NotImplementedError(f"{type(self).__name__} must define table()")

    def __str__(self):
        return str(self.table())

    def __repr__(self):
        return str(self.table())

    def _repr_html_(self):
        return self.table().html()
