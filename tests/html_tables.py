"""Read an HTML table back into text, to hold a report's notebook form to its printed form.

``html_rows(markup)``: the caption (as a one-cell row) and every ``<tr>``'s cells, unescaped, in order.
``assert_same_cells(text, markup)``: the printed table and the HTML carry the same strings in the same order
(rules of dashes left out; padding ignored, so a cell is compared by its words).
"""
from html.parser import HTMLParser


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "caption"):
            self._cell = []
            if tag == "caption":
                self.rows.append([])

    def handle_endtag(self, tag):
        if tag in ("td", "th", "caption") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_rows(markup):
    parser = _Cells()
    parser.feed(markup)
    parser.close()
    return parser.rows


def text_rows(text):
    return [line for line in text.splitlines() if line.strip() and set(line) - {"-", " "}]


def assert_same_cells(text, markup):
    printed = [line.split() for line in text_rows(text)]
    shown = [" ".join(row).split() for row in html_rows(markup)]
    assert shown == printed, f"HTML rows differ from the printed table:\n{text}\n---\n{markup}"
