"""Fuzzing every reader of untrusted files: bytes and structure mutated, each case in a bounded child.

Valid small files of every format minitl reads (torch zip, safetensors, npz, Keras .h5 and .keras,
ONNX, checkpoint, IDX, PNG) are mutated by hypothesis in two ways: **bytes** (a few bytes
overwritten, maybe truncated: tests/corruption.py) and **structure** (a zip member replaced or
inflated, a JSON value swapped for a hostile one, a header field set to a huge number, a known
attack from issue 15). Each case runs in a forked child under ``RLIMIT_AS`` (a regression fails
fast instead of eating the machine's memory) and a time limit, and the test asserts only:

* the reader returns, or raises one of minitl's own error types (never MemoryError in disguise);
* its peak memory (``VmHWM`` after a reset) stays under ``PEAK_BUDGET``;
* it takes under ``TIME_BUDGET`` seconds;
* on an error, the model it was loading into is unchanged.

CI runs ``EXAMPLES`` cases per format and kind (the file in well under a minute on 2 cores);
``pytest tests/test_io_fuzz.py --fuzz-long`` runs ``LONG_EXAMPLES`` each, for hours. With ``-s``
the worst case of each format is printed as a table at the end.
"""
import io
import json
import multiprocessing
import os
import resource
import struct
import time
import zipfile
import zlib

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitl
from corruption import corrupt_bytes
from hostile import storages_pickle
from minitl.data import ImageFolder, read_idx, write_idx
from minitl.data.errors import DatasetError, IdxFormatError, ImageFolderError
from minitl.io import StateDictMismatchError, WeightFormatError, load_into, save, save_safetensors, save_torch
from minitl.nn import Linear, Sequential
from minitl.optim import SGD
from minitl.table import text_table
from minitl.train import CheckpointError, resume, save_checkpoint

EXAMPLES, LONG_EXAMPLES = 12, 1_000_000
PEAK_BUDGET = 200 << 20      # bytes one case may add to the process's peak resident memory
ADDRESS_HEADROOM = 2 << 30   # RLIMIT_AS above what the child already maps: a bomb dies here, fast
TIME_BUDGET, KILL_AFTER = 5.0, 30.0
MINITL_ERRORS = (WeightFormatError, StateDictMismatchError, CheckpointError, DatasetError, IdxFormatError,
                 ImageFolderError)
WORST = {}                   # format -> (peak bytes, seconds, what) of the worst case seen


def _model():
    minitl.manual_seed(0)
    return Sequential(Linear(4, 3))


# ----- the valid files -----

def _h5_bytes():
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f["layers/dense/vars/0"] = numpy.arange(12, dtype=numpy.float32).reshape(4, 3)
        f["layers/dense/vars/1"] = numpy.ones(3, numpy.float32)
    return buffer.getvalue()


def _zip_bytes(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _onnx_bytes():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weights = [numpy_helper.from_array(numpy.ones((3, 4), numpy.float32), "0.weight"),
               numpy_helper.from_array(numpy.ones(3, numpy.float32), "0.bias")]
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "0.weight", "0.bias"], ["y"], transB=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], initializer=weights)
    return helper.make_model(graph).SerializeToString()


def _png_bytes():
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(numpy.arange(64, dtype=numpy.uint8).reshape(8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _valid_file(kind, folder):
    """The bytes of a valid file of ``kind``, written through minitl's own writers where it has one."""
    model = _model()
    path = folder / f"valid.{kind}"
    if kind == "torch":
        save_torch(model, path)
    elif kind == "safetensors":
        save_safetensors(model, path)
    elif kind == "npz":
        save(model, path)
    elif kind == "checkpoint":
        save_checkpoint(path, model, SGD(model, lr=0.1, momentum=0.9))
    elif kind == "idx":
        write_idx(path, numpy.arange(2 * 28 * 28, dtype=numpy.uint8).reshape(2, 28, 28), compress=True)
    else:
        return {"h5": _h5_bytes, "onnx": _onnx_bytes, "png": _png_bytes,
                "keras": lambda: _zip_bytes({"model.weights.h5": _h5_bytes(), "config.json": b'{"config": {}}'})
                }[kind]()
    return path.read_bytes()


SUFFIX = {"torch": ".pt", "safetensors": ".safetensors", "npz": ".npz", "checkpoint": ".npz", "h5": ".weights.h5",
          "keras": ".keras", "onnx": ".onnx", "idx": "-idx3-ubyte.gz", "png": ".png"}
FORMATS = sorted(SUFFIX)


# ----- what a case does, in the child -----

def _read(kind, path):
    """Open ``path`` the way a user would; return the model touched (or None)."""
    model = _model()
    if kind == "checkpoint":
        return model, lambda: resume(path, model, SGD(model, lr=0.1, momentum=0.9))
    if kind == "idx":
        return None, lambda: read_idx(path, expect_ndim=3)
    if kind == "png":
        return None, lambda: ImageFolder(os.path.dirname(os.path.dirname(path)), on_error="raise").to_array_dataset()
    return model, lambda: load_into(model, path)


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _child(connection, kind, path):
    resource.setrlimit(resource.RLIMIT_AS, (_status("VmSize") + ADDRESS_HEADROOM, resource.RLIM_INFINITY))
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM (the peak) to the resident size now
    baseline = _status("VmRSS")
    model, call = _read(kind, path)
    before = {k: v.copy() for k, v in model.state_dict().items()} if model is not None else {}
    started, error = time.perf_counter(), None
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which judges it
        error = (type(exc).__name__, isinstance(exc, MINITL_ERRORS), str(exc)[:500])
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # the HDF5 reader's own child
    peak = max(_status("VmHWM"), children) - baseline
    unchanged = model is None or all(numpy.array_equal(v, before[k]) for k, v in model.state_dict().items())
    connection.send({"error": error, "seconds": seconds, "peak": peak, "unchanged": unchanged})


def run_case(kind, path):
    """One case in a forked child; the child's report, or a failure if it hangs or dies."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, kind, str(path)))
    child.start()
    sender.close()
    try:
        if not receiver.poll(KILL_AFTER):
            pytest.fail(f"{kind}: reading {path} did not return within {KILL_AFTER} s")
        try:
            return receiver.recv()
        except EOFError:
            pytest.fail(f"{kind}: the reader process died on {path} (exit code {child.exitcode}): memory?")
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


def check_case(kind, raw, folder, what):
    path = folder / "cls" / ("case" + SUFFIX[kind])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    report = run_case(kind, path)
    worst = WORST.get(kind, (0, 0.0, ""))
    WORST[kind] = (max(worst[0], report["peak"]), max(worst[1], report["seconds"]),
                   what if report["peak"] > worst[0] else worst[2])
    error = report["error"]
    assert error is None or (error[1] and "MemoryError" not in error[2]), f"{kind} ({what}): foreign error {error}"
    assert report["peak"] < PEAK_BUDGET, f"{kind} ({what}): peak {report['peak'] >> 20} MiB"
    assert report["seconds"] < TIME_BUDGET, f"{kind} ({what}): {report['seconds']:.1f} s"
    assert error is None or report["unchanged"], f"{kind} ({what}): failed but changed the model"


# ----- structure-aware mutation -----

NASTY = st.one_of(
    st.integers(-2 ** 80, 2 ** 80),
    st.sampled_from([None, True, 1.5e308, "", "x" * 1000, [], {}, [[[[[]]]]], [1] * 200, [2 ** 40] * 8,
                     {"__ndarray__": [0, 1], "dtype": "(100,100)f8"}, {"__array__": "nope", "kind": "tensor"},
                     {"__items__": [[1]]}, {"__tuple__": 5}, "(8000,8000)f8", {"dtype": {"a": 1}}]))
PICKLE_ATTACKS = [b"r\xff\xff\xff\x0f", b"h\x99", b"\x8a\x09" + b"\xff" * 9, b"2" * 4096, b"]" * 4096,
                  b"ccollections\nOrderedDict\n)R}X\x06\x00\x00\x00valuesK\x01sb", b"\x8c\x04evil\x94"]


def _mutate_json(data, value):
    """``value`` (parsed JSON) with one entry replaced by a hostile value, or deleted."""
    slots, pending = [], [value]
    while pending and len(slots) < 2000:
        node = pending.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
        for key in keys:
            slots.append((node, key))
            pending.append(node[key])
    if not slots:
        return data.draw(NASTY)
    node, key = data.draw(st.sampled_from(slots))
    if isinstance(node, dict) and data.draw(st.booleans()):
        del node[key]
    else:
        node[key] = data.draw(NASTY)
    return value


def _npy_bytes(array):
    buffer = io.BytesIO()
    numpy.save(buffer, array)
    return buffer.getvalue()


def _mutate_member(data, name, content):
    if name.endswith("checkpoint.json.npy"):
        meta = json.loads(numpy.load(io.BytesIO(content)).tobytes())
        return _npy_bytes(numpy.frombuffer(json.dumps(_mutate_json(data, meta)).encode(), numpy.uint8)), "json"
    if name.endswith(".json"):
        return json.dumps(_mutate_json(data, json.loads(content))).encode(), "json"
    if name.endswith("data.pkl"):
        at = data.draw(st.integers(2, len(content) - 1))
        return content[:at] + data.draw(st.sampled_from(PICKLE_ATTACKS)) + content[at:], "pickle opcode"
    if name.endswith(".npy") and data.draw(st.booleans()):
        header_end = content.index(b"\n") + 1
        header = bytearray(content[:header_end])
        for _ in range(data.draw(st.integers(1, 4))):
            header[data.draw(st.integers(10, len(header) - 2))] = data.draw(st.sampled_from(b"0123456789(),'SUVO<>|f"))
        return bytes(header) + content[header_end:], "npy header"
    return corrupt_bytes(data, content, 8), "member bytes"


def _mutate_zip(data, raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    name = data.draw(st.sampled_from(sorted(members)))
    how = data.draw(st.sampled_from(["inside", "inflate", "extra"]))
    if how == "inflate":  # zeros of a claimed size: the budget must refuse them, or they must be real
        members[name] = bytes(data.draw(st.sampled_from([1 << 20, 17 << 20, 40 << 20])))
        what = f"{name} -> zeros"
    elif how == "extra":
        members[f"archive/data/{data.draw(st.integers(0, 99))}" if name.startswith("archive/") else "x.npy"] = \
            bytes(data.draw(st.sampled_from([0, 10, 17 << 20])))
        what = "extra member"
    else:
        members[name], what = _mutate_member(data, name, members[name])
        what = f"{name}: {what}"
    compression = data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    return _zip_bytes(members, compression), what


def _mutate_structure(data, kind, raw):
    """One structure-aware mutation of a valid ``raw`` file of ``kind``: ``(bytes, what was done)``."""
    if kind in ("torch", "npz", "keras", "checkpoint"):
        return _mutate_zip(data, raw)
    if kind == "safetensors":
        (length,) = struct.unpack("<Q", raw[:8])
        header = json.dumps(_mutate_json(data, json.loads(raw[8:8 + length]))).encode()
        return struct.pack("<Q", len(header)) + header + raw[8 + length:], "header json"
    if kind == "h5":  # the superblock and object headers sit in the first kilobytes
        head = corrupt_bytes(data, raw[:4096], 32)
        return head + raw[len(head):] if len(head) == 4096 else head, "metadata bytes"
    if kind == "onnx":
        from onnx import ModelProto

        model = ModelProto.FromString(raw)
        tensor = model.graph.initializer[data.draw(st.integers(0, len(model.graph.initializer) - 1))]
        field = data.draw(st.sampled_from(["dims", "data_type", "raw_data", "location"]))
        if field == "dims":
            del tensor.dims[:]
            tensor.dims.extend(data.draw(st.lists(st.integers(-2 ** 62, 2 ** 62), max_size=70)))
        elif field == "data_type":
            tensor.data_type = data.draw(st.integers(0, 40))
        elif field == "raw_data":
            tensor.raw_data = tensor.raw_data[:data.draw(st.integers(0, len(tensor.raw_data)))]
        else:
            tensor.data_location = 1
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", data.draw(st.sampled_from(["../x", "/etc/passwd", "a\x00b", "w"]))
        return model.SerializeToString(), f"tensor {field}"
    if kind == "idx":
        inner = bytearray(zlib.decompress(raw, 31))
        at = data.draw(st.integers(0, 15))
        inner[at] = data.draw(st.integers(0, 255))
        return _gzip(bytes(inner)), f"header byte {at}"
    # png: IHDR width, height, bit depth or colour type, with the CRC put right so only the value is wrong
    png = bytearray(raw)
    offset = data.draw(st.sampled_from([16, 20, 24, 25]))
    if offset < 24:
        png[offset:offset + 4] = struct.pack(">I", data.draw(st.sampled_from([0, 1, 9400, 2 ** 16, 2 ** 31 - 1])))
    else:
        png[offset] = data.draw(st.integers(0, 255))
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png), f"IHDR byte {offset}"


def _gzip(raw):
    import gzip

    return gzip.compress(raw, mtime=0)


# ----- the attacks of issue 15: at their original sizes where those are cheap to build, else scaled down
# to sizes that still exceed the budget many times (deflating gigabytes of zeros would take the CI minute)

def _pickle_zip(data_pkl, extra=None, compression=zipfile.ZIP_DEFLATED):
    return _zip_bytes({"archive/data.pkl": data_pkl, "archive/version": b"3\n", **(extra or {})}, compression)


def _fill_h5(compression):
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for i in range(64):
            f.create_dataset(f"layers/dense_{i}/vars/0", shape=(4 << 20,), dtype="f4", chunks=(1 << 16,),
                             compression=compression)
    return buffer.getvalue()


def _checkpoint_with(valid, edit=None, extra=None):
    with zipfile.ZipFile(io.BytesIO(valid)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    if edit:
        meta = json.loads(numpy.load(io.BytesIO(members["checkpoint.json.npy"])).tobytes())
        edit(meta)
        members["checkpoint.json.npy"] = _npy_bytes(numpy.frombuffer(json.dumps(meta).encode(), numpy.uint8))
    members.update(extra or {})
    return _zip_bytes(members, zipfile.ZIP_DEFLATED)


def _safetensors_many(count):
    body = b",".join(b'"t%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i for i in range(count))
    return struct.pack("<Q", len(body) + 2) + b"{" + body + b"}"


def _idx_zeros(nbytes):
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (nbytes // 784, 28, 28))
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk, parts = bytes(16 << 20), [packer.compress(header)]
    parts += [packer.compress(chunk) for _ in range(nbytes // len(chunk))]
    return b"".join(parts) + packer.flush()


def _onnx_external(location):
    from onnx import ModelProto

    model = ModelProto.FromString(_onnx_bytes())
    tensor = model.graph.initializer[0]
    tensor.data_location = 1
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return model.SerializeToString()


def _onnx_long_dims():
    from onnx import ModelProto

    model = ModelProto.FromString(_onnx_bytes())
    model.graph.initializer[0].dims.extend([1] * 1_500_000)
    return model.SerializeToString()


def _png_declaring(width, height):
    png = bytearray(_png_bytes())
    png[16:24] = struct.pack(">II", width, height)
    png[25] = 6  # RGBA
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


ATTACKS = {  # (format, name) -> builder(valid bytes of that format)
    ("torch", "memo bomb LONG_BINPUT 2**30"): lambda v: _pickle_zip(b"\x80\x02}r" + struct.pack("<I", 2 ** 30) + b"."),
    ("torch", "16 MiB of DUP in one list"): lambda v: _pickle_zip(b"\x80\x02](" + b"2" * (16 << 20) + b"e."),
    ("torch", "4M nested lists"): lambda v: _pickle_zip(b"\x80\x02" + b"]" * (4 << 20) + b"."),
    ("torch", "40,000 colliding int keys"): lambda v: _pickle_zip(b"\x80\x02}(" + b"".join(
        b"\x8a\x0a" + (k * (2 ** 61 - 1)).to_bytes(10, "little") + b"N" for k in range(1, 40_000)) + b"u."),
    ("torch", "64 zero storages of 1 MiB"): lambda v: _pickle_zip(
        storages_pickle([str(i) for i in range(64)], 1 << 18),
        {f"archive/data/{i}": bytes(1 << 20) for i in range(64)}),
    ("torch", "byteorder record of 80 MB"): lambda v: _pickle_zip(
        storages_pickle(["0"], 1), {"archive/data/0": bytes(4), "archive/byteorder": b"little" + b" " * (80 << 20)}),
    ("torch", "BUILD values on OrderedDict"): lambda v: _pickle_zip(
        b"\x80\x02ccollections\nOrderedDict\n)R}X\x06\x00\x00\x00valuesK\x01sb."),
    ("npz", "64 zero members of 1 MiB"): lambda v: _zip_bytes(
        {f"w{i}.npy": _npy_bytes(numpy.zeros(1 << 18, numpy.float32)) for i in range(64)}, zipfile.ZIP_DEFLATED),
    ("npz", "string array"): lambda v: _zip_bytes({"w.npy": _npy_bytes(numpy.array(["a" * 100] * 100))}),
    ("h5", "64 fill-value datasets of 16 MiB"): lambda v: _fill_h5(None),
    ("h5", "64 gzip fill-value datasets"): lambda v: _fill_h5("gzip"),
    ("keras", "config.json nested 100,000 deep"): lambda v: _zip_bytes(
        {"model.weights.h5": _h5_bytes(), "config.json": b"[" * 100_000 + b"]" * 100_000}),
    ("keras", "64 fill-value datasets inside"): lambda v: _zip_bytes({"model.weights.h5": _fill_h5(None)},
                                                                    zipfile.ZIP_DEFLATED),
    ("safetensors", "400,000 empty tensors"): lambda v: _safetensors_many(400_000),
    ("safetensors", "shape of 1.5M dimensions"): lambda v: (lambda h: struct.pack("<Q", len(h)) + h + bytes(4))(
        json.dumps({"w": {"dtype": "F32", "shape": [1] * 1_500_000, "data_offsets": [0, 4]}}).encode()),
    ("checkpoint", "rng dtype (8000,8000)f8"): lambda v: _checkpoint_with(
        v, lambda meta: meta.update(rng={"__ndarray__": [0], "dtype": "(8000,8000)f8"})),
    ("checkpoint", "deflated member of 64 MiB"): lambda v: _checkpoint_with(
        v, extra={"optimizer/9.npy": _npy_bytes(numpy.zeros(1 << 24, numpy.float32))}),
    ("idx", "gzip of 256 MiB of zeros"): lambda v: _idx_zeros(1 << 28),
    ("onnx", "NUL byte in an external location"): lambda v: _onnx_external("a\x00b"),
    ("onnx", "dims of 1.5M entries"): lambda v: _onnx_long_dims(),
    ("png", "RGBA 9400x9400 declared"): lambda v: _png_declaring(9400, 9400),
    ("png", "PostScript named .png"): lambda v: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\nshowpage\n",
}


# ----- the tests -----

@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("valid")
    yield {kind: _valid_file(kind, folder) for kind in FORMATS}
    rows = [[kind, f"{WORST[kind][0] / 2 ** 20:.1f}", f"{WORST[kind][1]:.2f}", WORST[kind][2]]
            for kind in sorted(WORST)]
    if rows:
        print("\nworst case per format (peak MiB over the baseline, seconds, the mutation with that peak)\n"
              + text_table(["format", "peak MiB", "seconds", "worst mutation"], rows))


def _examples(request):
    return LONG_EXAMPLES if request.config.getoption("--fuzz-long", default=False) else EXAMPLES


@pytest.mark.parametrize("kind", FORMATS)
def test_valid_file_loads_within_budget(kind, valid_files, tmp_path):
    check_case(kind, valid_files[kind], tmp_path, "valid")


@pytest.mark.parametrize("kind, attack", sorted(ATTACKS), ids=[f"{k}: {a}" for k, a in sorted(ATTACKS)])
def test_the_attacks_of_issue_15_are_refused_within_budget(kind, attack, valid_files, tmp_path):
    check_case(kind, ATTACKS[kind, attack](valid_files[kind]), tmp_path, attack)


@pytest.mark.parametrize("mutation", ["bytes", "structure"])
@pytest.mark.parametrize("kind", FORMATS)
def test_mutated_files_fail_cleanly_within_budget(kind, mutation, valid_files, tmp_path, request):
    long_run = _examples(request) == LONG_EXAMPLES

    @settings(max_examples=_examples(request), deadline=None, derandomize=not long_run, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        raw = valid_files[kind]
        if mutation == "bytes":
            case, what = corrupt_bytes(data, raw, 16), "bytes"
        else:
            case, what = _mutate_structure(data, kind, raw)
        check_case(kind, case, tmp_path, what)

    run()
