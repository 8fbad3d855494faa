"""Host batches to the GPU through pinned memory: the DataLoader's upload when ``device="cuda"``."""
import numpy

from ..core.backend import cupyx, require_gpu


class PinnedUploader:
    """Host batches -> GPU arrays, each copied once through a pinned (page-locked) staging buffer,
    asynchronously on the current stream: the host can prepare the next batch while this one crosses.

    A staging buffer must outlive its copy: the last ``depth`` buffers are kept, each with the event
    recorded after its copy, and the oldest is released only once its event has completed (normally
    long done: the loop has read a loss since). Used by ``DataLoader(device="cuda")``.
    """

    def __init__(self, depth: int = 2):
        self.depth = depth
        self._in_flight = []  # (pinned buffer, event), oldest first

    def __call__(self, host):
        cupy = require_gpu()
        host = numpy.ascontiguousarray(host)
        pinned = cupyx().empty_pinned(host.shape, host.dtype)
        pinned[...] = host
        out = cupy.empty(host.shape, host.dtype)
        stream = cupy.cuda.get_current_stream()
        out.set(pinned, stream=stream)  # asynchronous: pinned memory and an explicit stream
        self._in_flight.append((pinned, stream.record()))
        while len(self._in_flight) > self.depth:
            _, event = self._in_flight.pop(0)
            event.synchronize()
        return out
