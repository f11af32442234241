"""Scenarios built in Python (issue 30): `loads` (TOML text), `from_dict` and `load(dict)`
validate as a file does, with the same `ScenarioError` (its `file` `<string>` or `<dict>`),
and `to_toml()` writes a loaded scenario back so that it reruns, from Python or the command
line, with byte-identical results."""

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

import coordsim

ROOT = Path(__file__).resolve().parents[2]
POOL = ROOT / "scenarios" / "pool.toml"
SHORT = {"duration": "4s", "warmup": "1s", "replications": 1}


def binary():
    return Path(os.environ.get("COORDSIM_BIN", ROOT / "target" / "release" / "coordsim"))


def runs_csv(scenario, out):
    coordsim.run(scenario, policies=["power_of_d", "gossip"], set=SHORT, out=out)
    return (out / "runs.csv").read_bytes()


def test_a_file_written_back_with_to_toml_reruns_byte_for_byte(tmp_path):
    original = coordsim.load(POOL, set={"services.server.replicas": 12})
    text = original.to_toml()
    again = coordsim.loads(text)
    assert again.name == original.name == "pool"
    assert again.path == "<string>"
    assert runs_csv(again, tmp_path / "a") == runs_csv(original, tmp_path / "b")
    # Saved, it reruns from the command line as the file with the same override does.
    saved = tmp_path / "pool.toml"
    saved.write_text(text)
    short = [f"--set={k}={v if not isinstance(v, str) else repr(v)}" for k, v in SHORT.items()]
    cli = lambda *args: subprocess.run([binary(), "run", *args, "--policy", "power_of_d", *short], check=True, capture_output=True)
    cli(str(saved), "--out", str(tmp_path / "c"))
    cli(str(POOL), "--set", "services.server.replicas=12", "--out", str(tmp_path / "d"))
    assert (tmp_path / "c" / "runs.csv").read_bytes() == (tmp_path / "d" / "runs.csv").read_bytes()


def test_a_dict_is_a_scenario_like_its_file(tmp_path):
    document = tomllib.loads(POOL.read_text())
    built = coordsim.from_dict(document, name="pool")
    assert built.path == "<dict>"
    assert coordsim.load(document).services == ["server"]
    assert runs_csv(built, tmp_path / "a") == runs_csv(coordsim.load(POOL), tmp_path / "b")
    # Generated programmatically: a scenario nobody wrote as a file.
    generated = {
        "duration": "2s",
        "services": {f"s{i}": {"replicas": 2, "service_time": {"dist": "exponential", "mean": "5ms"}} for i in range(3)},
        "classes": {"c": {"service": "s0", "arrival": {"process": "poisson", "rate": 100}}},
    }
    scenario = coordsim.from_dict(generated, name="gen")
    assert scenario.services == ["s0", "s1", "s2"]
    assert coordsim.loads(scenario.to_toml()).name == "gen"


def test_errors_name_the_string_or_the_dict_and_the_field():
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.loads(POOL.read_text().replace("concurrency = 1", "concurency = 1"))
    assert err.value.file == "<string>"
    assert err.value.field == "services.server.concurency"
    assert "did you mean `concurrency`" in err.value.message
    document = tomllib.loads(POOL.read_text())
    document["services"]["server"]["replicas"] = 0
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.from_dict(document)
    assert err.value.file == "<dict>"
    assert err.value.field == "services.server.replicas"
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.loads("duration = = 1")
    assert err.value.file == "<string>" and "not valid TOML" in str(err.value)
    with pytest.raises(ValueError):
        coordsim.from_dict({"duration": None})


SWEPT = """
duration = "3s"
warmup = "1s"
policies = ["random", "power_of_d"]
[services.api]
replicas = 2
service_time = { dist = "exponential", mean = "10ms" }
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 80 }
[sweep]
grid = { "classes.web.arrival.rate" = [40, 80] }
"""


def test_a_sweep_takes_a_built_scenario_and_set_and_replications_as_the_binary_does(tmp_path):
    source = tmp_path / "s.toml"
    source.write_text(SWEPT)
    # The binary with --set, and the same edit written into the file.
    subprocess.run([binary(), "sweep", str(source), "--set", "services.api.replicas=3", "--set", "sweep.replications=2", "--out", str(tmp_path / "cli")], check=True, capture_output=True)
    from_python = coordsim.sweep(source, out=tmp_path / "py", set={"services.api.replicas": 3}, replications=2, progress=False)
    assert len(from_python.runs) == 2 * 2 * 2
    cli_runs = (tmp_path / "cli" / "runs.csv").read_bytes()
    assert (tmp_path / "py" / "runs.csv").read_bytes() == cli_runs
    # A scenario built in Python sweeps the same (its name set to the file's).
    built = coordsim.loads(SWEPT.replace("[services.api]\nreplicas = 2", "[services.api]\nreplicas = 3"), name="s")
    again = coordsim.sweep(built, out=tmp_path / "built", replications=2, progress=False)
    assert (tmp_path / "built" / "runs.csv").read_bytes() == cli_runs
    assert (tmp_path / "built" / "scenario.toml").exists()
    # And a grid key that is valid in no cell is refused before anything runs.
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.sweep(source, out=tmp_path / "bad", set={"sweep.grid": {"services.api.replicass": [1, 2]}}, progress=False)
    assert err.value.field == 'sweep.grid."services.api.replicass"'
    assert "did you mean `replicas`" in err.value.message
    assert not (tmp_path / "bad" / "runs.csv").exists()
