"""An optimizer's ``state_dict()`` and ``load_state_dict()``, in PyTorch's layout, plugged into the spine's
``optimizer_state`` seam (``core/seams.py``).

``save``: parameters are numbered across groups in order; arrays are copies (a later step does not change a
saved dict). ``param_names`` (dotted names in the model, as PyTorch saves them for named parameters) let
``load`` match state by name, so an optimizer whose group grew in another order (``sync()`` after
unfreezing) still resumes.

``load``: everything is checked before anything changes: the number of groups and of parameters in each,
the hyperparameter keys (Adam's state does not load into SGD), the values (``guards/optimizer_settings.py``) and the
shapes. Parameters are matched by name when the saved ``param_names`` are this group's names (in any
order), by position otherwise. Arrays move to each parameter's device.
"""
import copy
import types

from ..core import backend, seams
from ..guards.optimizer_settings import check_settings
from .names import describe_parameter, optimizer_models


def parameter_names(optimizer):
    """``{id(param): name}``: dotted names from the model where possible, else a description."""
    names = {}
    for root in optimizer_models(optimizer):
        for name, p in root.named_parameters():
            names.setdefault(id(p), name)
    for index, group in enumerate(optimizer.param_groups):
        for i, p in enumerate(group["params"]):
            if id(p) not in names:
                names[id(p)] = describe_parameter(p, fallback=f"group{index}[{i}]")
    return names


def save(optimizer) -> dict:
    """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices], "param_names": [...]}]}``."""
    index_of, groups, number = {}, [], 0
    names = parameter_names(optimizer)
    for group in optimizer.param_groups:
        saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
        saved["params"] = list(range(number, number + len(group["params"])))
        saved["param_names"] = [names[id(p)] for p in group["params"]]
        for p in group["params"]:
            index_of[id(p)] = number
            number += 1
        groups.append(saved)
    state = {}
    for p, entries in optimizer.state.items():
        if id(p) in index_of:
            state[index_of[id(p)]] = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in entries.items()}
    return {"state": dict(sorted(state.items())), "param_groups": groups}


def load(optimizer, state_dict: dict) -> None:
    """Restore ``save``'s dict into ``optimizer``, or raise and change nothing."""
    saved_groups = state_dict["param_groups"]
    if len(saved_groups) != len(optimizer.param_groups):
        raise ValueError(f"loaded state has {len(saved_groups)} param groups, this optimizer has "
                         f"{len(optimizer.param_groups)}: build the optimizer the same way before loading")
    names = parameter_names(optimizer)
    by_index, new_groups = {}, []
    for i, (mine, saved) in enumerate(zip(optimizer.param_groups, saved_groups)):
        if len(mine["params"]) != len(saved["params"]):
            raise ValueError(f"param group {i}: loaded state has {len(saved['params'])} parameters, "
                             f"this optimizer has {len(mine['params'])}")
        order = mine["params"]
        mine_by_name = {names[id(p)]: p for p in order}
        if sorted(saved.get("param_names", [])) == sorted(mine_by_name):  # the same ones, maybe reordered
            order = [mine_by_name[name] for name in saved["param_names"]]
        by_index.update(zip(saved["params"], order))
        group = {k: copy.deepcopy(v) for k, v in saved.items() if k not in ("params", "param_names")}
        missing = [key for key in optimizer.defaults if key not in group]
        if missing:
            raise ValueError(f"param group {i}: loaded state has no {', '.join(missing)}: was it saved by "
                             f"another optimizer than {type(optimizer).__name__}?")
        group = {**mine, **group}  # what only this side has (a scheduler's initial_lr) stays
        try:
            check_settings(optimizer, group)
        except ValueError as exc:
            raise ValueError(f"param group {i} of the loaded state: {exc} (was it saved by another "
                             "optimizer?)") from None
        new_groups.append(group)
    new_state = {}
    for index, entries in state_dict["state"].items():
        p = by_index.get(int(index))
        if p is None:
            raise ValueError(f"loaded state refers to parameter index {index}, which no param group has")
        restored = {}
        for key, value in entries.items():
            if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
                if tuple(value.shape) != p.shape:
                    raise ValueError(f"state '{key}' of parameter {names[id(p)]} has shape {tuple(value.shape)}, "
                                     f"the parameter has {p.shape}")
                value = backend.to_device(value, p.device).astype(p.dtype, copy=True)
            restored[key] = value
        new_state[p] = restored
    for mine, group in zip(optimizer.param_groups, new_groups):
        mine.update(group)
    optimizer.state = new_state


seams.plug("optimizer_state", types.SimpleNamespace(save=save, load=load))
