"""The op library, grouped by family. Each op is a ``Function`` (forward + backward side by side)
and a plain function that applies it. ``minitl.nn.functional`` re-exports them PyTorch-style."""
