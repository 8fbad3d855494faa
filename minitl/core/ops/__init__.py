"""The reference ops, one file per family, read in this order: arithmetic, reduce, shape, activation, linalg,
loss, conv, pool, norm. Each op is a ``Function`` with its backward beside its forward."""
