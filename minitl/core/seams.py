"""The seams: the few named places where a wing plugs into the spine, and the only ones.

The spine (``minitl/core``) is the engine a student reads; it imports no wing and names none. A wing
(a fast path, a guard, a report, a reader of weight files) changes what the spine does only by
plugging something in here. With nothing plugged in, the spine runs alone, on its reference code.

Two kinds of seam:

* ``fast_paths``: a reference op (a ``Function`` class in ``core/ops``) -> a faster twin, a subclass
  of it that computes the same values and gradients (``tests/test_fast_paths.py`` checks each pair on
  the same inputs). ``Function.apply`` runs the twin when one is registered; its ``forward`` may hand
  a case it does not cover back to the reference with ``super().forward(...)``.
* ``plugged_in``: one slot per hook point, ``None`` when empty (an empty slot costs one dict lookup);
  each slot below says how the spine calls it, and which wing plugs in.

The stand-in that plays CuPy in the tests is the array seam's own switch, ``backend.use_gpu_standin``.
``plug(slot, value)`` sets a slot and returns what was there, so a wing can put it back.
"""

fast_paths = {}
plugged_in = {
    "backward_node": None,          # observer(fn, grad_output, grad_inputs) after each node's backward: inspect.trace
    "root_call": None,              # check(model, args) when a root module is called: guards.input_checks
    "layer_input": None,            # check(layer, x) when a Conv2d is called: guards.input_checks
    "module_backward_hooks": None,  # HookedCall(module, args): a module's backward hooks: nn.backward_hooks
    "summary": None,                # summarize(model, input_shape, device): Module.summary(): nn.summary
    "load_state_dict": None,        # load(module, source, **options): every weight load: io.mapping
    "unknown_parameters": None,     # warn(optimizer): the last backward reached a leaf no group holds: optim.unknown
    "step_report": None,            # report(optimizer, rows): last_step_report(): optim.report
    "param_group": None,            # check(optimizer, group) when a param group is added: guards.optimizer_settings
    "optimizer_state": None,        # .save(optimizer), .load(optimizer, state): Optimizer.state_dict() and
                                    # load_state_dict(): optim.state_dict
    "class_target": None,           # check(bad, values, make_error): a class target's range check that waits on the
                                    # GPU instead of syncing: guards.device_checks
    "host_read": None,              # read(array) -> NumPy array: Tensor.item's copy: guards.device_checks
    "class_scores": None,           # check(name, scores): the scores a classification loss gets: guards.loss_input
    "gpu_check": None,              # check(cupy) -> why not, or None: CuPy's first ops, before the GPU is used: cuda
    "gpu_scatter_add": None,        # add(target, indices, values): scatter-add on the GPU: deterministic
}


def plug(slot: str, value):
    """Put ``value`` (None: nothing) into ``slot``; returns the previous value."""
    if slot not in plugged_in:
        raise KeyError(f"no seam named {slot!r}: the seams are {', '.join(plugged_in)}")
    previous, plugged_in[slot] = plugged_in[slot], value
    return previous


def register_fast_path(reference, fast):
    """Run ``fast`` (a subclass of the reference ``Function``) wherever ``reference`` is applied.

    ``fast=None`` takes the registration off. Returns the previous twin (or None).
    """
    if fast is not None and not issubclass(fast, reference):
        raise TypeError(f"a fast path must subclass its reference op: {fast.__name__} is no {reference.__name__}")
    previous = fast_paths.pop(reference, None)
    if fast is not None:
        fast.reference = reference
        fast_paths[reference] = fast
    return previous


def required(slot: str, wing: str):
    """What is plugged into ``slot``, for a call the spine cannot answer alone (``summary()``, loading weights,
    saving an optimizer): a RuntimeError naming ``wing`` when nothing is."""
    plugged = plugged_in[slot]
    if plugged is None:
        raise RuntimeError(f"this needs {wing}, which plugs into the {slot!r} seam and has not been imported: "
                           "import minitl first")
    return plugged
