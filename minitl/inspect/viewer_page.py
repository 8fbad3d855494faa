"""The step viewer's page: one HTML file with its CSS and JavaScript inline, and the step's data as JSON.

No network, no build step: open the file in any browser. The script reads the JSON blob
(``<script type="application/json" id="minitl-step">``) and only lays it out: every number on the
page was computed and formatted by minitl (``inspect/viewer.py``). Text goes in through
``textContent``, never as HTML, so a layer name cannot inject markup.

Every element id (and every reference to one, in the CSS and the script) starts with ``__ID__``, which
``render_page`` replaces: by nothing for the file, by a prefix of its own for each viewer shown in a
notebook, so two viewers on one page never answer to each other's ids. ``inline_frame`` puts a page
into a notebook cell: an ``<iframe srcdoc>`` whose scripts run sandboxed, apart from the notebook's.
"""
import html
import re

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>minitl step viewer</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
         background: #f6f7f9; color: #1d1d1f; }
  header { background: #1f3b57; color: #fff; padding: 14px 24px; }
  header h1 { margin: 0; font-size: 20px; font-weight: 600; }
  header .loss { margin-top: 4px; font-size: 14px; opacity: 0.9; }
  main { padding: 12px 24px 40px; max-width: 1200px; }
  section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; margin: 14px 0; padding: 12px 16px; }
  section h2 { font-size: 16px; margin: 0 0 10px; }
  .hidden { display: none; }
  .layers { display: flex; flex-wrap: wrap; gap: 8px; }
  .layer { border: 1px solid #9db6cf; background: #eef4fa; border-radius: 6px; padding: 6px 8px; min-width: 150px;
           font-size: 12px; }
  .layer .name { font-weight: 600; font-size: 13px; }
  .layer.frozen, .layer.not-computed { background: #eeeeee; border: 1px dashed #aaaaaa; color: #777777; }
  .badge { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 3px; background: #ddd; color: #555;
           margin-left: 4px; }
  .backward-grid { display: grid; grid-template-columns: 260px 1fr; gap: 16px; }
  .column-list .layer { margin-bottom: 4px; min-width: 0; }
  .column-list .layer.current { outline: 3px solid #e07b00; }
  .column-list .layer.not-computed { padding: 2px 8px; }
  .column-list .layer.not-computed .name { font-size: 12px; }
  .card { border: 1px solid #dde1e6; border-radius: 8px; padding: 10px 14px; align-self: start;
          position: sticky; top: 10px; }
  #__ID__node-op { font-size: 18px; font-weight: 600; }
  #__ID__node-module { color: #555; margin-bottom: 8px; }
  .formula { font-family: ui-monospace, Menlo, Consolas, monospace; background: #f3f0e6; padding: 6px 8px;
             border-radius: 4px; margin: 6px 0 10px; white-space: pre-wrap; }
  .flow { font-size: 14px; margin: 4px 0; }
  .flow .label { font-family: ui-monospace, Menlo, Consolas, monospace; }
  .flow.not-computed { color: #888; }
  .controls { display: flex; align-items: center; gap: 10px; margin-bottom: 10px; }
  button { font-size: 14px; padding: 5px 14px; border-radius: 5px; border: 1px solid #1f3b57; background: #fff;
           cursor: pointer; }
  button:disabled { opacity: 0.4; cursor: default; }
  #__ID__step-counter { font-weight: 600; }
  .hint { color: #777; font-size: 12px; }
  table { border-collapse: collapse; font-size: 13px; }
  th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #eee; }
  th { background: #f0f2f5; }
  td.num { font-family: ui-monospace, Menlo, Consolas, monospace; }
  .note { font-size: 12px; color: #7a4d00; }
  tr.frozen td { color: #888; background: #f7f7f7; }
  details pre { font-size: 12px; background: #f6f7f9; padding: 8px; overflow-x: auto; }
</style>
</head>
<body>
<header><h1 id="__ID__title"></h1><div class="loss" id="__ID__loss-line"></div></header>
<main>
  <section id="__ID__panel-forward"><h2>1. Forward: each layer's output</h2>
    <div class="layers" id="__ID__forward-layers"></div>
  </section>
  <section id="__ID__panel-backward"><h2>2. Backward: node by node</h2>
    <div class="controls">
      <button id="__ID__prev" type="button">&larr; Previous</button>
      <button id="__ID__next" type="button">Next &rarr;</button>
      <span id="__ID__step-counter"></span><span class="hint">(arrow keys work too)</span>
    </div>
    <div class="backward-grid">
      <div class="column-list" id="__ID__backward-layers"></div>
      <div class="card">
        <div id="__ID__node-op"></div><div id="__ID__node-module"></div>
        <div class="formula" id="__ID__node-formula"></div>
        <div class="flow">gradient arriving <span id="__ID__node-shape"></span>:
          <span id="__ID__node-arriving"></span></div>
        <div class="flow">saved for backward: <span id="__ID__node-saved"></span></div>
        <div id="__ID__node-sent"></div>
      </div>
    </div>
  </section>
  <section id="__ID__panel-update"><h2>3. Update: what the optimizer did</h2>
    <table id="__ID__update-table"><thead><tr><th>parameter</th><th>frozen</th><th>effective lr = lr x lr_scale</th>
      <th>grad norm</th><th>update norm</th><th>weight norm</th><th>update/weight</th><th>note</th></tr></thead>
      <tbody></tbody></table>
    <p class="flow" id="__ID__loss-after"></p>
  </section>
  <section><details><summary>Seed and settings of this step (to re-create it)</summary>
    <pre id="__ID__settings"></pre></details></section>
</main>
<script type="application/json" id="__ID__minitl-step">__DATA__</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("__ID__minitl-step").textContent);
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  document.getElementById("__ID__title").textContent = data.title;
  document.getElementById("__ID__loss-line").textContent =
    "loss on this batch: " + data.loss_before + " before the update, " + data.loss_after + " after it";
  ["forward", "backward", "update"].forEach(function (name) {
    if (data.panels.indexOf(name) < 0) {
      document.getElementById("__ID__panel-" + name).classList.add("hidden");
    }
  });
  var forward = document.getElementById("__ID__forward-layers");
  data.forward.forEach(function (layer) {
    var box = el("div", "layer" + (layer.frozen ? " frozen" : ""));
    var name = el("div", "name", layer.path);
    if (layer.frozen) { name.appendChild(el("span", "badge", "frozen")); }
    if (!layer.recorded) { name.appendChild(el("span", "badge", "not recorded")); }
    box.appendChild(name);
    box.appendChild(el("div", "", layer.type + " \\u2192 (" + layer.output_shape.join(", ") + ")"));
    box.appendChild(el("div", "", layer.summary.text));
    if (layer.note) { box.appendChild(el("div", "note", layer.note)); }
    forward.appendChild(box);
  });
  var list = document.getElementById("__ID__backward-layers");
  var layerBoxes = {};
  data.backward_layers.forEach(function (layer) {
    var box = el("div", "layer" + (layer.status === "ran" ? "" : " not-computed"));
    box.appendChild(el("div", "name", layer.path));
    box.appendChild(el("div", "status", layer.text));
    layerBoxes[layer.path] = box;
    list.appendChild(box);
  });
  var steps = data.backward, current = 0;
  function show(index) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    var s = steps[current];
    document.getElementById("__ID__step-counter").textContent = "step " + (current + 1) + " of " + steps.length;
    document.getElementById("__ID__node-op").textContent = s.op;
    document.getElementById("__ID__node-module").textContent = s.module;
    document.getElementById("__ID__node-formula").textContent = s.formula || "(no formula comment)";
    document.getElementById("__ID__node-shape").textContent = s.shape;
    document.getElementById("__ID__node-arriving").textContent = s.arriving;
    document.getElementById("__ID__node-saved").textContent = s.saved;
    var sent = document.getElementById("__ID__node-sent");
    sent.textContent = "";
    s.sent.forEach(function (g) {
      var row = el("div", "flow" + (g.computed ? "" : " not-computed"), "\\u2192 ");
      row.appendChild(el("span", "label", g.label));
      row.appendChild(document.createTextNode(": " + g.text));
      sent.appendChild(row);
    });
    Object.keys(layerBoxes).forEach(function (path) {
      layerBoxes[path].classList.toggle("current", path === s.module);
    });
    document.getElementById("__ID__prev").disabled = current === 0;
    document.getElementById("__ID__next").disabled = current === steps.length - 1;
  }
  document.getElementById("__ID__prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("__ID__next").addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { show(current + 1); }
    if (event.key === "ArrowLeft") { show(current - 1); }
  });
  if (steps.length) { show(0); }
  var body = document.querySelector("#__ID__update-table tbody");
  data.update.forEach(function (r) {
    var row = el("tr", r.frozen ? "frozen" : "");
    row.appendChild(el("td", "", r.name));
    row.appendChild(el("td", "", r.frozen ? "yes" : ""));
    [r.lr, r.grad_norm, r.update_norm, r.weight_norm, r.ratio].forEach(function (v) {
      row.appendChild(el("td", "num", v));
    });
    row.appendChild(el("td", "note", r.note));
    body.appendChild(row);
  });
  document.getElementById("__ID__loss-after").textContent = "loss on the same batch after the update: " +
    data.loss_after + " (before: " + data.loss_before + ")";
  document.getElementById("__ID__settings").textContent = JSON.stringify(data.settings, null, 2);
}());
</script>
</body>
</html>
"""


def render_page(data_json: str, id_prefix: str = "") -> str:
    """The page with ``data_json`` (the step's JSON text) inside; ``</`` is escaped so it cannot end the script.

    ``id_prefix`` goes in front of every element id (letters, digits, ``-`` and ``_``, starting with a letter).
    """
    if id_prefix and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", id_prefix):
        raise ValueError(f"render_page: id_prefix {id_prefix!r} must be letters, digits, - and _, starting with a "
                         "letter (it is used as is in element ids and CSS selectors)")
    return _PAGE.replace("__ID__", id_prefix).replace("__DATA__", data_json.replace("</", "<\\/"))


def inline_frame(page: str, height: int, title: str, caption: str) -> str:
    """A notebook cell's HTML for ``page``: an ``<iframe srcdoc>`` (the page attribute-escaped; scripts allowed,
    nothing else: no access to the notebook, its cookies or the kernel) and ``caption`` as a line under it, which
    stays when a front-end strips the frame."""
    return (f'<div class="minitl-step-view"><iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
            f'title="{html.escape(title, quote=True)}" style="width:100%;height:{int(height)}px;'
            f'border:1px solid #dde1e6;border-radius:6px"></iframe>'
            f'<div style="font-size:12px;color:#666">{html.escape(caption)}</div></div>')
