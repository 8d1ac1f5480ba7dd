"""tools/bench_op.py's flags (rasnet_plugin/cli/bench_op.py): counts and dtypes are checked
before anything is timed, a dtype the device's kernels do not take is an error naming the
ones they do, and the table has a row per timed case (the timing itself stubbed out)."""
import pytest
import torch

from rasnet_plugin import ops
from rasnet_plugin.cli.bench_op import main
from rasnet_plugin.ops import benchmark

needs_fused = pytest.mark.skipif(not ops.has_fused(), reason="the fused op is not built")


@pytest.fixture
def no_timing(monkeypatch):
    monkeypatch.setattr(benchmark, "bench_case",
                        lambda *a: pytest.fail("timing started before the flags were checked"))


def _exit_status(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def test_counts_are_checked(capsys, no_timing):
    for flags, named in ((["--repeat", "0"], "--repeat must be >= 1, got 0"),
                         (["--repeat", "-3"], "--repeat must be >= 1, got -3"),
                         (["--threads", "0"], "--threads must be >= 1, got 0"),
                         (["--threads", "-1"], "--threads must be >= 1, got -1")):
        assert _exit_status(["--device", "cpu"] + flags) == 2, flags
        assert named in capsys.readouterr().err


def test_a_dtype_typo_is_refused(capsys, no_timing):
    assert _exit_status(["--device", "cpu", "--dtype", "float23"]) == 2
    err = capsys.readouterr().err
    assert "--dtype" in err and "float23" in err and "bfloat16" in err


def test_a_dtype_the_cpu_kernels_do_not_take_is_an_error(capsys, no_timing):
    for dtype in ("bfloat16", "float16"):
        assert _exit_status(["--device", "cpu", "--dtype", "float32", dtype]) == 2
        err = capsys.readouterr().err
        assert "--dtype %s is not supported on cpu" % dtype in err
        assert "float32, float64" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_device_all_without_cuda_refuses_cuda_only_dtypes(capsys, no_timing):
    assert _exit_status(["--device", "all", "--dtype", "bfloat16"]) == 2
    assert "--dtype bfloat16 is not supported on cpu" in capsys.readouterr().err


@needs_fused
def test_cpu_rows_for_each_requested_dtype(capsys, monkeypatch):
    calls = []

    def fake(bz, bx, device, dtype, layout, repeat):
        calls.append((device.type, dtype, layout, repeat))
        return {"forward": (1.0, 2.0), "forward+backward": (2.0, 8.0)}
    monkeypatch.setattr(benchmark, "bench_case", fake)
    assert main(["--device", "cpu", "--dtype", "float32", "float64", "--layout", "nchw",
                 "--repeat", "2"]) == 0
    assert {c[1] for c in calls} == {torch.float32, torch.float64}
    assert all(c[0] == "cpu" and c[3] == 2 for c in calls)
    out = capsys.readouterr().out
    rows = [l for l in out.splitlines() if l.startswith("| cpu |")]
    assert len(rows) == 2 * len(benchmark.CASES) * 2     # dtypes x cases x passes
    assert "| cpu | float64 | nchw | batch 8 | forward+backward | 2.000 | 8.000 | 4.0x |" in rows


def test_bench_pair_refuses_zero_repeats():
    with pytest.raises(ValueError, match="repeat >= 1, got 0"):
        benchmark.bench_pair([lambda: None], torch.device("cpu"), 0)


@needs_fused
def test_cuda_without_the_cuda_kernels_is_an_error(capsys, monkeypatch, no_timing):
    """A CUDA torch with an extension built without nvcc: CUDA tensors run the reference,
    so timing 'fused' against it would compare the reference with itself."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(ops, "has_cuda_kernels", lambda: False)
    assert main(["--device", "cuda"]) == 1
    err = capsys.readouterr().err
    assert "error: --device cuda: the extension was built without its CUDA kernels" in err
