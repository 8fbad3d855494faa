"""Guards: checks that plug into the spine's seams (``core/seams.py``) and that the spine never calls by name.

``device_checks``: class-target range checks that wait on the GPU instead of syncing each batch.
"""
from . import device_checks
