"""The check-model contract: exit codes, the JSON report schema, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from mhpcheck.cli.main import main

REPORT_KEYS = {"spec", "model", "params", "knobs", "property", "engine", "verdict", "expected",
               "ok", "distinct_states", "transitions", "depth", "seconds", "trace"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD = """model = "philosophers"
params = { n = 4 }

[[check]]
property = "deadlock-free"
expect = "violated"
expect_states = 34
expect_trace_length = 4

[[check]]
property = "mutex"
expect = "holds"
"""


def test_run_exits_0_when_all_checks_are_as_expected(tmp_path: Path) -> None:
    code, out, _ = run("run", "-q", write(tmp_path, "good.toml", GOOD))
    assert code == 0
    assert "2 of 2 checks as expected" in out


def test_json_report_follows_schema_1(tmp_path: Path) -> None:
    code, out, _ = run("run", "--json", write(tmp_path, "good.toml", GOOD))
    assert code == 0
    report = json.loads(out)
    assert report["schema"] == 1
    assert len(report["results"]) == 2
    first, second = report["results"]
    assert set(first) >= REPORT_KEYS
    assert first["ok"] is True and first["verdict"] == "violated"
    assert first["distinct_states"] == 34 and first["params"] == {"n": 4}
    assert first["knobs"] == {"broken": False}
    assert first["trace"]["#meta"]["property"] == "deadlock-free"
    assert second["trace"] is None and second["verdict"] == "holds"


def test_run_exits_1_on_a_mismatch_and_names_it(tmp_path: Path) -> None:
    spec = GOOD.replace("expect_states = 34", "expect_states = 35")
    code, out, _ = run("run", "-q", write(tmp_path, "pin.toml", spec))
    assert code == 1
    assert "expected 35 distinct states, got 34" in out


def test_run_exits_3_when_a_bound_makes_a_check_inconclusive(tmp_path: Path) -> None:
    spec = """model = "peterson"
params = { n = 4 }
[[check]]
property = "mutex"
expect = "holds"
max_depth = 5
"""
    code, _, _ = run("run", "-q", write(tmp_path, "bound.toml", spec))
    assert code == 3


def test_a_bounded_expectation_is_met_by_a_bounded_result(tmp_path: Path) -> None:
    spec = """model = "peterson"
params = { n = 4 }
[[check]]
property = "mutex"
expect = "holds-up-to-bound"
max_depth = 5
"""
    code, _, _ = run("run", "-q", write(tmp_path, "bound.toml", spec))
    assert code == 0


MALFORMED = {
    "unknown model": ('model = "nosuch"\n[[check]]\nproperty = "x"\nexpect = "holds"\n',
                      "key 'model': unknown model 'nosuch'"),
    "unknown property": ('model = "philosophers"\n[[check]]\nproperty = "nosuch"\n'
                         'expect = "holds"\n', "check[1]: key 'property'"),
    "unknown knob": ('model = "philosophers"\nknobs = { speed = 1 }\n[[check]]\n'
                     'property = "mutex"\nexpect = "holds"\n', "key 'knobs': "),
    "wrong knob value": ('model = "philosophers"\nknobs = { broken = "yes" }\n[[check]]\n'
                         'property = "mutex"\nexpect = "holds"\n', "key 'knobs': "),
    "wrong value type": ('model = "philosophers"\nparams = { n = "five" }\n[[check]]\n'
                         'property = "mutex"\nexpect = "holds"\n', "key 'params': "),
    "wrong check value type": ('model = "philosophers"\n[[check]]\nproperty = "mutex"\n'
                               'expect = "holds"\nexpect_states = "many"\n',
                               "check[1]: key 'expect_states' must be int"),
    "missing key": ('model = "philosophers"\n[[check]]\nexpect = "holds"\n',
                    "check[1]: missing key 'property'"),
    "missing model": ('[[check]]\nproperty = "mutex"\nexpect = "holds"\n',
                      "missing key 'model'"),
    "bad expectation": ('model = "philosophers"\n[[check]]\nproperty = "mutex"\n'
                        'expect = "fine"\n', "check[1]: key 'expect' must be one of"),
    "unknown check key": ('model = "philosophers"\n[[check]]\nproperty = "mutex"\n'
                          'expect = "holds"\nmaxdepth = 3\n', "check[1]: unknown key 'maxdepth'"),
    "TOML syntax error": ('model = "philosophers\n', "TOML syntax error"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_spec_exits_2_with_file_and_key(tmp_path: Path, case: str) -> None:
    text, message = MALFORMED[case]
    path = write(tmp_path, "bad.toml", text)
    code, out, err = run("run", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"check-model: error: {path}: ")
    assert message in lines[0]
    assert "Traceback" not in err + out


def test_a_missing_spec_path_is_a_usage_error() -> None:
    code, _, err = run("run", "/nonexistent/specs")
    assert code == 2 and "no such file or folder" in err


def test_check_exits_1_on_violation_and_writes_the_trace(tmp_path: Path) -> None:
    out_file = tmp_path / "t.json"
    code, out, _ = run("check", "philosophers", "--param", "n=3", "-p", "deadlock-free",
                       "--trace-out", str(out_file), "-q")
    assert code == 1
    assert "deadlock-free: violated" in out
    assert json.loads(out_file.read_text())["#meta"]["property"] == "deadlock-free"


def test_check_exits_0_when_the_property_holds() -> None:
    code, out, _ = run("check", "peterson", "--param", "n=3", "-p", "mutex", "-q")
    assert code == 0 and "mutual-exclusion: holds" in out


def test_check_exits_3_when_bounded() -> None:
    code, out, _ = run("check", "peterson", "--param", "n=3", "-p", "mutex", "--max-depth", "2")
    assert code == 3 and "holds-up-to-bound (depth)" in out


def test_check_with_set_changes_a_knob() -> None:
    code, _, _ = run("check", "peterson", "--param", "n=3", "--set", "broken=true", "-p", "mutex",
                     "-q")
    assert code == 1


@pytest.mark.parametrize("args, message", [
    (["check", "nosuch", "-p", "x"], "unknown model 'nosuch'"),
    (["check", "peterson", "-p", "nosuch"], "no property 'nosuch'"),
    (["check", "peterson", "-p", "mutx"], "mutual-exclusion (mutex)"),  # aliases listed
    (["check", "peterson", "--set", "speed=1", "-p", "mutex"], "unknown knob 'speed'"),
    (["check", "peterson", "--param", "n", "-p", "mutex"], "--param expects KEY=VALUE"),
    (["check", "peterson", "--param", "n=1", "-p", "mutex"], "n=1 outside 2..16"),
])
def test_check_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_models_lists_parameters_knobs_and_properties() -> None:
    code, out, _ = run("models", "--json")
    assert code == 0
    listing = {m["name"]: m for m in json.loads(out)}
    assert listing["peterson"]["params"][0]["name"] == "n"
    assert "mutual-exclusion" in [p["name"] for p in listing["peterson"]["properties"]]


def test_version_is_printed() -> None:
    code, out, _ = run("--version")
    assert code == 0 and "check-model" in out


def test_the_installed_command_never_shows_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", MALFORMED["unknown model"][0])
    exe = Path(sys.executable).parent / "check-model"
    proc = subprocess.run([str(exe), "run", path], capture_output=True, text=True, check=False,
                          cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_coverage_lists_actions_that_never_fired_while_properties_held() -> None:
    spec = str(ROOT / "specs/hotplug/4-class2-owner/legacy.toml")
    code, _, err = run("run", "-q", spec)
    assert code == 0 and "--coverage" in " ".join(err.split())
    code, _, err = run("run", "-q", "--coverage", spec)
    flat = " ".join(err.split())
    assert code == 0 and "never fired" in flat and "test_pages_isolated" in flat


def test_the_never_fired_warning_follows_a_holds_not_a_counterexample() -> None:
    base = ["check", "hotplug", "--preset", "not-movable-rule", "--set", "zone=kernel",
            "--set", "population=B", "--param", "pageblocks=1", "-p", "S5"]
    code, _, err = run(*base, "--set", "balloon_compaction=false")
    assert code == 1 and "never fired" not in err  # violated, with its trace
    code, _, err = run(*base)
    assert code == 0 and "never fired" in err  # holds: the warning says what went unused


def test_matrix_has_the_designs_as_columns_and_lists_variants_below() -> None:
    code, out, _ = run("run", "-q", "--matrix", str(ROOT / "specs/hotplug"))
    assert code == 0
    matrix = out[out.index("verdicts ("):out.index("variants")]
    assert "naive-" in matrix and "nocompaction" in matrix
    assert "long-held" not in matrix
    assert "skippable-v2-long-held-stray.toml" in out[out.index("variants"):]


def test_models_prints_each_property_doc_and_each_preset_knob_values() -> None:
    code, out, _ = run("models")
    assert code == 0
    assert ("  invariant      unplugged-never-allocated (S3): While virtio-mem is loaded, no page "
            "of an unplugged subblock is handed out") in out
    assert "preset skippable-v1: consent=skippable-flag, frozen_vmem=false, " \
           "frozen_balloon=false, frozen_class2=false, balloon_migration=refcount, " \
           "ebusy_branch=false," in out
    assert "preset legacy-newest: " in out and "from: mm tree" in out
    assert "mutual-exclusion (mutex): At most one process is in the critical section." in out
    code, out, _ = run("models", "--json")
    listing = {m["name"]: m for m in json.loads(out)}
    assert listing["hotplug"]["preset_knobs"]["legacy-newest"]["cancel_refcount"] == "set-to-one"
    assert listing["hotplug"]["preset_sources"]["legacy-newest"].startswith("mm tree")


# -- check with several properties, symbolic stats, certificates --------------------------
HOTPLUG_S3 = ("hotplug", "--preset", "legacy", "--set", "population=V|f", "--set",
              "stray=transient", "--set", "allocator=true", "--set", "signals=true", "-q")


def test_check_checks_every_property_given_with_the_worst_exit_code(tmp_path: Path) -> None:
    code, out, err = run("check", *HOTPLUG_S3, "-p", "S1", "-p", "S3", "-p", "S4",
                         "--trace-out", str(tmp_path / "t.json"))
    assert code == 1, err
    heads = [line.split(":")[0] for line in out.splitlines()
             if line.endswith("s]") and "[bfs:" in line]
    assert heads == ["page-type-exclusive", "unplugged-never-allocated",
                     "failed-offline-preserves-offline-pages"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t-failed-offline-preserves-offline-pages.json", "t-unplugged-never-allocated.json"]
    assert "t-page-type-exclusive.json: nothing written" in err
    code, out, _ = run("check", *HOTPLUG_S3, "-p", "S1", "-p", "S2", "--json")
    assert code == 0
    assert [r["property"] for r in json.loads(out)] == ["page-type-exclusive",
                                                       "skippable-implies-offline"]


def test_check_exit_code_prefers_violated_over_inconclusive() -> None:
    code, _, _ = run("check", "philosophers", "-p", "mutex", "-p", "deadlock-free",
                     "--max-depth", "2", "-q")
    assert code == 3  # both bounded
    code, out, _ = run("check", *HOTPLUG_S3, "-p", "S1", "-p", "S3", "--max-depth", "10")
    assert "page-type-exclusive: holds-up-to-bound" in out
    assert "unplugged-never-allocated: violated" in out and code == 1


def test_symbolic_engines_report_their_own_measures(tmp_path: Path) -> None:
    code, out, _ = run("check", "philosophers", "-p", "mutex", "-e", "bmc", "--max-depth", "3",
                       "-q")
    assert code == 3 and "[bmc: depth 3," in out and "states" not in out.splitlines()[0]
    code, out, _ = run("check", "philosophers", "-p", "mutex", "-e", "pdr", "-q")
    assert code == 0 and "0 states" not in out and "frame" in out.splitlines()[0]


def test_a_certificate_is_printed_only_when_asked(tmp_path: Path) -> None:
    code, out, _ = run("check", "philosophers", "-p", "mutex", "-e", "pdr", "-q")
    assert code == 0 and "# inductive invariant" not in out and "--show-certificate" in out
    code, out, _ = run("check", "philosophers", "-p", "mutex", "-e", "pdr", "-q",
                       "--show-certificate")
    assert "certificate: # inductive invariant" in out
    target = tmp_path / "c.txt"
    code, out, err = run("check", "philosophers", "-p", "mutex", "-e", "pdr", "-q",
                         "--certificate-out", str(target))
    assert code == 0 and "# inductive invariant" not in out and "certificate:" not in out
    assert f"certificate written to {target}" in err
    assert target.read_text().startswith("# inductive invariant")
