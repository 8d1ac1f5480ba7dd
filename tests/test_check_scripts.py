"""The one-call report scripts (tools/gpu_check.sh, tools/cpu_check.sh): their shared step
runner records every command, its output and exit status, and keeps going after a failure."""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bash(script, tmp_path):
    return subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, REPORT=str(tmp_path / "report.md")))


def test_step_records_each_command_and_goes_on_after_a_failure(tmp_path):
    res = _bash("source tools/report_steps.sh; echo '# r' > $REPORT;"
                "step one echo hello; step two bash -c 'echo oops >&2; exit 3'; step three echo after;"
                "echo failed=$failed", tmp_path)
    assert res.returncode == 0, res.stderr
    assert "failed=1" in res.stdout and "FAILED (exit 3)" in res.stdout
    report = (tmp_path / "report.md").read_text()
    sections = report.split("## ")[1:]
    assert [s.split("\n")[0] for s in sections] == ["one", "two", "three"]
    assert "$ echo hello\nhello\n(exit 0," in sections[0]
    assert "oops\n(exit 3," in sections[1]          # stderr is kept
    assert "$ echo after\nafter\n(exit 0," in sections[2]


def test_step_leaves_failed_unset_when_all_pass(tmp_path):
    res = _bash("source tools/report_steps.sh; step one true; step two echo x; echo failed=$failed",
                tmp_path)
    assert "failed=0" in res.stdout and "FAILED" not in res.stdout


def test_both_scripts_parse_and_use_the_shared_runner():
    for name in ("gpu_check.sh", "cpu_check.sh"):
        path = os.path.join(REPO, "tools", name)
        assert subprocess.run(["bash", "-n", path], capture_output=True).returncode == 0, name
        with open(path) as f:
            text = f.read()
        assert "source tools/report_steps.sh" in text and "exit $failed" in text, name
