"""The Python examples (examples/python/) run end to end with small arguments, write their
chart and print a table naming every policy or strategy they compare."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="the examples draw their charts with matplotlib (pip install matplotlib)")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "python"


def run_example(script, args, tmp_path):
    out = tmp_path / "chart.png"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args, "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    assert out.exists() and out.stat().st_size > 0, f"{script} wrote no chart"
    return done.stdout


def test_own_policy_compares_its_policy_with_the_built_in_ones(tmp_path):
    stdout = run_example("own_policy.py", ["--rates", "150", "300", "--duration", "20s", "--warmup", "5s", "--replications", "1"], tmp_path)
    for name in ["central", "auction", "gossip", "power_of_d", "least_wait"]:
        assert name in stdout, f"the table does not name {name}:\n{stdout}"
    assert "150/s p99 ms" in stdout and "300/s failed %" in stdout


def test_own_autoscaler_compares_its_agent_with_the_hpa_and_none(tmp_path):
    stdout = run_example("own_autoscaler.py", ["--duration", "300s", "--replications", "1"], tmp_path)
    for name in ["none", "hpa", "queue_aware"]:
        assert name in stdout, f"the table does not name {name}:\n{stdout}"
    assert "replica_seconds" in stdout and "latency_p99_ms" in stdout


def test_learn_autoscaler_trains_and_compares_with_the_rust_autoscalers(tmp_path):
    pytest.importorskip("gymnasium")
    out = tmp_path / "learned"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "learn_autoscaler.py"), "--episodes", "3", "--seeds", "2", "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"learn_autoscaler.py failed:\n{done.stdout}\n{done.stderr}"
    for name in ["q-learning (learned)", "hpa (Rust)", "step (Rust)", "no autoscaling", "latency_p99_ms_ci95"]:
        assert name in done.stdout, f"the table does not name {name}:\n{done.stdout}"
    assert (out / "comparison.png").stat().st_size > 0
    table = (out / "comparison.csv").read_text().splitlines()
    assert len(table) == 1 + 4, table
