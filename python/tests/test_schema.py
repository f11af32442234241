"""The scenario schema from an editor's side (issue 30): `coordsim schema` prints JSON equal to
the committed docs/scenario.schema.json; every shipped scenario is valid under it with the
Python `jsonschema` package; and `taplo check` (PyPI's taplo, the checker behind Even Better
TOML) accepts them through their `#:schema` directive and refuses a misspelt copy."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
SCHEMA = ROOT / "docs" / "scenario.schema.json"


def binary():
    return Path(os.environ.get("COORDSIM_BIN", ROOT / "target" / "release" / "coordsim"))


def test_the_printed_schema_is_json_and_the_committed_copy():
    printed = subprocess.run([binary(), "schema"], check=True, capture_output=True, text=True).stdout
    schema = json.loads(printed)
    assert schema["title"] == "coordsim scenario"
    assert printed == SCHEMA.read_text()


def test_every_shipped_scenario_is_valid_under_the_schema():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert len(SCENARIOS) > 10
    for path in SCENARIOS:
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(tomllib.loads(path.read_text()))]
        assert errors == [], path.name
    # And it refuses a misspelt key, an unknown policy and a duration with no unit.
    doc = tomllib.loads((ROOT / "scenarios" / "pool.toml").read_text())
    for change in [
        lambda d: d["services"]["server"].update(concurency=1),
        lambda d: d.update(policies=["power_of_two"]),
        lambda d: d.update(duration="10"),
    ]:
        bad = json.loads(json.dumps(doc))
        change(bad)
        assert not validator.is_valid(bad)


def taplo():
    found = shutil.which("taplo") or shutil.which("taplo", path=str(Path(sys.executable).parent))
    if not found:
        pytest.skip("taplo is not installed (pip install taplo)")
    return found


def test_taplo_checks_the_shipped_scenarios_through_their_directive(tmp_path):
    exe = taplo()
    done = subprocess.run([exe, "check", *map(str, SCENARIOS)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    # The same file with a misspelt key, next to a copy of the schema at the path its
    # directive names, is refused with the key.
    (tmp_path / "docs").mkdir()
    shutil.copy(SCHEMA, tmp_path / "docs" / SCHEMA.name)
    (tmp_path / "scenarios").mkdir()
    bad = tmp_path / "scenarios" / "bad.toml"
    bad.write_text((ROOT / "scenarios" / "pool.toml").read_text().replace("concurrency = 1", "concurency = 1"))
    done = subprocess.run([exe, "check", str(bad)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "concurency" in done.stdout + done.stderr
