"""What a new user trips over in the first hour (issue 31's Python points): a single policy
name, a missing file, an unknown policy argument, progress for `run`, short reprs,
exceptions named as the package names them, and properties that are properties."""

from pathlib import Path

import pytest

import coordsim

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SHORT = {"duration": "3s", "warmup": "0s"}


def test_a_single_policy_name_is_one_policy():
    r = coordsim.run(SCENARIOS / "pool.toml", policies="power_of_d", replications=1, set=SHORT)
    assert list(r.runs.policy) == ["power_of_d"]


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        coordsim.load(tmp_path / "nope.toml")
    assert err.value.filename.endswith("nope.toml")
    assert isinstance(err.value, coordsim.ScenarioError)
    with pytest.raises(FileNotFoundError):
        coordsim.run(tmp_path / "nope.toml")


def test_an_unknown_policy_argument_is_blamed_on_the_argument():
    with pytest.raises(ValueError) as err:
        coordsim.run(SCENARIOS / "pool.toml", policies=["power_of_two"], set=SHORT)
    message = str(err.value)
    assert message.startswith("policies: 'power_of_two' is not a built-in policy")
    assert "did you mean 'power_of_d'" in message and "pool.toml" not in message


class First(coordsim.Policy):
    def place(self, view, task):
        return view.candidates[0]


@pytest.mark.parametrize("policies", [["random", "round_robin"], ["random", First()]])
def test_run_reports_progress_up_to_the_total(policies):
    seen = []
    coordsim.run(SCENARIOS / "pool.toml", policies=policies, replications=2, set=SHORT, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (4, 4)
    assert all(t == 4 for _, t in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_results_print_as_a_summary_not_as_dataframes():
    r = coordsim.run(SCENARIOS / "pool.toml", policies=["random", "round_robin"], replications=2, set=SHORT)
    text = repr(r)
    assert text.startswith("<coordsim RunResults of 'pool': 4 runs of 2 policies (random, round_robin)")
    assert len(text) < 300 and "\n" not in text


def test_exceptions_are_named_as_the_package_exports_them():
    assert coordsim.ScenarioError.__module__ == "coordsim"
    assert coordsim.PolicyError.__module__ == "coordsim"
    with pytest.raises(coordsim.ScenarioError) as err:
        coordsim.load(SCENARIOS / "pool.toml", set={"services.server.replicas": 0})
    assert type(err.value).__module__ + "." + type(err.value).__name__ == "coordsim.ScenarioError"


def test_what_a_scenario_knows_is_read_as_attributes():
    s = coordsim.load(SCENARIOS / "remediation-hurts.toml")
    assert isinstance(s.warnings, list) and s.warnings, "this scenario warns on purpose"
    assert s.estimate["bytes"] > 0 and isinstance(s.policies, list) and s.duration_s > 0
