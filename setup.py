"""Build script for rasnet_plugin and its fused op extension `rasnet_plugin._C`.

The CPU kernels are always built.  The CUDA kernels are built when torch was
built with CUDA *and* a CUDA toolkit is found; `RASNET_WITH_CUDA=1` forces them
(the build fails loudly if it cannot), `RASNET_WITH_CUDA=0` skips them.

Install torch first (requirements.txt pins it), then `pip install .` or `pip install -e .`
(`--no-build-isolation` saves pip a download of setuptools; the extension is always built
against the torch already installed, see `import_torch`).
"""
import glob
import os
import re
import shutil
import subprocess
import sys

from setuptools import find_packages, setup

ROOT = os.path.dirname(os.path.abspath(__file__))


def _is_real_nvcc(path):
    """The nvcc first on PATH may be a tiny wrapper script; torch would then
    guess CUDA_HOME wrongly.  A real toolkit has an ELF nvcc next to include/."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_cuda_home():
    candidates = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
        try:  # a wrapper script usually exec's the real binary: ask it
            out = subprocess.run([nvcc, "-v", "--dryrun", "-c", "x.cu"],
                                 capture_output=True, text=True, timeout=30)
            for line in (out.stdout + out.stderr).splitlines():
                if "TOP=" in line:
                    candidates.append(os.path.realpath(line.split("TOP=", 1)[1].strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += ["/usr/local/cuda"] + sorted(glob.glob("/usr/local/cuda-*"), reverse=True)
    for home in candidates:
        if home and _is_real_nvcc(os.path.join(home, "bin", "nvcc")) and \
                os.path.exists(os.path.join(home, "include", "cuda_runtime.h")):
            return home
    return None


def want_cuda(torch):
    flag = os.environ.get("RASNET_WITH_CUDA", "auto").lower()
    if flag in ("0", "no", "false", "off"):
        return False, None
    cuda_home = find_cuda_home() if torch.version.cuda else None
    if flag in ("1", "yes", "true", "on"):
        if not torch.version.cuda:
            sys.exit("RASNET_WITH_CUDA=1 but this torch (%s) has no CUDA support" % torch.__version__)
        if cuda_home is None:
            sys.exit("RASNET_WITH_CUDA=1 but no CUDA toolkit was found; set CUDA_HOME")
    return cuda_home is not None, cuda_home


# GPU architectures the CUDA kernels are built for (unless TORCH_CUDA_ARCH_LIST says
# otherwise): Volta, Ampere, Hopper, with PTX of the newest for later GPUs.
CUDA_ARCHS = ("7.0", "8.0", "9.0")


def cuda_arch_list(cuda_home):
    """CUDA_ARCHS that this toolkit's nvcc compiles for, as TORCH_CUDA_ARCH_LIST
    ("8.0;9.0+PTX"), or None if nvcc cannot say (torch then picks).  CUDA 13 dropped
    Volta (compute_70): naming it there fails the whole build."""
    try:
        out = subprocess.run([os.path.join(cuda_home, "bin", "nvcc"), "--list-gpu-arch"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    known = set(re.findall(r"compute_(\d+)", out.stdout))
    archs = [a for a in CUDA_ARCHS if a.replace(".", "") in known]
    if out.returncode != 0 or not archs:
        return None
    return ";".join(archs) + "+PTX"


def import_torch():
    """The torch of the environment being installed into. Under pip's build isolation that
    environment's packages are hidden, and declaring torch a build requirement would make
    pip fetch another (multi-GB) torch to compile against, so the installed one is located
    by a clean interpreter (-I: no isolation overlay) and put on sys.path for the build."""
    try:
        import torch
        return torch
    except ImportError:
        pass
    probe = subprocess.run([sys.executable, "-I", "-c",
                            "import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        sys.exit("rasnet_plugin: install torch first (pip install -r requirements.txt), then "
                 "pip install .")
    sys.path.append(probe.stdout.strip())
    import torch
    return torch


def read_version():
    with open(os.path.join(ROOT, "rasnet_plugin", "__init__.py")) as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


# console scripts: `rasnet-<name>` runs rasnet_plugin/cli/<module>.py, as tools/<module>.py does
SCRIPTS = {"test": "test", "eval": "eval", "compare": "compare", "bench": "bench",
           "bench-op": "bench_op", "bench-peer": "bench_peer", "soak": "soak", "train": "train",
           "vot-workspace": "vot_workspace", "vot-compare": "vot_compare",
           "prepare-offline-data": "prepare_offline_data"}


def extensions():
    torch = import_torch()
    with_cuda, cuda_home = want_cuda(torch)
    if with_cuda:
        os.environ["CUDA_HOME"] = cuda_home  # must be set before cpp_extension is imported
        archs = cuda_arch_list(cuda_home)
        if archs and not os.environ.get("TORCH_CUDA_ARCH_LIST"):
            os.environ["TORCH_CUDA_ARCH_LIST"] = archs
    from torch.utils import cpp_extension

    sources = sorted(glob.glob("csrc/*.cpp")) + sorted(glob.glob("csrc/cpu/*.cpp"))
    cxx = ["-O3", "-fopenmp", "-fvisibility=hidden"]
    link = ["-fopenmp"]
    if os.environ.get("RASNET_SANITIZE", "").lower() == "address":  # AddressSanitizer build
        print("rasnet_plugin: building with -fsanitize=address (RASNET_SANITIZE=address)")
        cxx += ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"]
        link.append("-fsanitize=address")
    define_macros = [("Py_LIMITED_API", "0x03090000")]
    if with_cuda:
        print("rasnet_plugin: building CPU + CUDA kernels (CUDA_HOME=%s)" % cuda_home)
        sources += sorted(glob.glob("csrc/cuda/*.cu"))
        define_macros.append(("WITH_CUDA", None))
        ext_cls = cpp_extension.CUDAExtension
        extra = {"cxx": cxx, "nvcc": ["-O3", "--expt-relaxed-constexpr", "-lineinfo"]}
    else:
        print("rasnet_plugin: building the CPU kernels only")
        ext_cls = cpp_extension.CppExtension
        extra = {"cxx": cxx}
    ext = ext_cls(
        "rasnet_plugin._C",
        sources,
        include_dirs=[os.path.join(ROOT, "csrc")],
        define_macros=define_macros,
        extra_compile_args=extra,
        extra_link_args=link,
        py_limited_api=True,
    )
    build_ext = cpp_extension.BuildExtension.with_options(no_python_abi_suffix=True)
    return [ext], {"build_ext": build_ext}


if __name__ == "__main__":  # (pip runs it so; tests import it for its helpers)
    ext_modules, cmdclass = extensions()

    setup(
        name="rasnet_plugin",
        version=read_version(),
        license="MIT",
        description="RASNet (Residual Attentional Siamese Network) tracker for PySOT, pytracking and the VOT toolkit",
        packages=find_packages(include=["rasnet_plugin", "rasnet_plugin.*"]),
        package_data={"rasnet_plugin": ["weights/*.pth", "configs/*.yaml", "configs/*/*.yaml"]},
        python_requires=">=3.9",
        # compatible ranges; requirements.txt holds the exact pins CI uses. One OpenCV only:
        # contrib-headless has CSRT (tools/compare.py's peer) and no GUI libraries.
        install_requires=["torch>=2.5,<3", "numpy>=1.24,<3", "yacs>=0.1.8,<0.2",
                          "opencv-contrib-python-headless>=4.8,<5", "scikit-image>=0.21,<1",
                          "matplotlib>=3.7,<4", "tqdm>=4.60,<5"],
        entry_points={"console_scripts": ["rasnet-%s = rasnet_plugin.cli.%s:main" % kv
                                          for kv in SCRIPTS.items()]},
        extras_require={
            "test": ["pytest", "hypothesis", "expecttest"],
            # the got10k toolkit (rasnet_plugin.integrations.got10k) and its dependencies, pinned;
            # it needs no OpenCV, so it installs with its dependencies: pip install -e ".[got10k]"
            "got10k": ["got10k==0.1.3", "Shapely==2.2.0", "fire==0.7.1", "termcolor==3.3.0",
                       "wget==3.2", "Pillow", "matplotlib", "numpy"],
            # The VOT toolkit's dependencies, pinned, WITHOUT vot-toolkit itself: it requires
            # opencv-python, a second cv2 that would overwrite opencv-contrib-python-headless.
            # The toolkit goes in afterwards without its dependencies (requirements-vot.txt):
            #   pip install --no-build-isolation -e ".[vot]"
            #   pip install --no-deps -r requirements-vot.txt
            "vot": [
                "vot-trax==4.0.2", "attributee==0.1.9",  # attributee 0.1.10 breaks vot on 3.11
                "numba==0.68.1", "llvmlite==0.50.0", "PyLaTeX==1.4.2", "ordered-set==4.1.0",
                "dominate==2.9.1", "cachetools==8.0.2", "bidict==0.24.1",
                "phx-class-registry==5.1.1", "colorama==0.4.6", "six==1.17.0",
                "lazy-object-proxy==1.12.0", "jsonschema==4.26.0", "requests==2.34.2",
                "PyYAML==6.0.3", "packaging", "Pillow", "tqdm", "matplotlib", "numpy",
            ],
        },
        ext_modules=ext_modules,
        cmdclass=cmdclass,
        options={"bdist_wheel": {"py_limited_api": "cp39"}},
    )
