"""Does the optimizer train this model? A check ``fit`` makes before the first step.

The classroom mistake: the optimizer was built on another instance (``optim.SGD(SmallCNN().parameters())``),
or the model was rebuilt after the optimizer (``model = SmallCNN()`` run again in a notebook). Both
train nothing: the loss stays flat and nothing says why. Parameters are compared by identity.
"""


def check_optimizer_holds_model(model, optimizer):
    """Raise ValueError, naming both, when ``optimizer`` holds none of ``model``'s parameters."""
    groups = getattr(optimizer, "param_groups", None)
    if groups is None or not hasattr(model, "named_parameters"):
        return  # something duck-typed: nothing to compare
    model_params = list(model.named_parameters())
    held = {id(p) for group in groups for p in group["params"]}
    if not model_params or any(id(p) in held for _, p in model_params):
        return
    raise ValueError(
        f"fit: the {type(optimizer).__name__} optimizer holds {len(held)} parameter(s), none of which belong to "
        f"this {type(model).__name__} (its {len(model_params)} parameters start with {model_params[0][0]!r}); it "
        "was built on another model instance, or the model was rebuilt after the optimizer. Build the optimizer "
        f"from this model: optim.{type(optimizer).__name__}(model.parameters(), ...)")
