"""Looking inside one training step: the backward trace, step reports, graph pictures, the step viewer.

    with minitl.inspect.trace() as t:     every backward node, in order (trace.py)
        loss.backward()
    minitl.inspect.step_report(model, optimizer)   what the step did to each layer (report.py)
    minitl.inspect.explain(model)                  what frozen / lr_scale will do, in words (report.py)
    minitl.inspect.drift(model, reference)         ||W - W0|| / ||W0|| per parameter and buffer (report.py)
    minitl.inspect.to_dot(loss), draw_graph(loss, "graph.png")          the graph (graph.py)
    minitl.inspect.view_step(model, x, y, optimizer, path="step.html")  one page replaying a step (viewer.py)

Everything returns data first; the tables and pictures are drawn from that data.
"""
from .graph import draw_graph, to_dot
from .report import LayerStepReport, drift, explain, step_report
from .trace import Trace, trace
from .viewer import StepView, record_step, view_step

__all__ = ["LayerStepReport", "StepView", "Trace", "draw_graph", "drift", "explain", "step_report", "to_dot",
           "trace", "record_step", "view_step"]
