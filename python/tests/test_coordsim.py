"""The Python package against the binary: the same errors, the same files byte for byte,
DataFrames with the CSV files' columns, and Ctrl-C that leaves nothing half-written."""

import csv
import io
import os
import subprocess
import _thread
from pathlib import Path

import pytest

import coordsim

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def binary() -> Path:
    """The coordsim binary of this checkout: COORDSIM_BIN, or `cargo build --release`'s."""
    path = Path(os.environ.get("COORDSIM_BIN", ROOT / "target" / "release" / "coordsim"))
    if not path.exists():
        pytest.fail(f"no coordsim binary at {path}: run `cargo build --release` first")
    return path


def test_load_reads_a_shipped_scenario_with_overrides():
    s = coordsim.load(SCENARIOS / "pool.toml", set={"services.server.replicas": 8, "duration": "60s"})
    assert s.name == "pool"
    assert s.duration_s == pytest.approx(60.0)
    assert s.services == ["server"]
    assert "gossip" in s.policies and set(s.policies) <= set(coordsim.policies())
    assert s.estimate["bytes"] > 0
    # pool.toml runs 16 servers at load 0.9: half of them are offered 1.8.
    [(field, message)] = s.warnings
    assert field == "services.server" and message.startswith("offered load 1.80 is above 1")
    assert coordsim.load(SCENARIOS / "pool.toml").warnings == []


def test_a_bad_scenario_raises_scenario_error_naming_the_file_and_the_key():
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.load(SCENARIOS / "pool.toml", set={"services.server.replicas": 0})
    assert err.value.field == "services.server.replicas"
    assert err.value.file.endswith("pool.toml")
    assert "expected an integer >= 1" in str(err.value)
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.load(SCENARIOS / "nope.toml")
    assert "cannot read scenario file" in err.value.message and err.value.file.endswith("nope.toml")


def test_the_same_words_as_the_binary(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((SCENARIOS / "pool.toml").read_text().replace("concurrency = 1", "concurency = 1"))
    out = subprocess.run([binary(), "validate", bad], capture_output=True, text=True)
    assert out.returncode == 2
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.load(bad)
    assert str(err.value) in out.stderr


def test_run_returns_the_binarys_files_byte_for_byte_and_dataframes_with_their_columns(tmp_path):
    args = ["--policy", "random", "--policy", "power_of_d", "--replications", "2", "--set", "duration=30s", "--set", "warmup=5s"]
    subprocess.run([binary(), "run", SCENARIOS / "pool.toml", "--out", tmp_path / "cli", *args], check=True, capture_output=True)
    r = coordsim.run(
        SCENARIOS / "pool.toml",
        policies=["random", "power_of_d"],
        replications=2,
        set={"duration": "30s", "warmup": "5s"},
        out=tmp_path / "py",
    )
    for name in ("runs", "faults", "classes", "services", "timeseries"):
        cli = (tmp_path / "cli" / f"{name}.csv").read_bytes()
        assert (tmp_path / "py" / f"{name}.csv").read_bytes() == cli, name
        assert r.csv[name] == cli, name
        header = next(csv.reader(io.StringIO(cli.decode())))
        frame = getattr(r, name)
        assert list(frame.columns) == header or (frame.empty and len(cli.splitlines()) <= 1), name
    assert len(r.runs) == 4
    assert set(r.runs.policy) == {"random", "power_of_d"}
    # The supermarket model: two choices beat random placement by far at load 0.9.
    means = r.runs.groupby("policy").latency_mean_ms.mean()
    assert means["power_of_d"] < means["random"] / 2


def test_results_do_not_depend_on_threads():
    a = coordsim.run(SCENARIOS / "pool.toml", policies=["gossip"], replications=2, set={"duration": "20s", "warmup": "2s"}, jobs=1)
    b = coordsim.run(SCENARIOS / "pool.toml", policies=["gossip"], replications=2, set={"duration": "20s", "warmup": "2s"}, jobs=2)
    assert a.csv == b.csv


def test_sweep_matches_the_binary_and_reports_progress(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        (SCENARIOS / "pool.toml").read_text()
        + '\n[sweep]\nreplications = 2\npolicies = ["random", "power_of_d"]\ngrid = { "classes.request.arrival.rate" = [800, 1200] }\n'
    )
    seen = []
    res = coordsim.sweep(scenario, out=tmp_path / "py", jobs=2, progress=lambda done, total: seen.append((done, total)))
    subprocess.run([binary(), "sweep", scenario, "--out", tmp_path / "cli", "--jobs", "1"], check=True, capture_output=True)
    for name in ("runs", "summary", "faults", "services", "timeseries", "errors", "latency_cdf"):
        assert (tmp_path / "py" / f"{name}.csv").read_bytes() == (tmp_path / "cli" / f"{name}.csv").read_bytes(), name
    assert len(res.runs) == 8 and res.executed == 8 and res.failed == 0
    # The distribution of the last cell, over every job that arrived: it ends at the share
    # completed, which runs.csv counts independently.
    last = res.runs[res.runs.cell == res.runs.cell.iloc[-1]]
    for policy, cdf in res.latency_cdf.groupby("policy"):
        runs = last[last.policy == policy]
        assert cdf.jobs_within.iloc[-1] == runs.jobs_completed.sum()
        assert cdf.jobs_arrived.iloc[-1] == runs.jobs_arrived.sum()
    assert "latency_p99_ms_mean" in res.summary.columns and "n" in res.summary.columns
    assert seen and seen[-1][1] == 8
    assert (tmp_path / "py" / "charts").is_dir()


def test_ctrl_c_stops_a_sweep_and_resume_completes_it(tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        (SCENARIOS / "pool.toml").read_text().replace('duration = "400s"', 'duration = "100s"')
        + '\n[sweep]\nreplications = 4\npolicies = ["random", "round_robin"]\ngrid = { "classes.request.arrival.rate" = [400, 600, 800, 1000] }\n'
    )
    first = {}

    def interrupt(done, total):
        # The first run is written: interrupt, as Ctrl-C does.
        if done >= 1 and not first:
            first["done"] = done
            _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        coordsim.sweep(scenario, out=tmp_path / "out", jobs=1, progress=interrupt)
    kept = [p for p in (tmp_path / "out" / "runs").iterdir() if p.suffix == ".json"]
    assert 1 <= len(kept) < 32, len(kept)
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "out" / "runs").iterdir())
    assert not (tmp_path / "out" / "runs.csv").exists(), "an interrupted sweep writes no tables"
    res = coordsim.sweep(scenario, out=tmp_path / "out", jobs=1, resume=True, progress=False)
    assert res.executed == 32 - len(kept)
    whole = coordsim.sweep(scenario, out=tmp_path / "whole", jobs=2, progress=False)
    assert (tmp_path / "out" / "runs.csv").read_bytes() == (tmp_path / "whole" / "runs.csv").read_bytes()
    assert len(whole.runs) == 32


def test_limits_and_strictness_as_the_binary():
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.run(SCENARIOS / "pool.toml", policies=["gossip"], set={"services.server.replicas": 20000})
    assert "gossip's views" in str(err.value)
    with pytest.raises(coordsim.ScenarioError):
        coordsim.run(SCENARIOS / "remediation-hurts.toml", strict=True)
    with pytest.raises(ValueError):
        coordsim.run(SCENARIOS / "pool.toml", jobs=0)
