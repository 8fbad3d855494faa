"""Pictures drawn with Pillow: training curves, bar charts, accuracy against n, image grids, matrices.

Every function writes a PNG when given a path and returns the Pillow image (``image.show()`` in a
notebook). ``canvas.py`` holds the shared axes, fonts and colours; ``charts.py`` the charts of
numbers; ``images.py`` the pictures of arrays. ``History.plot(path)`` is the one-line training curve.
``data_uri(image)`` puts a picture inside a self-contained HTML page (``<img src="...">``).
"""
from .canvas import data_uri
from .charts import accuracy_vs_n, bar_chart, history_chart, line_chart, mean_and_spread
from .images import confusion_matrix, feature_maps, filter_grid, gradient_heat_strip, image_grid

__all__ = ["accuracy_vs_n", "bar_chart", "confusion_matrix", "data_uri", "feature_maps", "filter_grid",
           "gradient_heat_strip",
           "history_chart", "image_grid", "line_chart", "mean_and_spread"]
