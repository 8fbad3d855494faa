"""``ExportError``: what the exporter cannot carry over, named (the layer, the scheduler) with what to do."""


class ExportError(ValueError):
    """The model, optimizer or schedule has a part with no faithful PyTorch form; the message names it."""
