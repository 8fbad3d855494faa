"""Pillow pictures: PNG files of the expected size, with ink where the data should be (pixel statistics)."""
import base64
import io

import numpy
import pytest
from PIL import Image

import minitl
from minitl import viz
from minitl.train.history import History
from minitl.viz import canvas
from minitl.viz.charts import plot_box


def _load(path):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return numpy.asarray(Image.open(path).convert("RGB")).astype(int)


def _load_image(image):
    return numpy.asarray(image.convert("RGB")).astype(int)


def _share_of_color(pixels, color, tolerance=10):
    return float((numpy.abs(pixels - numpy.array(color)).max(axis=-1) <= tolerance).mean())


def test_line_chart_draws_each_series_inside_the_plot_area(tmp_path):
    path = tmp_path / "loss.png"
    image = viz.line_chart({"train": [1.0, 0.5, 0.3], "val": [1.2, 0.8, float("nan")]}, path, title="loss")
    pixels = _load(path)
    assert image.size == (720, 440) and pixels.shape == (440, 720, 3)
    left, top, right, bottom = plot_box(image.size)
    inside = pixels[top:bottom, left:right]
    assert _share_of_color(inside, canvas.PALETTE[0]) > 0.001  # train's line
    assert _share_of_color(inside, canvas.PALETTE[1]) > 0.0005  # val's line
    assert _share_of_color(pixels[:, :left - 60], canvas.PALETTE[0]) == 0  # nothing drawn in the left margin
    # the train line starts high on the left and ends low on the right
    blue = numpy.argwhere(numpy.abs(inside - numpy.array(canvas.PALETTE[0])).max(axis=-1) <= 10)
    first, last = blue[blue[:, 1].argmin()], blue[blue[:, 1].argmax()]
    assert first[0] < last[0]



def test_line_chart_spread_draws_error_bars_and_widens_the_y_range(tmp_path):
    plain = _load_image(viz.line_chart({"benefit": [0.0, 0.1]}, tmp_path / "plain.png"))
    barred = _load_image(viz.line_chart({"benefit": [0.0, 0.1]}, tmp_path / "bars.png",
                                        spread={"benefit": [0.05, 0.3]}))
    ink = numpy.array(canvas.INK)
    left, top, right, bottom = plot_box((720, 440))
    dark = [int((numpy.abs(p[top:bottom, left + 4:right - 4] - ink).max(axis=-1) <= 10).sum()) for p in (plain, barred)]
    assert dark[1] > dark[0] + 40  # the two vertical bars (the axis frame is the same in both)
    blue = [numpy.argwhere(numpy.abs(p - numpy.array(canvas.PALETTE[0])).max(axis=-1) <= 10) for p in (plain, barred)]
    assert numpy.ptp(blue[1][:, 0]) < numpy.ptp(blue[0][:, 0])  # the y axis now reaches 0.1 +- 0.3: a flatter line

def test_bar_chart_bar_heights_follow_the_means(tmp_path):
    groups = {"n=10": {"fe": [0.2, 0.3], "ft": 0.8}}
    image = viz.bar_chart(groups, tmp_path / "bars.png")
    pixels = _load(tmp_path / "bars.png")
    left, top, right, bottom = plot_box(image.size)
    heights = []
    for color in canvas.PALETTE[:2]:
        rows = numpy.argwhere(numpy.abs(pixels[top:bottom, left:right] - numpy.array(color)).max(axis=-1) <= 5)[:, 0]
        heights.append(bottom - top - rows.min())
    assert heights[1] / heights[0] == pytest.approx(0.8 / 0.25, rel=0.05)


def test_accuracy_vs_n_and_history_plot(tmp_path):
    image = viz.accuracy_vs_n({"fe": {10: [0.7, 0.72], 50: [0.8, 0.82]}, "ft": {10: [0.6, 0.7], 50: 0.9}},
                              tmp_path / "acc.png")
    pixels = _load(tmp_path / "acc.png")
    assert image.size == (760, 460)
    assert _share_of_color(pixels, canvas.PALETTE[0]) > 0.001 and _share_of_color(pixels, canvas.PALETTE[1]) > 0.001
    history = History(epochs=[{"epoch": i, "train_loss": 1 / i, "val_loss": 1.1 / i, "train_accuracy": 0.5 + i / 10}
                              for i in range(1, 4)])
    image = history.plot(tmp_path / "history.png")
    pixels = _load(tmp_path / "history.png")
    assert image.size == (1200, 420)
    for half in (pixels[:, :600], pixels[:, 600:]):  # a loss panel and an accuracy panel, each with ink
        assert _share_of_color(half, canvas.PALETTE[0]) > 0.001
    with pytest.raises(ValueError, match="no epoch has a loss"):
        History().plot()


def test_image_grid_size_and_caption_colours(tmp_path):
    images = numpy.zeros((6, 1, 10, 10))
    images[:, :, 2:8, 2:8] = 1.0
    image = viz.image_grid(images, tmp_path / "grid.png", labels=[0, 1, 2, 3, 4, 5],
                           predictions=[0, 1, 2, 3, 4, 0], columns=3, scale=2)
    pixels = _load(tmp_path / "grid.png")
    assert image.size[1] == 8 + 2 * (20 + 36 + 8)  # two rows of 20 px tiles with two caption lines
    x0 = int(numpy.argwhere(pixels[8, :, 0] == 0)[0, 0])  # the first tile's black top-left corner
    tile = pixels[8:28, x0:x0 + 20]
    assert tile[8:12, 8:12].min() == 255 and tile[0:3, 0:3].max() == 0  # the bright square, the black border
    assert _share_of_color(pixels, (200, 30, 30), 40) > 0  # one wrong prediction, in red
    filters = viz.filter_grid(numpy.random.default_rng(0).standard_normal((16, 1, 3, 3)), tmp_path / "f.png")
    assert filters.size[0] > 8 * 36
    viz.feature_maps(numpy.random.default_rng(0).random((1, 4, 5, 5)), tmp_path / "maps.png", columns=4)
    assert _load(tmp_path / "maps.png").std() > 20


def test_confusion_matrix_diagonal_is_darker(tmp_path):
    y = numpy.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    p = numpy.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 0])
    image = viz.confusion_matrix(y, p, tmp_path / "cm.png", class_names=["a", "b", "c"], cell=40)
    pixels = _load(tmp_path / "cm.png")
    margin = image.size[0] - 20 - 3 * 40
    def cell(r, c):  # noqa: E306
        return pixels[margin + r * 40 + 3: margin + r * 40 + 10, margin + c * 40 + 3: margin + c * 40 + 10].mean()
    assert cell(2, 2) < cell(0, 0) < cell(0, 2) == 255  # 3 > 2 > 0 counts: darker is more


def test_gradient_heat_strip_greys_out_frozen_layers(tmp_path):
    image = viz.gradient_heat_strip({"frozen": [None] * 5, "head": [0.1, 0.2, 0.4, 0.8, 1.6]}, tmp_path / "g.png")
    pixels = _load(tmp_path / "g.png")
    assert image.size[1] == 30 + 2 * 22 + 34
    head_row = pixels[30 + 22 + 5: 30 + 22 + 15]
    frozen_row = pixels[35:45]
    assert _share_of_color(head_row, (165, 40, 20), 2) > 0.01  # the largest norm is the darkest red
    assert _share_of_color(frozen_row, (215, 215, 215), 3) > 0.05


def test_fonts_fall_back_to_pillows_default(monkeypatch, tmp_path):
    monkeypatch.setattr(canvas, "FONT_NAMES", ("no-such-font.ttf",))
    canvas.font.cache_clear()
    try:
        image = viz.line_chart({"a": [1, 2, 3]}, tmp_path / "a.png", title="fallback")
        assert _load(tmp_path / "a.png")[:40].min() < 100  # the title was written
        assert image.size == (720, 440)
    finally:
        canvas.font.cache_clear()


class _NoFreeType:
    """Stands in for Pillow's ``_imagingft`` where Pillow was built without FreeType (as Pillow does itself)."""

    def __getattr__(self, name):
        raise ImportError("The _imagingft C module is not installed")


def test_fonts_fall_back_to_the_bitmap_font_where_pillow_has_no_freetype(monkeypatch, tmp_path):
    from PIL import ImageFont

    monkeypatch.setattr(ImageFont, "core", _NoFreeType())
    with pytest.raises(ImportError):
        ImageFont.truetype(canvas.FONT_NAMES[0], 12)  # what a browser build of Pillow does
    canvas.font.cache_clear()
    try:
        assert type(canvas.font(12)) is ImageFont.ImageFont  # the bitmap font, not a FreeType one
        image = viz.line_chart({"a": [1, 2, 3]}, tmp_path / "a.png", title="no FreeType")
        assert _load(tmp_path / "a.png")[:40].min() < 100  # the title was written
        assert image.size == (720, 440)
    finally:
        canvas.font.cache_clear()


def test_data_uri_embeds_the_png():
    image = viz.bar_chart({"time": {"fe": 1.0, "ft": 3.0}}, None, y_title="seconds per step")
    uri = viz.data_uri(image)
    assert uri.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decoded.size == image.size


def test_heat_strip_from_step_reports(tmp_path, rng):
    model = minitl.models.SmallCNN(10).freeze_to(3)
    optimizer = minitl.optim.SGD(model.parameters(), lr=0.01)
    reports = []
    for _ in range(3):
        optimizer.zero_grad()
        x = minitl.tensor(rng.standard_normal((2, 1, 28, 28)))
        minitl.nn.functional.cross_entropy(model(x), minitl.tensor(numpy.array([1, 2]))).backward()
        optimizer.step()
        reports.append(minitl.inspect.step_report(model, optimizer))
    norms = viz.images.norms_per_parameter(reports)
    assert norms["backbone.block1.0.weight"] == [None, None, None]
    assert all(v > 0 for v in norms["head.weight"]) and len(norms["head.weight"]) == 3
    image = viz.gradient_heat_strip(reports, tmp_path / "strip.png")
    assert image.size[1] == 30 + len(norms) * 22 + 34


def test_accuracy_vs_n_draws_measured_points_only_and_marks_chance(tmp_path):
    """No straight line joins n = 1 and n = 100: it would show a crossover where nothing was measured."""
    results = {"fe": {1: [0.5, 0.52], 100: [0.8, 0.82]}, "scratch": {1: [0.3, 0.32], 100: [0.9, 0.92]}}
    image = viz.accuracy_vs_n(results, tmp_path / "acc.png", chance=0.2)
    pixels = _load(tmp_path / "acc.png")
    left, top, right, bottom = plot_box(image.size)
    middle = pixels[top:bottom, (left + right) // 2 - 40:(left + right) // 2 + 40]
    for color in canvas.PALETTE[:2]:
        assert _share_of_color(pixels, color) > 0.0005  # the points are there
        assert _share_of_color(middle, color) == 0      # and nothing between them
    grey = numpy.abs(pixels[top:bottom, left + 2:right - 2] - numpy.array([120, 120, 120])).max(axis=-1) <= 10
    rows = numpy.flatnonzero(grey.sum(axis=1) > (right - left) // 3)  # the dashed line: half a row of grey
    assert len(rows) >= 1
    # 20 % sits below every point: the chance line is under the lowest mean's row
    blue = numpy.argwhere(numpy.abs(pixels[top:bottom, left:right] - numpy.array(canvas.PALETTE[1])).max(-1) <= 10)
    assert rows.min() > blue[:, 0].max()


def test_bar_error_bars_stop_at_zero_for_quantities_that_cannot_be_negative(tmp_path):
    """A time of 1 +- 3 s: the bar's lower whisker at -2 s would be impossible; it stops at the axis."""
    image = viz.bar_chart({"n=1": {"fe": [0.1, 0.2, 6.0], "ft": [3.0, 3.1]}}, tmp_path / "t.png")
    pixels = _load(tmp_path / "t.png")
    left, top, right, bottom = plot_box(image.size)
    fe_columns = numpy.flatnonzero((numpy.abs(pixels[top:bottom] - numpy.array(canvas.PALETTE[0])).max(-1) <= 5).any(0))
    whisker = (fe_columns.min() + fe_columns.max()) // 2
    ink = numpy.abs(pixels[:, whisker - 6:whisker + 7] - numpy.array(canvas.INK)).max(axis=-1) <= 10
    inked_rows = numpy.flatnonzero(ink.any(axis=1))
    assert inked_rows.min() < top + 40 and inked_rows.max() <= bottom  # the whisker's top is high; no ink below 0
    signed = viz.bar_chart({"n=1": {"fe": [-1.0, 1.0, 3.0]}}, None)  # negative data: the whisker may go below 0
    assert signed.size == image.size


def test_percent_axes_label_fractions_as_the_tables_do():
    assert canvas.format_percent(0.785) == "78.5 %" and canvas.format_percent(0.2) == "20 %"
    plain = numpy.asarray(viz.bar_chart({"n=1": {"fe": [0.5, 0.6]}}, None))
    percent = numpy.asarray(viz.bar_chart({"n=1": {"fe": [0.5, 0.6]}}, None, percent=True))
    left = plot_box((760, 440))[0]
    assert (plain[:, :left] != percent[:, :left]).any()          # the tick labels differ
    assert (plain[:, left + 1:] == percent[:, left + 1:]).all()   # the bars do not


@pytest.mark.parametrize("draw", [lambda: viz.line_chart({"loss": [1.0, 0.5, 0.25]}),
                                  lambda: viz.bar_chart({"n=1": {"fe": [0.6, 0.62], "ft": [0.5]}}),
                                  lambda: viz.image_grid(numpy.zeros((2, 1, 4, 4)))],
                         ids=["line", "bar", "images"])
def test_charts_display_themselves_in_a_notebook_without_a_file(draw):
    image = draw()  # path=None: nothing written; a PIL image, which Jupyter shows through _repr_png_
    png = image._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and Image.open(io.BytesIO(png)).size == image.size
