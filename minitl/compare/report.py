"""What ``minitl compare`` prints and writes: the tables, the verdicts, JSON, Markdown, HTML, PNG charts.

    print(results_text(result))          the table, the forgetting table, verdicts, trade-off, wall time
    write_reports(result, "results")     compare.json, compare.md, compare.html and three PNG charts

Every number comes from ``result`` (comparison.py); the tables are ``minitl.table.text_table`` (the
Markdown tables are the same rows), the charts ``minitl.viz``, each write ``atomic_write``.
"""
import html
import json
from pathlib import Path

from PIL import Image

from .. import viz
from ..atomic import atomic_write
from ..table import html_table, text_table
from .grid import plain_name
from .stats import (
    by_seed,
    cell,
    paired,
    raw_source_accuracy,
    recalibrated_source_accuracy,
    sizes_of,
    strategies_of,
)

CHARTS = {"accuracy": "compare_accuracy_vs_n.png", "time": "compare_time.png", "forgetting": "compare_forgetting.png"}
MAIN_HEADER = ("strategy", "n", "target acc (mean ± std)", "train s", "fwd+bwd FLOPs/step", "trainable",
               "vs scratch (paired)")
FORGETTING_HEADER = ("strategy", "n", "source acc, old head (raw)", "after BN re-estimation")


GLOSSARY = (
    ("strategy", "a registry name with its options; the list above says each in words"),
    ("scratch, fe, ft, lp-ft", "train everything from random weights; frozen pretrained backbone with a new head "
                               "(feature extraction); fine-tune the pretrained network; train the head alone first, "
                               "then fine-tune"),
    ("n", "labelled target images per class that the strategy trains on"),
    ("target acc", "accuracy on the target task's test images: mean ± standard deviation over the seeds"),
    ("seed", "one repeat: its own training images, new head and batch order, the same for every strategy"),
    ("vs scratch (paired)", "accuracy minus scratch's on the same seeds, in percentage points (pts)"),
    ("z", "that mean difference divided by its standard error across seeds: how many standard errors it is from 0"),
    ("beyond seed noise", "|z| > 2 and every seed agrees on the sign: a difference that luck in the draw of "
                          "images and initial weights does not explain"),
    ("(cached)", "the frozen backbone ran once over the images; that time is included"),
    ("FLOPs/step", "floating-point operations of one training step (1 multiply-add = 2 FLOPs)"),
    ("source acc, old head", "the source task's test accuracy with the pretrained head put back: how much of "
                             "the old task the backbone still knows (forgetting)"),
    ("BN re-estimation", "BatchNorm's running statistics recomputed on source images first, so only the weights "
                         "count"),
    ("chance", "the accuracy of guessing: 1 / number of classes"),
)


def strategy_names(result):
    """``[(registry string, the same in words)]`` for the strategies of ``result``, in table order."""
    too_high = result["verdicts"]["roles"].get("too_high")
    base_lr = result["settings"]["protocol"]["lr"]
    return [(label, plain_name(label, base_lr, too_high=label == too_high)) for label in strategies_of(result["runs"])]


def _pct(mean, std=None):
    return f"{100 * mean:.1f} %" if std is None else f"{100 * mean:.1f} ± {100 * std:.1f} %"


def _count(value):
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return str(int(value))


def _scratch(result):
    return result["verdicts"]["roles"].get("scratch")


def main_rows(result):
    runs, scratch = result["runs"], _scratch(result)
    rows = []
    for n in sizes_of(runs):
        for strategy in strategies_of(runs):
            c = cell(runs, strategy, n)
            if c is None:
                continue
            versus = "-" if strategy == scratch or scratch is None else paired(runs, strategy, scratch, n).text()
            seconds = f"{c['seconds']:.1f}" + (" (cached)" if c["cached"] else "")
            rows.append((strategy, str(n), _pct(c["accuracy"], c["accuracy_std"]), seconds, _count(c["step_flops"]),
                         f"{c['trainable_params']:,}", versus))
    return rows


def forgetting_rows(result):
    runs, rows = result["runs"], []
    for n in sizes_of(runs):
        for strategy in strategies_of(runs):
            c = cell(runs, strategy, n)
            if c is None or c["source_recalibrated"] is None:
                continue
            rows.append((strategy, str(n), _pct(*c["source_raw"]), _pct(*c["source_recalibrated"])))
    return rows


def settings_line(result):
    s, p = result["settings"], result["settings"]["protocol"]
    return (f"{s['task']['description']}; {s['seeds']} seeds, n = {', '.join(map(str, s['n']))} per class; "
            f"SGD momentum {p['momentum']}, wd {p['weight_decay']}, lr {p['lr']} {p['schedule']}, "
            f"max({p['min_steps']} steps, {p['min_epochs']} epochs) at batch min({p['max_batch']}, images); "
            f"full target test set ({s['task']['target_test_images']} images)")


def verdict_lines(result):
    lines = [f"{c['claim']}. {c['title']}\n   {c['text']}" for c in result["verdicts"]["claims"]]
    return lines + [result["verdicts"]["tradeoff_line"]]


def glossary_lines():
    return [f"  {term}: {meaning}" for term, meaning in GLOSSARY]


def results_text(result) -> str:
    """Everything ``minitl compare`` prints on stdout, in order."""
    pretrained = result["settings"].get("pretrained_source_accuracy")
    parts = [settings_line(result), "", "strategies:", *[f"  {label} = {words}" for label, words in
                                                       strategy_names(result)],
             "", text_table(MAIN_HEADER, main_rows(result),
             [("beyond seed noise = |z| > 2 and every seed agrees; FLOPs count the uncached step (1 MAC = 2 FLOPs); "
               "(cached): the frozen prefix ran once, its time included")])]
    rows = forgetting_rows(result)
    if rows:
        title = "forgetting: source test accuracy with the source head put back"
        if pretrained is not None:
            title += f" (pretrained: {_pct(pretrained)})"
        parts += ["", title, text_table(FORGETTING_HEADER, rows)]
    parts += ["", "verdicts (computed from the table above):", *verdict_lines(result),
              "", "glossary:", *glossary_lines(), "", f"wall time: {result['wall_seconds']:.1f} s"]
    return "\n".join(parts)


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def markdown(result, charts) -> str:
    names = [(f"`{label}`", words) for label, words in strategy_names(result)]
    parts = ["# minitl compare", "", settings_line(result), "", _markdown_table(("strategy", "in words"), names),
             "", _markdown_table(MAIN_HEADER, main_rows(result))]
    rows = forgetting_rows(result)
    if rows:
        parts += ["", "## Forgetting", "", _markdown_table(FORGETTING_HEADER, rows)]
    parts += ["", "## Verdicts", ""] + [f"- {line}".replace("\n   ", "  \n  ") for line in verdict_lines(result)]
    parts += ["", "## Glossary", "", *[f"- **{term}**: {meaning}" for term, meaning in GLOSSARY]]
    parts += ["", *[f"![{name}]({Path(path).name})" for name, path in charts.items()], "",
              f"wall time: {result['wall_seconds']:.1f} s, minitl {result['settings']['minitl_version']}"]
    return "\n".join(parts) + "\n"


VERDICT_COLORS = {"yes": "#1a7f37", "no": "#b42318", "na": "#666"}


def verdicts_html(verdicts) -> str:
    """The claims as a numbered list, each judged in its colour (inline: no style sheet in a notebook), and the
    trade-off line. ``verdicts``: what ``verdicts.verdicts`` returns."""
    def state(claim):
        return "yes" if claim["holds"] else "no" if claim["holds"] is False else "na"

    items = "".join(f"<li value='{c['claim']}' class='{state(c)}'><b style='color:{VERDICT_COLORS[state(c)]}'>"
                    f"{html.escape(c['title'])}</b><br>{html.escape(c['text'])}</li>"
                    for c in verdicts["claims"])  # <ol> numbers them
    return f"<ol>{items}</ol><p>{html.escape(verdicts['tradeoff_line'])}</p>"


def html_fragment(result, charts=None) -> str:
    """The settings, tables, verdicts, charts (when given: ``{name: png path}``) and glossary as one fragment:
    the body of compare.html, and what a notebook cell shows for a result (inline styles only, no ``<style>``:
    a sheet in a notebook output would restyle the whole notebook)."""
    glossary = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(meaning)}</dd>" for term, meaning in GLOSSARY)
    images = "".join(f"<img alt='{name}' src='{viz.data_uri(Image.open(path))}'>"
                     for name, path in (charts or {}).items())
    forgetting = forgetting_rows(result)
    return f"""<p>{html.escape(settings_line(result))}</p>
{html_table(("strategy", "in words"), strategy_names(result))}
{html_table(MAIN_HEADER, main_rows(result))}
{'<h2>Forgetting</h2>' + html_table(FORGETTING_HEADER, forgetting) if forgetting else ''}
<h2>Verdicts</h2>{verdicts_html(result["verdicts"])}
{'<h2>Charts</h2>' + images if images else ''}<h2>Glossary</h2><dl>{glossary}</dl><p>wall time
{result['wall_seconds']:.1f} s, minitl {html.escape(str(result['settings']['minitl_version']))}</p>"""


class Verdicts(dict):
    """What ``verdicts.verdicts`` returns: the plain dict (``roles``, ``claims``, ``tradeoff``, ``tradeoff_line``;
    JSON as before) that a notebook cell shows as the judged claims."""

    def _repr_html_(self):
        return verdicts_html(self)


class ComparisonResult(dict):
    """What ``compare`` returns: the JSON-able dict (``format``, ``settings``, ``runs``, ``verdicts``,
    ``wall_seconds``) that a notebook cell shows as its tables and verdicts; ``results_text`` prints the same
    rows. ``ComparisonResult(json.load(file))`` shows a saved compare.json again."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.get("verdicts"), dict):
            self["verdicts"] = Verdicts(self["verdicts"])

    def _repr_html_(self):
        return html_fragment(self)


def html_page(result, charts) -> str:
    """One self-contained page: the tables, verdicts and the charts inline (no network)."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>minitl compare</title><style>
body{{font-family:sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}} th{{background:#eee}}
li{{margin:.6em 0}} img{{margin:.5em}} dt{{font-weight:bold;margin-top:.4em}} dd{{margin-left:1.5em}}
</style></head><body><h1>minitl compare</h1>{html_fragment(result, charts)}</body></html>
"""


def draw_charts(result, folder):
    """The three PNGs (accuracy vs n, training time, forgetting); returns ``{name: path}``."""
    runs, folder = result["runs"], Path(folder)
    strategies, sizes = strategies_of(runs), sizes_of(runs)
    paths = {}
    accuracy = {s: {n: list(by_seed(runs, s, n, lambda r: r["target_accuracy"]).values()) for n in sizes}
                for s in strategies}
    paths["accuracy"] = folder / CHARTS["accuracy"]
    viz.accuracy_vs_n(accuracy, paths["accuracy"], title="target accuracy vs n (mean ± std over seeds)",
                      chance=1 / len(result["settings"]["task"]["target_classes"]))
    seconds = {f"n={n}": {s: list(by_seed(runs, s, n, lambda r: r["train_seconds"] + r.get("cache_seconds", 0.0))
                                  .values()) for s in strategies} for n in sizes}
    paths["time"] = folder / CHARTS["time"]
    viz.bar_chart(seconds, paths["time"], title="training time per run", y_title="seconds")
    forgetting = {}
    for s in strategies:
        for n in sizes:
            raw, recal = by_seed(runs, s, n, raw_source_accuracy), by_seed(runs, s, n, recalibrated_source_accuracy)
            if recal:
                forgetting[f"{s} n={n}"] = {"raw": list(raw.values()), "after BN re-estimation": list(recal.values())}
    if forgetting:
        paths["forgetting"] = folder / CHARTS["forgetting"]
        viz.bar_chart(forgetting, paths["forgetting"], title="source accuracy with the old head (forgetting)",
                      y_title="source accuracy", size=(max(760, 170 * len(forgetting)), 440), percent=True)
    return paths


def write_reports(result, folder="results"):
    """Write compare.json, compare.md, compare.html and the charts into ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    charts = draw_charts(result, folder)
    paths = {"json": folder / "compare.json", "markdown": folder / "compare.md", "html": folder / "compare.html"}
    texts = {"json": json.dumps(result, indent=1, default=float), "markdown": markdown(result, charts),
             "html": html_page(result, charts)}
    for kind, text in texts.items():
        with atomic_write(paths[kind]) as file:
            file.write(text.encode("utf-8"))
    return {**paths, **{f"chart_{k}": v for k, v in charts.items()}}
