"""Charts of numbers: line charts (training curves), grouped bar charts and accuracy against n.

    line_chart({"train": [0.9, 0.6, 0.5], "val": [1.0, 0.7, 0.65]}, "loss.png", y_title="loss")
    bar_chart({"n=10": {"fe": [0.71, 0.73], "ft": [0.78, 0.80]}}, "acc.png")       mean and error bar
    accuracy_vs_n({"fe": {10: [0.71, 0.73], 50: [0.80, 0.81]}, "ft": {...}}, "acc_vs_n.png")

Each writes a PNG (when ``path`` is given) and returns the Pillow image. Where a value is a list of
repeated runs, the bar or point is their mean and the error bar one standard deviation (ddof=1),
which a student should read as "how much the result moves from seed to seed".
"""
import math

from .canvas import INK, PALETTE, Axes, format_percent, format_tick, new_image, nice_ticks, padded, save_png


def plot_box(size):
    """(left, top, right, bottom) of the plot area: room for the title and legend above, tick labels left/below."""
    return 80, 76, size[0] - 24, size[1] - 60


def mean_and_spread(value):
    """(mean, standard deviation) of a number or a list of repeated measurements (spread 0 for one)."""
    values = [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if not values:
        raise ValueError("an empty list of measurements has no mean")
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, spread


def _measurements(groups):
    """Every number in ``{group: {series: value or [repeats]}}``."""
    return [float(v) for values in groups.values() for value in values.values()
            for v in (value if isinstance(value, (list, tuple)) else [value])]


def _finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def _range(values, zero=False):
    values = _finite(values)
    if not values:
        raise ValueError("nothing to plot: every value is missing or not finite")
    low, high = min(values), max(values)
    return (min(low, 0.0) if zero else low), high


def line_chart(series, path=None, x=None, title="", x_title="step", y_title="", size=(720, 440), spread=None):
    """One line per entry of ``series`` ({name: [y, ...]}); ``x`` (shared) defaults to 1, 2, 3, ...

    Missing (None) or non-finite values leave a gap, so a skipped step does not draw a fake drop.
    ``spread`` ({name: [half-height, ...]}, optional): an error bar y +- half-height at each point,
    e.g. the standard deviation over seeds.
    """
    if not series:
        raise ValueError("line_chart: series is empty; pass {name: [values]}")
    spread = spread or {}
    image, draw = new_image(*size)
    xs = {name: list(x) if x is not None else list(range(1, len(ys) + 1)) for name, ys in series.items()}
    all_x = [v for values in xs.values() for v in values]
    all_y = [v for ys in series.values() for v in ys]
    all_y += [y + sign * e for name, errors in spread.items() for y, e in zip(series[name], errors)
              if y is not None and e is not None for sign in (-1, 1)]
    x_range = (min(all_x), max(all_x))
    y_range = _range(all_y)
    axes = Axes(image, plot_box(size), padded(*x_range), padded(*y_range), x_ticks=nice_ticks(*x_range),
                y_ticks=nice_ticks(*y_range))
    axes.frame(x_title=x_title, y_title=y_title, title=title)
    for i, (name, ys) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        run = []
        for xv, yv in zip(xs[name], ys):
            if yv is None or not math.isfinite(yv):
                run = []
                continue
            run.append(axes.px(xv, yv))
            if len(run) > 1:
                draw.line(run[-2:], fill=color, width=2)
        for xv, yv in zip(xs[name], ys):
            if yv is not None and math.isfinite(yv) and len(ys) <= 60:
                px, py = axes.px(xv, yv)
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=color)
        for xv, yv, error in zip(xs[name], ys, spread.get(name, ())):
            if yv is not None and error and math.isfinite(yv) and math.isfinite(error):
                _error_bar(draw, axes.px(xv, yv)[0], axes.px(xv, yv - error)[1], axes.px(xv, yv + error)[1])
    axes.legend(list(series), [PALETTE[i % len(PALETTE)] for i in range(len(series))])
    return save_png(image, path)


def _error_bar(draw, x, y_low, y_high, half_width=5, color=INK, width=1):
    draw.line([(x, y_low), (x, y_high)], fill=color, width=width)
    draw.line([(x - half_width, y_low), (x + half_width, y_low)], fill=color, width=width)
    draw.line([(x - half_width, y_high), (x + half_width, y_high)], fill=color, width=width)


def bar_chart(groups, path=None, title="", y_title="", x_title="", size=(760, 440), percent=False):
    """Grouped bars: ``groups`` = {group: {series: value or [repeats]}}; error bars where repeats are given.

    Example: accuracy by strategy at each n, or seconds per step by strategy. ``percent``: fractions
    labelled as percentages (0.785 -> 78.5 %). When no value is negative (seconds, accuracies) an
    error bar stops at 0: one standard deviation below a small mean would claim impossible values.
    """
    if not groups:
        raise ValueError("bar_chart: groups is empty; pass {group: {series: value}}")
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    stats = {g: {s: mean_and_spread(v) for s, v in values.items()} for g, values in groups.items()}
    tops = [m + e for values in stats.values() for m, e in values.values()]
    floor = 0.0 if min(_measurements(groups)) >= 0 else -math.inf
    image, draw = new_image(*size)
    n = len(groups)
    axes = Axes(image, plot_box(size), (-0.5, n - 0.5), _range(tops, zero=True),
                x_ticks=[-0.5, n - 0.5], y_format=format_percent if percent else format_tick)
    axes.frame(x_labels={i: str(g) for i, g in enumerate(groups)}, x_title=x_title, y_title=y_title, title=title)
    width = 0.8 / len(series)
    for gi, values in enumerate(stats.values()):
        for si, name in enumerate(series):
            if name not in values:
                continue
            mean, spread = values[name]
            left = gi - 0.4 + si * width
            x0, y0 = axes.px(left + 0.05 * width, mean)
            x1, y1 = axes.px(left + 0.95 * width, 0.0)
            draw.rectangle([x0, min(y0, y1), x1, max(y0, y1)], fill=PALETTE[si % len(PALETTE)])
            if spread > 0:
                cx, low = axes.px(left + width / 2, max(mean - spread, floor))
                _, high = axes.px(left + width / 2, mean + spread)
                _error_bar(draw, cx, low, high)
    axes.legend(series, [PALETTE[i % len(PALETTE)] for i in range(len(series))])
    return save_png(image, path)


def accuracy_vs_n(results, path=None, title="accuracy vs labelled images per class", y_title="accuracy",
                  x_title="n (labelled images per class)", size=(760, 460), chance=None, percent=True):
    """One colour per strategy: ``results`` = {strategy: {n: accuracy or [repeats]}}, mean with error bars.

    n is placed on a log2 axis (1, 2, 5, 10, 50, ... spread evenly), as few-shot results usually are.
    Only the measured n are drawn, as points: no line joins them, because a straight line between
    n = 1 and n = 100 would show a crossover where nothing was measured. ``chance``: the accuracy of
    guessing (1 / classes), drawn as a dashed line. ``percent``: the y axis in percent, as the tables.
    """
    if not results:
        raise ValueError("accuracy_vs_n: results is empty; pass {strategy: {n: [accuracies]}}")
    ns = sorted({int(n) for per_n in results.values() for n in per_n})
    if ns[0] <= 0:
        raise ValueError(f"accuracy_vs_n: n must be positive, got {ns[0]}")
    stats = {s: {int(n): mean_and_spread(v) for n, v in per_n.items()} for s, per_n in results.items()}
    lows = [m - e for per_n in stats.values() for m, e in per_n.values()] + ([chance] if chance is not None else [])
    highs = [m + e for per_n in stats.values() for m, e in per_n.values()]
    image, draw = new_image(*size)
    logs = [math.log2(n) for n in ns]
    axes = Axes(image, plot_box(size), padded(logs[0], logs[-1]),
                padded(min(lows), max(highs)), y_ticks=nice_ticks(min(lows), max(highs)),
                x_ticks=logs if len(ns) > 1 else [logs[0] - 1, logs[0] + 1],
                y_format=format_percent if percent else format_tick)
    axes.frame(x_labels={math.log2(n): str(n) for n in ns}, x_title=x_title, y_title=y_title, title=title)
    if chance is not None:
        axes.hline(chance, f"chance ({format_percent(chance) if percent else format_tick(chance)})")
    spacing = min(9, 60 / max(len(stats), 1))
    for i, per_n in enumerate(stats.values()):
        color = PALETTE[i % len(PALETTE)]
        dodge = (i - (len(stats) - 1) / 2) * spacing  # pixels: strategies at the same n side by side
        points = [((axes.px(math.log2(n), m)[0] + dodge, axes.px(math.log2(n), m)[1]), e, n, m)
                  for n, (m, e) in sorted(per_n.items())]
        for (px, py), spread, n, mean in points:
            if spread > 0:  # in the strategy's colour: with no line joining points, the colour says whose it is
                _, low = axes.px(math.log2(n), mean - spread)
                _, high = axes.px(math.log2(n), mean + spread)
                _error_bar(draw, px, low, high, color=color, width=2)
            draw.ellipse([px - 5, py - 5, px + 5, py + 5], fill=color)
    axes.legend(list(stats), [PALETTE[i % len(PALETTE)] for i in range(len(stats))])
    return save_png(image, path)


def history_chart(history, path=None, size=(1200, 420)):
    """Loss and accuracy per epoch of a ``History`` (train and, when measured, val), side by side."""
    panels = []
    for metric in ("loss", "accuracy"):
        series = {split: history[f"{split}_{metric}"] for split in ("train", "val")
                  if any(f"{split}_{metric}" in record for record in history.epochs)}
        series = {k: v for k, v in series.items() if _finite(v)}
        if series:
            epochs = [record["epoch"] for record in history.epochs]
            panels.append(line_chart(series, None, x=epochs, title=metric, x_title="epoch", y_title=metric,
                                     size=(size[0] // 2, size[1])))
    if not panels:
        raise ValueError("History.plot: no epoch has a loss or an accuracy yet; train with fit() first")
    image, _ = new_image(sum(p.width for p in panels), size[1])
    for i, panel in enumerate(panels):
        image.paste(panel, (i * panels[0].width, 0))
    return save_png(image, path)
