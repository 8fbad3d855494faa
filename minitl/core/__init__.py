"""The spine: the engine a student reads in one sitting, in this order.

1. ``backend.py`` (with ``random.py``): the one seam between NumPy and CuPy, devices, seeded randomness.
2. ``tensor.py``: the Tensor, grad mode, the Function contract and ``backward``.
3. ``ops/``: the reference ops, one file per family, each op's backward beside its forward:
   ``arithmetic``, ``reduce``, ``shape``, ``activation``, ``linalg``, ``loss``, ``conv``, ``pool``, ``norm``.
4. ``module.py``: ``Parameter``, the module tree, ``Module`` (``frozen``, ``lr_scale``); ``init.py``
   (how a layer's parameters start); ``layers.py``: the layers the reference models are built from.
5. ``optim.py``: the ``Optimizer`` (param groups, the step, state) and ``SGD`` (Adam and AdamW: ``optim/adam.py``).
6. ``fit.py``: one training step, and ``fit``, the loop that repeats it.
``seams.py`` lists the few named places where a wing (a fast path, a guard, a report) plugs in.

Nothing here imports anything outside ``minitl/core`` (``scripts/import_graph.py --check`` enforces it).
"""
