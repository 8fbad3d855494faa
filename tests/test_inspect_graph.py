"""Graph export: DOT text whose nodes and edges match the recorded graph, and the same graph as a Pillow PNG."""
import io
import re

import numpy
import pytest
from PIL import Image

import minitl
from minitl import nn
from minitl.inspect.graph import _PNG_COLORS


def _parse(dot):
    nodes = {m[0]: m[1:] for m in re.findall(r'^\s+(\w+) \[label="(.*?)", (.*)\];$', dot, flags=re.M)}
    edges = re.findall(r"^\s+(\w+) -> (\w+);$", dot, flags=re.M)
    return nodes, edges


def _small():
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    net[2].freeze()
    x = minitl.tensor(numpy.ones((4, 3), dtype=numpy.float32))
    return net, net(x).sum()


def test_dot_nodes_and_edges_match_the_graph():
    net, loss = _small()
    loss.backward(retain_graph=True)
    dot = minitl.inspect.to_dot(loss)
    assert dot.startswith("digraph minitl {") and dot.rstrip().endswith("}")
    nodes, edges = _parse(dot)
    # ops: Linear, ReLU, Linear, Sum = 4; tensors: x, W1, b1, h, r, W2, b2, out, loss = 9
    ops = [n for n, (label, _) in nodes.items() if label.split("\\n")[0].endswith("Backward")]
    assert len(ops) == 4 and len(nodes) == 13
    # each op: one edge per input plus one to its output: 3 + 1 + 3 + 1 inputs, 4 outputs
    assert len(edges) == 8 + 4
    assert all(a in nodes and b in nodes for a, b in edges)
    labels = {label.split("\\n")[0]: (label, style) for label, style in nodes.values()}
    frozen_label, frozen_style = labels["2.weight"]
    assert "dashed" in frozen_style and "frozen: no gradient" in frozen_label
    trained_label, trained_style = labels["0.weight"]
    assert "grad norm" in trained_label and "dashed" not in trained_style
    assert any("needs no gradient" in label for label, _ in nodes.values())  # the input x
    assert "LinearBackward\\n0" in dot  # the op carries its layer's path


def test_frozen_prefix_is_outside_the_dot_graph():
    model = minitl.models.SmallCNN(10).freeze_to(2)
    out = model(minitl.tensor(numpy.zeros((1, 1, 28, 28), dtype=numpy.float32)))
    nodes, _ = _parse(minitl.inspect.to_dot(out))
    text = " ".join(label for label, _ in nodes.values())
    assert "backbone.block3.0" in text and "block1" not in text and "block2" not in text


def test_draw_graph_png(tmp_path):
    _, loss = _small()
    image = minitl.inspect.draw_graph(loss, tmp_path / "graph.png")
    with open(tmp_path / "graph.png", "rb") as f:
        assert f.read(4) == b"\x89PNG"
    pixels = numpy.asarray(image.convert("RGB")).astype(int)
    assert image.height > image.width  # layers go top to bottom: 8 layers deep, at most 3 wide
    def share(color):  # noqa: E306
        return (numpy.abs(pixels - numpy.array(color)).max(axis=-1) <= 2).mean()
    assert share(_PNG_COLORS["op"][0]) > 0.01        # op boxes
    assert share(_PNG_COLORS["frozen"][0]) > 0.005   # the frozen head's parameters
    assert share(_PNG_COLORS["parameter"][0]) > 0.005


def test_to_dot_path_needs_graphviz(monkeypatch, tmp_path):
    monkeypatch.setattr("minitl.inspect.graph.shutil.which", lambda name: None)
    _, loss = _small()
    with pytest.raises(RuntimeError, match="'dot' program is not installed; use draw_graph"):
        minitl.inspect.to_dot(loss, tmp_path / "g.png")


def test_draw_graph_displays_itself_in_a_notebook_without_a_file():
    _, loss = _small()
    image = minitl.inspect.draw_graph(loss)  # a PIL image: Jupyter shows it through its _repr_png_
    png = image._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and Image.open(io.BytesIO(png)).size == image.size
