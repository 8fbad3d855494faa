"""The drawing surface every minitl picture shares: fonts, colours, a plot area with axes, saving a PNG.

Pictures are drawn with Pillow alone (no matplotlib, no graphviz), so they work on a fresh
machine. Fonts: DejaVu Sans when a TrueType copy is installed, else Pillow's built-in font (one
fixed-size bitmap font where Pillow was built without FreeType, as in browser builds of Python).
``Axes`` maps data coordinates to pixels and draws the frame, "nice" ticks (1, 2, 5 times a power
of ten), labels and a legend; the chart functions in ``charts.py`` and ``images.py`` draw on it.
"""
import base64
import contextlib
import functools
import io
import math

from PIL import Image, ImageDraw, ImageFont

from ..atomic import atomic_write

# One colour per series, distinguishable in colour and when printed in grey.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
INK, GRID, BACKGROUND = (30, 30, 30), (225, 225, 225), (255, 255, 255)
FONT_NAMES = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "LiberationSans-Regular.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "Arial.ttf")


@functools.cache
def font(size=13):
    """A TrueType font of ``size`` pixels if one is installed, else Pillow's default font."""
    try:
        for name in FONT_NAMES:
            with contextlib.suppress(OSError):
                return ImageFont.truetype(name, size)
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 scales its built-in font
    except TypeError:  # Pillow < 10.1: the built-in font has one size
        return ImageFont.load_default()
    except ImportError:  # Pillow without FreeType (no _imagingft): no TrueType at all, only the bitmap font
        return ImageFont.load_default()


def text_size(draw, text, size=13):
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font(size))
    return right - left, bottom - top


def new_image(width, height):
    image = Image.new("RGB", (int(width), int(height)), BACKGROUND)
    return image, ImageDraw.Draw(image)


def save_png(image, path):
    """Write ``image`` to ``path`` as PNG (atomically) and return it; ``path`` None only returns it."""
    if path is not None:
        with atomic_write(path) as file:
            image.save(file, format="PNG")
    return image


def data_uri(image) -> str:
    """``"data:image/png;base64,..."``: a picture to put in ``<img src=...>`` of a self-contained HTML page."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def nice_ticks(low, high, count=5):
    """About ``count`` round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"cannot place ticks on a range with a non-finite end: [{low}, {high}]")
    if high <= low:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def padded(low, high, fraction=0.04):
    """The range widened by ``fraction`` of its length on each side, so end points do not sit on the frame."""
    extra = (high - low) * fraction or 0.5
    return low - extra, high + extra


def format_tick(value):
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def format_percent(value):
    """A fraction as the tables print it: 0.785 -> "78.5 %"."""
    return f"{100 * value:.3g} %"


class Axes:
    """A plot area inside ``box`` = (left, top, right, bottom) pixels, for data ranges ``x_range``, ``y_range``."""

    def __init__(self, image, box, x_range, y_range, x_ticks=None, y_ticks=None, y_format=format_tick):
        self.image, self.draw, self.y_format = image, ImageDraw.Draw(image), y_format
        self.y_ticks = y_ticks if y_ticks is not None else nice_ticks(*y_range)
        self.x_ticks = x_ticks if x_ticks is not None else nice_ticks(*x_range)
        self.left, self.top, self.right, self.bottom = box
        self.x0, self.x1 = min(x_range[0], self.x_ticks[0]), max(x_range[1], self.x_ticks[-1])
        self.y0, self.y1 = min(y_range[0], self.y_ticks[0]), max(y_range[1], self.y_ticks[-1])
        if self.x1 == self.x0:
            self.x0, self.x1 = self.x0 - 0.5, self.x1 + 0.5

    def px(self, x, y):
        """Pixel position of the data point (x, y)."""
        fx = (x - self.x0) / (self.x1 - self.x0)
        fy = (y - self.y0) / (self.y1 - self.y0)
        return self.left + fx * (self.right - self.left), self.bottom - fy * (self.bottom - self.top)

    def frame(self, x_labels=None, x_title="", y_title="", title=""):
        """Grid lines, the axes, tick labels (``x_labels``: {x: text} replaces numeric x ticks), titles."""
        d = self.draw
        for y in self.y_ticks:
            _, py = self.px(self.x0, y)
            d.line([(self.left, py), (self.right, py)], fill=GRID)
            label = self.y_format(y)
            w, h = text_size(d, label, 12)
            d.text((self.left - 8 - w, py - h / 2 - 2), label, fill=INK, font=font(12))
        for x, label in (x_labels or {x: format_tick(x) for x in self.x_ticks}).items():
            px, _ = self.px(x, self.y0)
            d.line([(px, self.bottom), (px, self.bottom + 5)], fill=INK)
            w, _ = text_size(d, label, 12)
            d.text((px - w / 2, self.bottom + 8), label, fill=INK, font=font(12))
        d.rectangle([self.left, self.top, self.right, self.bottom], outline=INK)
        if x_title:
            w, _ = text_size(d, x_title, 13)
            d.text(((self.left + self.right - w) / 2, self.bottom + 28), x_title, fill=INK, font=font(13))
        if y_title:
            w, h = text_size(d, y_title, 13)
            label = Image.new("RGB", (w + 4, h + 6), BACKGROUND)
            ImageDraw.Draw(label).text((2, 0), y_title, fill=INK, font=font(13))
            rotated = label.rotate(90, expand=True)
            self.image.paste(rotated, (max(2, self.left - 62), int((self.top + self.bottom - rotated.height) / 2)))
        if title:
            w, _ = text_size(d, title, 15)
            d.text(((self.left + self.right - w) / 2, self.top - 52), title, fill=INK, font=font(15))

    def hline(self, y, label, color=(120, 120, 120), dash=8):
        """A dashed horizontal line at data height ``y`` across the plot, ``label`` at its right end (above it)."""
        _, py = self.px(self.x0, y)
        for x in range(int(self.left), int(self.right), 2 * dash):
            self.draw.line([(x, py), (min(x + dash, self.right), py)], fill=color, width=1)
        w, h = text_size(self.draw, label, 12)
        self.draw.text((self.right - w - 4, py - h - 6), label, fill=color, font=font(12))

    def legend(self, names, colors):
        """Names with colour swatches in one row just above the plot area (never over the data)."""
        d = self.draw
        x, y = self.left, self.top - 22
        for name, color in zip(names, colors):
            d.rectangle([x, y + 3, x + 16, y + 12], fill=color)
            d.text((x + 21, y), name, fill=INK, font=font(12))
            x += 21 + text_size(d, name, 12)[0] + 18
