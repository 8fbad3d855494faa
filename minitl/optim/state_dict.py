"""Saving and resuming an optimizer: ``state_dict()`` and ``load_state_dict()`` in PyTorch's layout.

Talks to: ``optim/naming.py`` (parameters are matched by name when they can be), ``backend.py``
(loaded arrays move to each parameter's device).
"""
import copy

from ..core import backend


class StateDict:
    """Mixin of ``Optimizer``: its state as a plain dict and back."""

    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices], "param_names": [...]}]}``.

        PyTorch's layout: parameters are numbered across groups in order; arrays are copies (a later
        step does not change a saved dict). ``param_names`` (dotted names in the model, as PyTorch
        saves them for named parameters) let ``load_state_dict`` match state by name, so an
        optimizer whose group grew in another order (``sync()`` after unfreezing) still resumes.
        """
        index_of, groups, number = {}, [], 0
        names = self._names()
        for group in self.param_groups:
            saved = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            saved["params"] = list(range(number, number + len(group["params"])))
            saved["param_names"] = [names[id(p)] for p in group["params"]]
            for p in group["params"]:
                index_of[id(p)] = number
                number += 1
            groups.append(saved)
        state = {}
        for p, entries in self.state.items():
            if id(p) in index_of:
                state[index_of[id(p)]] = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in entries.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict()``; arrays move to each parameter's device.

        Everything is checked before anything changes: the number of groups and of parameters in
        each, the hyperparameter keys (Adam's state does not load into SGD), the values
        (``_check_group``) and the shapes. Parameters are matched by name when the saved
        ``param_names`` are this group's names (in any order), by position otherwise.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state has {len(saved_groups)} param groups, this optimizer has "
                             f"{len(self.param_groups)}: build the optimizer the same way before loading")
        names = self._names()
        by_index, new_groups = {}, []
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(f"param group {i}: loaded state has {len(saved['params'])} parameters, "
                                 f"this optimizer has {len(mine['params'])}")
            order = mine["params"]
            mine_by_name = {names[id(p)]: p for p in order}
            if sorted(saved.get("param_names", [])) == sorted(mine_by_name):  # the same ones, maybe reordered
                order = [mine_by_name[name] for name in saved["param_names"]]
            by_index.update(zip(saved["params"], order))
            group = {k: copy.deepcopy(v) for k, v in saved.items() if k not in ("params", "param_names")}
            missing = [key for key in self.defaults if key not in group]
            if missing:
                raise ValueError(f"param group {i}: loaded state has no {', '.join(missing)}: was it saved by "
                                 f"another optimizer than {type(self).__name__}?")
            group = {**mine, **group}  # what only this side has (a scheduler's initial_lr) stays
            try:
                self._check_group(group)
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
        for mine, group in zip(self.param_groups, new_groups):
            mine.update(group)
        self.state = new_state
