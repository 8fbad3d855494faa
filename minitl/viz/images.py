"""Pictures of arrays: image grids (a batch, conv filters, feature maps), confusion matrices, gradient heat strips.

    image_grid(x[:16], "batch.png", labels=y, predictions=pred, class_names=names)
    filter_grid(model.backbone.block1[0].weight, "conv1.png")         one tile per output channel
    feature_maps(activation[0], "maps.png")                            one tile per channel of one image
    confusion_matrix(y_true, y_pred, "confusion.png", class_names=names)
    gradient_heat_strip({"block3.0.weight": [...], "head.weight": [...]}, "grads.png")

Each writes a PNG (when ``path`` is given) and returns the Pillow image. Tiles are scaled one by
one to their own min..max, so a student compares shapes, not brightness, across tiles.
"""
import math

import numpy
from PIL import Image, ImageDraw

from ..core import backend
from ..core.tensor import Tensor
from .canvas import INK, font, new_image, save_png, text_size

GOOD, BAD = (34, 139, 34), (200, 30, 30)


def as_numpy(values):
    """A Tensor, CuPy or NumPy array (or nested lists) as a float64 NumPy array."""
    return backend.asnumpy(values.data if isinstance(values, Tensor) else values).astype(numpy.float64)


def _tile(array, scale):
    """(H, W) or (3, H, W) / (H, W, 3) values -> an RGB tile scaled to its own range, enlarged ``scale`` times."""
    a = as_numpy(array)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    low, high = numpy.nanmin(a), numpy.nanmax(a)
    a = numpy.zeros_like(a) if high <= low else (a - low) / (high - low)
    image = Image.fromarray((a * 255).round().astype(numpy.uint8)).convert("RGB")
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def image_grid(images, path=None, labels=None, predictions=None, class_names=None, columns=None, scale=3,
               captions=None):
    """A grid of images, shape (N, C, H, W) or (N, H, W); under each its label, and the prediction.

    With ``predictions`` the caption is green where the prediction equals the label and red where not.
    """
    images = as_numpy(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"image_grid: expected (N, C, H, W) or (N, H, W) images, got shape {images.shape}")
    n = len(images)
    columns = columns or min(n, 8)
    rows = math.ceil(n / columns)
    names = list(class_names) if class_names is not None else None

    def name(k):
        k = int(k)
        return names[k] if names is not None and 0 <= k < len(names) else str(k)

    tiles = [_tile(img, scale) for img in images]
    tw, th = tiles[0].size
    has_text = labels is not None or predictions is not None or captions is not None
    caption_h = (18 if labels is not None or captions is not None else 0) + (18 if predictions is not None else 0)
    pad = 8
    label_values = as_numpy(labels).astype(int) if labels is not None else None
    pred_values = as_numpy(predictions).astype(int) if predictions is not None else None
    texts = [str(c) for c in captions or ()] + [name(k) for k in (label_values if label_values is not None else ())]
    texts += ["pred " + name(k) for k in (pred_values if pred_values is not None else ())]
    _, probe = new_image(1, 1)
    cell_w = max([tw] + [text_size(probe, t, 12)[0] + 4 for t in texts]) if has_text else tw
    image, draw = new_image(pad + columns * (cell_w + pad), pad + rows * (th + caption_h + pad))
    for i, tile in enumerate(tiles):
        x, y = pad + (i % columns) * (cell_w + pad), pad + (i // columns) * (th + caption_h + pad)
        image.paste(tile, (x + (cell_w - tw) // 2, y))
        ty = y + th + 2
        if captions is not None:
            draw.text((x, ty), str(captions[i]), fill=INK, font=font(12))
            ty += 18
        if label_values is not None:
            draw.text((x, ty), name(label_values[i]), fill=INK, font=font(12))
            ty += 18
        if pred_values is not None:
            ok = label_values is None or pred_values[i] == label_values[i]
            draw.text((x, ty), "pred " + name(pred_values[i]), fill=GOOD if ok else BAD, font=font(12))
    return save_png(image, path)


def filter_grid(weight, path=None, scale=12, columns=8):
    """Conv filters (out, in, kh, kw) as tiles: the first input channel of each (or RGB when in = 3)."""
    w = as_numpy(weight)
    if w.ndim != 4:
        raise ValueError(f"filter_grid: expected a conv weight (out, in, kh, kw), got shape {w.shape}")
    tiles = w if w.shape[1] == 3 else w[:, :1]
    return image_grid(tiles, path, columns=columns, scale=scale, captions=[str(i) for i in range(len(w))])


def feature_maps(activation, path=None, scale=4, columns=8, limit=32):
    """One image's activations (C, H, W) (e.g. captured with a forward hook) as one tile per channel."""
    a = as_numpy(activation)
    if a.ndim == 4:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"feature_maps: expected (C, H, W) activations of one image, got shape {a.shape}")
    a = a[:limit]
    return image_grid(a[:, None], path, columns=columns, scale=scale, captions=[f"ch {i}" for i in range(len(a))])


def _heat(value):
    """0..1 -> white through orange to dark red."""
    v = min(max(float(value), 0.0), 1.0)
    return (int(255 - 90 * v), int(255 - 215 * v), int(255 - 235 * v))


def confusion_matrix(y_true, y_pred=None, path=None, class_names=None, cell=44):
    """Counts of (true class, predicted class); rows are the truth. Pass labels and predictions, or a matrix."""
    if y_pred is None:
        matrix = as_numpy(y_true).astype(int)
    else:
        t, p = as_numpy(y_true).astype(int).ravel(), as_numpy(y_pred).astype(int).ravel()
        if t.shape != p.shape:
            raise ValueError(f"confusion_matrix: {t.size} labels but {p.size} predictions")
        k = int(max(t.max(initial=0), p.max(initial=0))) + 1
        k = max(k, len(class_names) if class_names is not None else 0)
        matrix = numpy.zeros((k, k), dtype=int)
        numpy.add.at(matrix, (t, p), 1)
    k = matrix.shape[0]
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    image, draw = new_image(1, 1)
    margin = max(text_size(draw, n, 12)[0] for n in names) + 40
    image, draw = new_image(margin + k * cell + 20, margin + k * cell + 20)
    peak = max(int(matrix.max()), 1)
    for r in range(k):
        for c in range(k):
            x, y = margin + c * cell, margin + r * cell
            draw.rectangle([x, y, x + cell, y + cell], fill=_heat(matrix[r, c] / peak), outline=(200, 200, 200))
            text = str(int(matrix[r, c]))
            w, h = text_size(draw, text, 12)
            ink = (255, 255, 255) if matrix[r, c] / peak > 0.6 else INK
            draw.text((x + (cell - w) / 2, y + (cell - h) / 2 - 2), text, fill=ink, font=font(12))
    for i, n in enumerate(names):
        w, h = text_size(draw, n, 12)
        draw.text((margin - w - 6, margin + i * cell + (cell - h) / 2 - 2), n, fill=INK, font=font(12))
        label = Image.new("RGB", (w + 4, h + 6), (255, 255, 255))
        ImageDraw.Draw(label).text((2, 0), n, fill=INK, font=font(12))
        rotated = label.rotate(90, expand=True)
        image.paste(rotated, (margin + i * cell + (cell - rotated.width) // 2, margin - rotated.height - 6))
    draw.text((4, 4), "rows: true class, columns: predicted", fill=INK, font=font(12))
    return save_png(image, path)


def norms_per_parameter(reports, key="grad_norm"):
    """``{parameter: [value per step]}`` from a list of step reports; None where a value is text ("not computed")."""
    table = {}
    for step, report in enumerate(reports):
        for row in report:
            series = table.setdefault(row["name"], [None] * step)
            series.append(None if isinstance(row[key], str) else row[key])
    return table


def gradient_heat_strip(norms, path=None, cell=(10, 22), log_scale=True):
    """One row per layer, one column per training step, colour = gradient norm (darker is larger).

    ``norms``: {layer name: [norm per step]}, or a list with one ``minitl.inspect.step_report`` per step;
    None or "not computed" (a frozen layer) is drawn hatched grey.
    On a log scale the small gradients of the early layers stay visible next to the head's large ones.
    """
    if not isinstance(norms, dict):
        norms = norms_per_parameter(norms)
    if not norms:
        raise ValueError("gradient_heat_strip: norms is empty; pass {layer: [norm per step]}")
    names = list(norms)
    steps = max(len(v) for v in norms.values())
    values = [v for series in norms.values() for v in series if v is not None and v > 0]

    def level(v):
        if not values:
            return 0.0
        low, high = min(values), max(values)
        if log_scale:
            low, high, v = math.log10(low), math.log10(high), math.log10(max(v, min(values)))
        return 0.0 if high <= low else (v - low) / (high - low)

    image, draw = new_image(1, 1)
    margin = max(text_size(draw, n, 12)[0] for n in names) + 14
    cw, ch = cell
    scale = "log10 " if log_scale else ""
    low, high = (min(values), max(values)) if values else (0, 0)
    title = f"gradient norm per step ({scale}colour: {low:.2e} light .. {high:.2e} dark; grey: not computed)"
    width = max(margin + steps * cw + 16, text_size(draw, title, 12)[0] + 12)
    image, draw = new_image(width, 30 + len(names) * ch + 34)
    for r, name in enumerate(names):
        y = 30 + r * ch
        draw.text((4, y + 4), name, fill=INK, font=font(12))
        for c, v in enumerate(norms[name]):
            x = margin + c * cw
            if v is None:
                draw.rectangle([x, y, x + cw, y + ch - 2], fill=(215, 215, 215))
                draw.line([(x, y + ch - 2), (x + cw, y)], fill=(170, 170, 170))
            else:
                draw.rectangle([x, y, x + cw, y + ch - 2], fill=_heat(level(v)))
    draw.text((4, 6), title, fill=INK, font=font(12))
    draw.text((margin, 30 + len(names) * ch + 8), f"steps 1..{steps}", fill=INK, font=font(12))
    return save_png(image, path)
