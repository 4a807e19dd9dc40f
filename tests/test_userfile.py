"""Your own model file: ``load_model("file.py:Class", base)`` loads a Model subclass
from a file outside the package, and names the file and class in every error."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mhpcheck.checker.checker import check
from mhpcheck.model.base import Model
from mhpcheck.model.errors import ModelError, UsageError
from mhpcheck.userfile import is_model_file, load_model, split_ref

RING = '''
from mhpcheck.model.base import Declarations, Model, Param, action, init, invariant
from mhpcheck.model.domains import IntRange
from mhpcheck.model.dsl import StateView, then, when
from helper import wrap


class Ring(Model):
    name = "myring"
    params = (Param("n", default=4, lo=1, hi=8),)

    def declare(self, d: Declarations) -> None:
        d.var("head", IntRange(0, self.p.n - 1))

    @init
    def start(self, s: StateView):
        return then()

    @action
    def advance(self, s: StateView):
        return when(True).then(s.head.becomes(wrap(s.head + 1, self.p.n)))

    @invariant
    def in_ring(self, s: StateView):
        return s.head < self.p.n


class NotAModel:
    pass
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ring.py").write_text(RING)
    (tmp_path / "models" / "helper.py").write_text("def wrap(x, n):\n    return x % n\n")
    yield tmp_path
    sys.modules.pop("helper", None)


def test_a_model_class_loads_from_a_file_and_checks(folder: Path) -> None:
    cls = load_model("models/ring.py:Ring", folder)
    assert issubclass(cls, Model) and cls.name == "myring"
    ts = cls({"n": 3}).build()
    result = check(ts, ts.property("in-ring"), "bfs")
    assert result.verdict.value == "holds" and result.stats.distinct_states == 3
    assert load_model(str(folder / "models" / "ring.py") + ":Ring", Path("/")) is cls
    assert load_model("models/ring.py", folder) is cls  # the one Model subclass there
    assert str(folder / "models") not in sys.path


def test_refs_name_a_python_file() -> None:
    assert is_model_file("ring.py:Ring") and is_model_file("a/ring.py")
    assert not is_model_file("philosophers")
    assert split_ref("a/ring.py:Ring") == ("a/ring.py", "Ring")
    assert split_ref("ring.py") == ("ring.py", None)
    with pytest.raises(UsageError, match=r"model file 'ring:Ring': expected FILE.py:CLASS"):
        split_ref("ring:Ring")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"model file .*nothere\.py: no such file"):
        load_model("nothere.py:Ring", tmp_path)


def test_a_missing_class_lists_the_models_in_the_file(folder: Path) -> None:
    with pytest.raises(ModelError, match=r"ring\.py: no class 'Rnig' \(Model subclasses "
                                         r"defined there: Ring\)"):
        load_model("models/ring.py:Rnig", folder)


def test_a_class_that_is_not_a_model_is_refused(folder: Path) -> None:
    with pytest.raises(ModelError, match=r"ring\.py: NotAModel is not a Model subclass"):
        load_model("models/ring.py:NotAModel", folder)
    with pytest.raises(ModelError, match=r"ring\.py: Declarations is not a Model subclass"):
        load_model("models/ring.py:Declarations", folder)  # imported there, not a model
    with pytest.raises(ModelError, match=r"ring\.py: Model is not a Model subclass"):
        load_model("models/ring.py:Model", folder)


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("x = 1\ndef broken(:\n    pass\n")
    with pytest.raises(ModelError, match=r"model file .*bad\.py, line 2: syntax error"):
        load_model("bad.py:Bad", tmp_path)


def test_an_import_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "imp.py").write_text("import os\nimport no_such_module_here\n")
    with pytest.raises(ModelError, match=r"model file .*imp\.py, line 2: ModuleNotFoundError: "
                                         r"No module named 'no_such_module_here'"):
        load_model("imp.py:Imp", tmp_path)
    assert not any(m.startswith("mhpcheck_user_imp") for m in sys.modules)


def test_a_model_without_a_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "anon.py").write_text(RING.replace('name = "myring"', "").replace(
        "from helper import wrap", "wrap = lambda x, n: x % n"))
    with pytest.raises(ModelError, match=r"class Ring has no name \(set name = \"ring\""):
        load_model("anon.py:Ring", tmp_path)


def test_two_model_classes_need_the_class_named(tmp_path: Path) -> None:
    (tmp_path / "two.py").write_text(
        "from mhpcheck.model.base import Model\nclass A(Model):\n    name = 'a'\n"
        "class B(Model):\n    name = 'b'\n")
    with pytest.raises(ModelError, match=r"name the class as two\.py:CLASS .*: A, B\)"):
        load_model("two.py", tmp_path)
    assert load_model("two.py:B", tmp_path).name == "b"


def test_an_edited_file_is_loaded_again(tmp_path: Path) -> None:
    import os
    path = tmp_path / "one.py"
    path.write_text("from mhpcheck.model.base import Model\nclass A(Model):\n    name = 'a'\n")
    first = load_model("one.py:A", tmp_path)
    path.write_text("from mhpcheck.model.base import Model\nclass A(Model):\n    name = 'b'\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_model("one.py:A", tmp_path).name == "b" and first.name == "a"
