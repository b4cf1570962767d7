import pytest

from ganforge.core.errors import CheckpointError, ConfigError
from ganforge.core.runs import new_run_dir, prepare_out_dir
from ganforge.core.seed import parse_seeds


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5,1,9") == [5, 1, 9]
    assert parse_seeds("0-1,7") == [0, 1, 7]
    for bad in ("a-b", "3-1", "", "-4"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_run_dirs_are_numbered_and_never_reused(tmp_path):
    a = new_run_dir(str(tmp_path), "digits")
    b = new_run_dir(str(tmp_path), "digits")
    assert a.endswith("00000-digits") and b.endswith("00001-digits")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="already holds a run"):
        prepare_out_dir(str(tmp_path / "x"))
