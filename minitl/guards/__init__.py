"""Guards: checks that plug into the spine's seams (``core/seams.py``) and that the spine never calls by name.

``input_checks``: what a model is fed (a list instead of a Tensor, 0-255 integer images), at each call
of a root module. ``device_checks``: class-target range checks that wait on the GPU instead of
syncing each batch. ``loss_input``: softmax outputs passed to cross_entropy as logits.
``optimizer_settings``: a param group's unknown keys and hyperparameters out of range.
"""
from . import device_checks, input_checks, loss_input, optimizer_settings
