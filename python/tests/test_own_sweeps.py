"""Sweeps with your own policies: the runs go to worker processes (or any executor, a Dask
cluster's included), and the files are byte-identical whatever ran them; a failing policy
fails its runs only; Ctrl-C keeps what was written and resume completes it."""

import _thread
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import coordsim
from test_own_agents import PyLeastOutstanding

ROOT = Path(__file__).resolve().parents[2]
FILES = ["runs.csv", "summary.csv", "faults.csv", "services.csv", "timeseries.csv", "errors.csv", "runs_extra.csv", "latency_cdf.csv"]


def pool_sweep(tmp_path, duration="20s", replications=2, rates=(1200, 1440)):
    text = (ROOT / "scenarios" / "pool.toml").read_text()
    text = text.replace('duration = "400s"', f'duration = "{duration}"').replace('warmup = "40s"', 'warmup = "2s"')
    text = text.replace("replications = 3", f"replications = {replications}")
    text += f'\n[sweep]\ngrid = {{ "classes.request.arrival.rate" = {list(rates)} }}\n'
    path = tmp_path / "pool-sweep.toml"
    path.write_text(text)
    return path


POLICIES = ["random", PyLeastOutstanding(), "least_outstanding"]


def same_files(a: Path, b: Path):
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_the_same_files_at_one_and_two_workers_and_through_an_explicit_executor(tmp_path):
    path = pool_sweep(tmp_path)
    one = coordsim.sweep(path, out=tmp_path / "one", policies=POLICIES, jobs=1, progress=False)
    coordsim.sweep(path, out=tmp_path / "two", policies=POLICIES, jobs=2, progress=False)
    with ProcessPoolExecutor(2) as executor:
        coordsim.sweep(path, out=tmp_path / "pool", policies=POLICIES, executor=executor, progress=False)
    same_files(tmp_path / "one", tmp_path / "two")
    same_files(tmp_path / "one", tmp_path / "pool")
    assert one.executed == 12 and one.failed == 0
    by = one.runs.set_index(["cell", "policy", "replication"]).fingerprint
    for cell in one.runs.cell.unique():
        for rep in (0, 1):
            assert by[(cell, "py_least_outstanding", rep)] == by[(cell, "least_outstanding", rep)]
    assert (tmp_path / "one" / "charts" / "latency_p99_ms.png").exists()
    assert set(one.summary.policy) == {"random", "py_least_outstanding", "least_outstanding"}


def test_a_dask_cluster_gives_the_same_files(tmp_path):
    distributed = pytest.importorskip("distributed", reason="distributed (Dask) is not installed")
    path = pool_sweep(tmp_path)
    coordsim.sweep(path, out=tmp_path / "local", policies=POLICIES, jobs=1, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            coordsim.sweep(path, out=tmp_path / "dask", policies=POLICIES, executor=client.get_executor(), progress=False)
    same_files(tmp_path / "local", tmp_path / "dask")


class Fails(coordsim.Policy):
    def place(self, view, task):
        if view.now > 1.0:
            raise ZeroDivisionError("this policy divides by zero")
        return view.candidates[0]


def test_a_failing_policy_fails_its_runs_and_the_others_complete(tmp_path):
    path = pool_sweep(tmp_path)
    r = coordsim.sweep(path, out=tmp_path / "out", policies=["random", Fails()], jobs=2, progress=False)
    assert r.failed == 4 and r.executed == 8
    assert set(r.errors.policy) == {"Fails"}
    assert all("ZeroDivisionError" in e and "this policy divides by zero" in e and "Fails.place failed at t = 1.0" in e for e in r.errors.error)
    assert set(r.runs.policy) == {"random"} and len(r.runs) == 4


def test_ctrl_c_keeps_what_was_written_and_resume_completes_it(tmp_path):
    path = pool_sweep(tmp_path, duration="30s", replications=3, rates=(900, 1100, 1300, 1440))
    first = {}

    def interrupt(done, total):
        if done >= 1 and not first:
            first["done"] = done
            _thread.interrupt_main()  # as Ctrl-C does

    with pytest.raises(KeyboardInterrupt):
        coordsim.sweep(path, out=tmp_path / "out", policies=POLICIES, jobs=2, progress=interrupt)
    runs = tmp_path / "out" / "runs"
    kept = [p for p in runs.iterdir() if p.suffix == ".json"]
    assert 1 <= len(kept) < 36, len(kept)
    assert not any(p.name.endswith(".tmp") for p in runs.iterdir())
    assert not (tmp_path / "out" / "runs.csv").exists(), "an interrupted sweep writes no tables"
    resumed = coordsim.sweep(path, out=tmp_path / "out", policies=POLICIES, jobs=2, resume=True, progress=False)
    assert resumed.executed == 36 - len(kept)
    coordsim.sweep(path, out=tmp_path / "whole", policies=POLICIES, jobs=1, progress=False)
    same_files(tmp_path / "out", tmp_path / "whole")


def test_a_built_in_name_the_file_does_not_compare_is_refused(tmp_path):
    path = pool_sweep(tmp_path)
    text = path.read_text().replace('policies = ["central", "auction", "gossip", "random", "round_robin", "least_outstanding", "power_of_d", "peak_ewma"]', 'policies = ["random"]')
    path.write_text(text)
    with pytest.raises(ValueError, match="not one of the scenario's policies"):
        coordsim.sweep(path, out=tmp_path / "out", policies=["power_of_d", PyLeastOutstanding()], progress=False)
    assert not (tmp_path / "out").exists()


def test_a_python_agent_in_a_sweep_matches_the_rust_agent_cell_for_cell(tmp_path):
    from test_own_agents import PyHPA

    text = (ROOT / "scenarios" / "autoscale.toml").read_text()
    text = text.replace('duration = "1200s"', 'duration = "400s"')
    text = text.replace('policies = ["power_of_d", "round_robin"]', 'policies = ["power_of_d"]')
    start = text.index("[sweep]")
    text = text[:start] + '[sweep]\ngrid = { "control.active" = [["hpa"], ["py_hpa"]] }\nreplications = 2\n'
    path = tmp_path / "autoscale-sweep.toml"
    path.write_text(text)
    r = coordsim.sweep(path, out=tmp_path / "out", agents=[PyHPA()], jobs=2, progress=False)
    assert r.failed == 0 and len(r.runs) == 4
    runs = r.runs.set_index(["cell", "replication"])
    for rep in (0, 1):
        rust = runs.loc[('control.active=["hpa"]', rep)]
        python = runs.loc[('control.active=["py_hpa"]', rep)]
        assert rust.fingerprint == python.fingerprint
        assert rust.scale_ups == python.scale_ups > 0
