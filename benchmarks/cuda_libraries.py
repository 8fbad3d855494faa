"""Which CuPy wheel fits this machine: the CUDA major of the libraries already installed, not the driver's maximum.

A driver reports the newest CUDA it can run (nvidia-smi's "CUDA Version"), but CuPy runs on the CUDA
libraries that are installed: PyTorch's (pip's ``nvidia-*-cu12`` wheels), other pip-installed ``nvidia-*``
wheels, or a system toolkit. A ``cupy-cuda13x`` next to CUDA 12 libraries downloads a second CUDA stack
at best. So the wheel follows the libraries; the driver only bounds it. Where the installed libraries
already hold NVRTC, cuBLAS, cuRAND and the runtime, the plain wheel is enough; otherwise its ``[ctk]``
extra brings them (minitl's ``gpu`` extras).

    python benchmarks/cuda_libraries.py DRIVER_MAJOR    prints: PACKAGE<TAB>why   (used by gpu_check.sh)
"""
import importlib.metadata
import re
import subprocess
import sys

CUPY_MAJORS = (12, 13)  # the CUDA majors CuPy 14 publishes wheels for
NEEDED = ("cudart", "nvrtc", "cublas", "curand")  # what minitl's first-operation check uses


def pip_libraries(distributions):
    """{major: set of NEEDED libraries} from installed distributions ``[(name, version), ...]``.

    CUDA 12's wheels carry the major in their name (``nvidia-cublas-cu12``); CUDA 13's do not
    (``nvidia-cublas`` 13.x): there the runtime's, NVRTC's or cuBLAS's version says it (cuRAND's
    own numbering, 10.x, does not follow CUDA's).
    """
    found, unsuffixed, unsuffixed_major = {}, set(), None
    for name, version in distributions:
        match = re.fullmatch(r"nvidia-(?:cuda-)?(\w+?)(?:-cu(\d+))?", name.lower().replace("_", "-"))
        library = match and {"runtime": "cudart"}.get(match.group(1), match.group(1))
        if library not in NEEDED:
            continue
        if match.group(2):
            found.setdefault(int(match.group(2)), set()).add(library)
        else:
            unsuffixed.add(library)
            if library != "curand":
                unsuffixed_major = max(unsuffixed_major or 0, int(version.split(".")[0]))
    if unsuffixed_major:
        found.setdefault(unsuffixed_major, set()).update(unsuffixed)
    return found


def system_libraries(ldconfig_text):
    """{major: set of NEEDED libraries} from ``ldconfig -p`` output (a system CUDA toolkit)."""
    found = {}
    for library, major in re.findall(r"lib(cudart|nvrtc|cublas|curand)\.so\.(\d+)\b", ldconfig_text):
        found.setdefault(int(major), set()).add(library)
    return found


def choose(driver_major, torch_cuda=None, distributions=(), ldconfig_text=""):
    """``(package, why)``: PyTorch's CUDA first (one stack for both), then pip's libraries, then the system's."""
    sources = [("PyTorch", {int(torch_cuda.split(".")[0]): set(NEEDED)} if torch_cuda else {}),
               ("pip's nvidia-* wheels", pip_libraries(distributions)),
               ("the system's libraries (ldconfig)", system_libraries(ldconfig_text))]
    for source, found in sources:
        for major in sorted(found, reverse=True):
            if major not in CUPY_MAJORS:
                continue
            if driver_major is not None and major > driver_major:
                continue  # libraries newer than the driver cannot run: skip them
            complete = set(NEEDED) <= found[major]
            package = f"cupy-cuda{major}x" + ("" if complete else "[ctk]")
            what = "all of " if complete else "some of "
            return package, f"CUDA {major}: {what}{', '.join(sorted(found[major]))} from {source}"
    if driver_major is None or driver_major < CUPY_MAJORS[0]:
        raise SystemExit(f"cuda_libraries: the driver's CUDA {driver_major} is older than CUDA {CUPY_MAJORS[0]}, "
                         "the oldest CuPy 14 supports: update the NVIDIA driver")
    major = min(driver_major, CUPY_MAJORS[-1])
    return (f"cupy-cuda{major}x[ctk]",
            f"no CUDA libraries installed: CUDA {major} (the driver runs up to {driver_major})")


def _torch_cuda():
    try:
        import torch  # noqa: PLC0415 - optional: only asked which CUDA it was built for
    except Exception:
        return None
    return torch.version.cuda


def _ldconfig():
    try:
        return subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    driver_major = int(argv[0]) if argv and argv[0].isdigit() else None
    distributions = [(d.metadata["Name"] or "", d.version) for d in importlib.metadata.distributions()]
    package, why = choose(driver_major, _torch_cuda(), distributions, _ldconfig())
    print(f"{package}\t{why}")


if __name__ == "__main__":
    main()
