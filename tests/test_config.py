import pytest

from ganforge import config as C
from ganforge.core.errors import ConfigError


def test_presets_resolve_and_validate():
    for name in C.preset_names():
        cfg = C.resolve(name)
        assert cfg.preset == name
        assert C.from_dict(cfg.to_dict()) == cfg  # JSON round trip is exact


def test_preset_reasons_are_not_settings():
    assert "R1" in C.preset_why("mnist") and C.preset_why("no-such-preset") == ""
    assert C.resolve("mnist").to_dict().get("why") is None
    with pytest.raises(ConfigError, match="unknown --set section 'why'"):   # only a preset may give reasons
        C.resolve("digits", {"why": "because"})


def test_set_overrides_are_typed():
    cfg = C.resolve("digits", C.parse_set(["optim.d_lr=4e-4", "steps=12", "optim.g_betas=0.0,0.9",
                                           "model.conditional=true"]))
    assert cfg.optim.d_lr == 4e-4 and cfg.train.steps == 12
    assert cfg.optim.g_betas == (0.0, 0.9) and cfg.model.conditional is True


@pytest.mark.parametrize("item, needle", [
    ("optim.d_lrr=1", "did you mean 'optim.d_lr'"),
    ("trian.steps=3", "did you mean 'train'"),
    ("stepz=3", "did you mean 'train.steps'"),
    ("train.steps=abc", "expects int"),
    ("train.steps=1.5", "expects int"),
    ("loss.kind=hinj", "did you mean 'hinge'"),
    ("train.batch=0", "must be positive"),
    ("train.ema_beta=1.5", "ema_beta"),
    ("model.conditional=maybe", "expects bool"),
    ("nonsense", "key=value"),
])
def test_bad_overrides_fail_with_one_line(item, needle):
    with pytest.raises(ConfigError) as e:
        C.resolve("digits", C.parse_set([item]))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match="did you mean 'digits'"):
        C.resolve("digit")


def test_toml_and_yaml_files(tmp_path):
    t = tmp_path / "exp.toml"
    t.write_text('base = "digits"\n[train]\nsteps = 7\n[loss]\nkind = "hinge"\n')
    cfg = C.resolve(str(t))
    assert cfg.train.steps == 7 and cfg.loss.kind == "hinge" and cfg.data.source == "digits"
    y = tmp_path / "exp.yaml"
    y.write_text("base: ring8\noptim:\n  d_lr: 0.003\n")
    cfg = C.resolve(str(y))
    assert cfg.optim.d_lr == 0.003 and cfg.data.source == "ring8" and cfg.preset == "ring8"


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        C.resolve(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps=")
    with pytest.raises(ConfigError, match="cannot parse"):
        C.resolve(str(bad))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("train:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match="did you mean 'train.steps'"):
        C.resolve(str(wrong))
