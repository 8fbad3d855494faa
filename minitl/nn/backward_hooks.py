"""Module backward hooks: ``module.register_full_backward_hook(hook)``, PyTorch's name and signature.

``hook(module, grad_input, grad_output)`` runs during backward, once the gradients with respect to
the module's inputs are known. ``grad_output`` is a tuple with the gradient of the module's output;
``grad_input`` has one entry per positional argument of the call (None for a non-tensor argument
and for an input that needs no gradient, such as the images fed to the first layer). A hook that
returns a tuple replaces ``grad_input``: that is what flows on to the layers below.

How it works: while a module has hooks, its call passes each input that requires grad, and its
output, through an identity node. The output's node sees ``grad_output``; each input's node sees
its piece of ``grad_input``; the hook runs when the last piece has arrived (or right at the output
when no input needs a gradient). A student should notice the frozen case: a frozen layer below the
first trainable one records no node at all (frozen effect 2), so its hook never runs.
"""
from ..core import seams
from ..core.tensor import Function, Tensor


class BackwardHookOutput(Function):
    # z = x ;  dz/dx = 1   (an identity that shows the module's hooks the gradient of its output)
    def __init__(self, call):
        self.call = call

    def forward(self, x):
        return x

    def backward(self, grad):
        self.call.output_arrived(grad)
        return grad


class BackwardHookInput(Function):
    # z = x ;  dz/dx = 1   (an identity that hands the gradient of one module input to the hooks)
    def __init__(self, call, position):
        self.call, self.position = call, position

    def forward(self, x):
        return x

    def backward(self, grad):
        return self.call.input_arrived(self.position, grad)


class HookedCall:
    """One call of a module that has backward hooks: wraps its inputs and output, then calls the hooks."""

    def __init__(self, module, args):
        self.module = module
        self.grad_input = [None] * len(args)
        self.grad_output = None
        self.waiting = {i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad}
        self.many = len(self.waiting) > 1
        self.args = tuple(BackwardHookInput.apply(a, call=self, position=i) if i in self.waiting else a
                          for i, a in enumerate(args))

    def wrap_output(self, out):
        if not isinstance(out, Tensor):
            raise NotImplementedError(f"{type(self.module).__name__}: register_full_backward_hook needs a module "
                                      f"that returns one Tensor, this one returned {type(out).__name__}")
        if not out.requires_grad:
            return out  # nothing of this call is in the graph (a frozen prefix): the hook will not run
        wrapped = BackwardHookOutput.apply(out, call=self)
        wrapped.grad_fn.module = self.module
        return wrapped

    def output_arrived(self, g):
        self.grad_output = (Tensor._wrap(g),)
        if not self.waiting:  # no input needs a gradient: PyTorch calls the hooks with grad_input all None
            self._run_hooks()

    def input_arrived(self, position, g):
        self.grad_input[position] = Tensor._wrap(g)
        self.waiting.discard(position)
        if self.waiting:
            return g
        replaced = self._run_hooks()
        if replaced is None:
            return g
        if self.many:
            raise NotImplementedError(f"{type(self.module).__name__}: a backward hook may replace grad_input only "
                                      "for a module with one input that requires grad; this one has several")
        new = replaced[position]
        return new.data if isinstance(new, Tensor) else new

    def _run_hooks(self):
        grad_input, replaced = tuple(self.grad_input), None
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = tuple(result)
                if len(grad_input) != len(self.grad_input):
                    raise ValueError(f"backward hook on {type(self.module).__name__} returned {len(grad_input)} "
                                     f"gradients; the module has {len(self.grad_input)} inputs")
                replaced = grad_input
        return replaced


seams.plug("module_backward_hooks", HookedCall)  # Module.__call__ wraps a hooked call in it
