"""The recorded graph as a picture: Graphviz DOT text (``to_dot``) or a PNG drawn with Pillow (``draw_graph``).

    loss = F.cross_entropy(model(x), y)
    print(minitl.inspect.to_dot(loss))             paste into any Graphviz viewer, or ``dot -Tpng``
    minitl.inspect.draw_graph(loss, "graph.png")   the same graph in layers, top to bottom, no graphviz needed

One node per tensor (a box: its name if it is a parameter, its shape, and after backward its
gradient norm) and one per op (an ellipse: ``LinearBackward`` and the layer it belongs to),
micrograd-style. Frozen parameters and tensors that need no gradient (the input, and everything a
frozen prefix computed: it was never recorded, frozen effect 2) are drawn grey and dashed: a
student sees where the graph ends. backward() frees the graph; draw it before, or call
``backward(retain_graph=True)`` to keep it and see the gradients on it.
"""
import shutil
import subprocess

from ..core.tensor import UnneededInput
from ..viz.canvas import font, new_image, save_png, text_size
from .names import module_path, parameter_name
from .trace import array_stats


def graph_of(tensor):
    """``(nodes, edges)`` reachable from ``tensor``: nodes are dicts (id, kind, label lines, style), edges id pairs."""
    nodes, edges, ids = [], [], {}
    order = []

    def node_id(obj, kind):
        key = id(obj)
        if key not in ids:
            ids[key] = f"{kind}{len(ids)}"
            order.append((obj, kind))
        return ids[key]

    root = node_id(tensor, "t")
    stack = [tensor]
    seen = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        fn = t.grad_fn
        if fn is None:
            continue
        op = node_id(fn, "op")
        edges.append((op, ids[id(t)]))
        for inp in map(UnneededInput.live, [t for t in fn.inputs or () if t is not None]):
            edges.append((node_id(inp, "t"), op))
            stack.append(inp)
    for obj, kind in order:
        nid = ids[id(obj)]
        if kind == "op":
            lines = [obj.name if not obj.freed else "(freed by backward)"]
            path = module_path(obj.module) if not obj.freed else ""
            nodes.append({"id": nid, "kind": "op", "lines": lines + ([path] if path else []), "style": "op"})
            continue
        name = parameter_name(obj)
        lines = ([name] if name else []) + [f"shape {tuple(obj.shape)}"]
        if obj.grad is not None:
            lines.append(f"grad norm {array_stats(obj.grad.data)['norm']:.3e}")
        if not obj.requires_grad:
            style = "frozen" if getattr(obj, "frozen", False) else "no grad"
            lines.append("frozen: no gradient" if style == "frozen" else
                         "requires_grad off (not frozen): no gradient" if name else "needs no gradient (not recorded)")
        else:
            style = "parameter" if name else "tensor"
        nodes.append({"id": nid, "kind": "tensor", "lines": lines, "style": style, "root": nid == root})
    return nodes, edges


_DOT_STYLE = {
    "op": 'shape=ellipse, style=filled, fillcolor="#dbe9f6", color="#1f77b4"',
    "tensor": 'shape=box, style=filled, fillcolor="#ffffff"',
    "parameter": 'shape=box, style="filled,bold", fillcolor="#fff2cc", color="#b8860b"',
    "frozen": 'shape=box, style="filled,dashed", fillcolor="#eeeeee", color="#999999", fontcolor="#777777"',
    "no grad": 'shape=box, style="dashed", color="#999999", fontcolor="#777777"',
}


def _quote(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(tensor, path=None) -> str:
    """Graphviz DOT text of the graph that made ``tensor``.

    With ``path`` (``.png``, ``.svg``) the text is also rendered there by Graphviz's ``dot``, when it is installed.
    """
    nodes, edges = graph_of(tensor)
    lines = ["digraph minitl {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
    for n in nodes:
        label = "\\n".join(_quote(line) for line in n["lines"])
        lines.append(f'  {n["id"]} [label="{label}", {_DOT_STYLE[n["style"]]}];')
    for a, b in edges:
        lines.append(f"  {a} -> {b};")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if path is not None:
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError("to_dot(path=...): the Graphviz 'dot' program is not installed; "
                               "use draw_graph(tensor, path) for a PNG drawn with Pillow instead")
        fmt = str(path).rsplit(".", 1)[-1]
        subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=text.encode(), check=True)
    return text


def _layers(nodes, edges):
    """Layer of each node: the longest path from it to the root, counted from the inputs, so every edge points down."""
    parents = {}
    for a, b in edges:
        parents.setdefault(b, []).append(a)
    depth = {n["id"]: 0 for n in nodes}
    root = next(n["id"] for n in nodes if n.get("root"))
    stack = [root]
    while stack:  # relax depths; the graph is acyclic
        b = stack.pop()
        for a in parents.get(b, ()):
            if depth[a] < depth[b] + 1:
                depth[a] = depth[b] + 1
                stack.append(a)
    deepest = max(depth.values())
    return {nid: deepest - d for nid, d in depth.items()}


_PNG_COLORS = {  # fill, outline, text
    "op": ((219, 233, 246), (31, 119, 180), (20, 20, 20)),
    "tensor": ((255, 255, 255), (60, 60, 60), (20, 20, 20)),
    "parameter": ((255, 242, 204), (184, 134, 11), (20, 20, 20)),
    "frozen": ((238, 238, 238), (160, 160, 160), (120, 120, 120)),
    "no grad": ((250, 250, 250), (160, 160, 160), (120, 120, 120)),
}


def _dashed_rectangle(draw, box, color, dash=6):
    x0, y0, x1, y1 = box
    for x in range(int(x0), int(x1), dash * 2):
        draw.line([(x, y0), (min(x + dash, x1), y0)], fill=color)
        draw.line([(x, y1), (min(x + dash, x1), y1)], fill=color)
    for y in range(int(y0), int(y1), dash * 2):
        draw.line([(x0, y), (x0, min(y + dash, y1))], fill=color)
        draw.line([(x1, y), (x1, min(y + dash, y1))], fill=color)


def draw_graph(tensor, path=None):
    """The graph as a PNG drawn with Pillow, top to bottom: inputs first, ``tensor`` last; returns the image."""
    nodes, edges = graph_of(tensor)
    layer = _layers(nodes, edges)
    rows = {}
    for n in nodes:
        rows.setdefault(layer[n["id"]], []).append(n)
    _, probe = new_image(1, 1)
    size = {n["id"]: (max(text_size(probe, line, 12)[0] for line in n["lines"]) + 20, 18 * len(n["lines"]) + 10)
            for n in nodes}
    row_height = {r: max(size[n["id"]][1] for n in rows[r]) for r in rows}
    gap_x, gap_y, pad = 24, 34, 20
    width = max(sum(size[n["id"]][0] + gap_x for n in row) - gap_x for row in rows.values()) + 2 * pad
    height = sum(row_height.values()) + gap_y * (len(rows) - 1) + 2 * pad
    image, draw = new_image(width, height)
    boxes, y = {}, pad
    for r in sorted(rows):
        row = rows[r]
        total = sum(size[n["id"]][0] + gap_x for n in row) - gap_x
        x = (width - total) / 2
        for n in row:
            w, h = size[n["id"]]
            top = y + (row_height[r] - h) / 2
            boxes[n["id"]] = (x, top, x + w, top + h)
            x += w + gap_x
        y += row_height[r] + gap_y
    for a, b in edges:
        ax, ay = (boxes[a][0] + boxes[a][2]) / 2, boxes[a][3]
        bx, by = (boxes[b][0] + boxes[b][2]) / 2, boxes[b][1]
        draw.line([(ax, ay), (bx, by)], fill=(120, 120, 120), width=1)
        draw.polygon([(bx, by), (bx - 4, by - 7), (bx + 4, by - 7)], fill=(120, 120, 120))
    for n in nodes:
        fill, outline, ink = _PNG_COLORS[n["style"]]
        box = boxes[n["id"]]
        if n["kind"] == "op":
            draw.rounded_rectangle(box, radius=12, fill=fill, outline=outline, width=2)
        elif n["style"] in ("frozen", "no grad"):
            draw.rectangle(box, fill=fill)
            _dashed_rectangle(draw, box, outline)
        else:
            draw.rectangle(box, fill=fill, outline=outline, width=2 if n["style"] == "parameter" else 1)
        for i, line in enumerate(n["lines"]):
            draw.text((box[0] + 10, box[1] + 5 + 18 * i), line, fill=ink, font=font(12))
    return save_png(image, path)
