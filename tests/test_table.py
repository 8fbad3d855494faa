"""The one table renderer: text for terminals, HTML for notebooks, the same cells in both, every cell escaped."""
import pytest

from html_tables import assert_same_cells, html_rows
from minitl.table import Table, TableReport, html_table, text_table


def test_html_table_escapes_every_cell_caption_and_footer():
    markup = html_table(["name", "x<y"], [["<script>alert(1)</script>", "a&b"], ["1,024", ""]],
                        footer=["n & m <i>"], caption="<b>title</b>")
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup and "a&amp;b" in markup and "x&lt;y" in markup
    assert html_rows(markup) == [["<b>title</b>"], ["name", "x<y"], ["<script>alert(1)</script>", "a&b"],
                                 ["1,024", ""], ["n & m <i>"]]
    assert 'colspan="2"' in markup  # a footer line spans the table


def test_table_prints_as_text_table_and_shows_the_same_cells():
    table = Table(("layer", "params"), [("fc", "1,290"), ("a&b", "0")], footer=["Total params: 1,290"],
                  caption="model")
    assert str(table) == "model\n" + text_table(("layer", "params"), [("fc", "1,290"), ("a&b", "0")],
                                                ["Total params: 1,290"])
    assert table._repr_html_() == table.html()
    assert_same_cells(str(table), table.html())


def test_a_table_report_prints_its_table_and_shows_it_as_html():
    class Report(TableReport):
        def table(self):
            return Table(("k", "v"), [("lr", "0.01")])

    report = Report()
    assert str(report) == repr(report) == "k   v\n--------\nlr  0.01"
    assert html_rows(report._repr_html_()) == [["k", "v"], ["lr", "0.01"]]
    with pytest.raises(NotImplementedError, match="TableReport must define table"):
        TableReport().table()
