"""The text recipe: data and vocabulary, metrics on known values, maximum likelihood that learns, both
adversarial methods, exact resume across the stage change, sampling with seeds, prefixes and temperatures."""
from __future__ import annotations

import json

import pytest
import torch

import ganforge
from ganforge.cli import main
from ganforge.config import Config
from ganforge.core import checkpoint as ckpt
from ganforge.core.errors import DataError
from ganforge.data import load_dataset
from ganforge.metrics.text import References, bleu, distinct, self_bleu, sentence_bleu

SMALL = ["text.embed=16", "text.hidden=32", "text.d_embed=16", "text.d_filters=8", "train.batch=16",
         "train.log_every=5", "train.sample_every=0", "train.ckpt_every=0", "train.progress=false"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Lines of one rule: a rotation of "abcd" repeated, so the next character is always determined."""
    path = tmp_path_factory.mktemp("text") / "abc.txt"
    lines = [("abcd" * 4)[k:k + 9] for k in range(4)] * 30
    path.write_text("\n".join(lines) + "\n")
    return path


def text_cfg(path, **text) -> Config:
    cfg = Config()
    cfg.data.source, cfg.data.path = "text", str(path)
    for k, v in text.items():
        setattr(cfg.section("text"), k, v)
    return cfg


# ------------------------------------------------------------------------------------------------ data

def test_lines_become_token_rows_with_a_vocabulary(corpus):
    ds = load_dataset(text_cfg(corpus), seed=0)
    info = ds.info()
    assert info["kind"] == "text" and info["length"] == 10 and info["vocab"]["items"][:3] == ["<pad>", "<eos>", "<unk>"]
    assert set(info["vocab"]["items"][3:]) == set("abcd") and ds.x.shape == (108, 10)  # 12 of 120 lines held out
    assert (ds.x[:, 9] == 1).all()                                                    # <eos> after 9 characters


def test_bad_text_files_are_one_clear_error(tmp_path):
    cases = {"empty.txt": (b"  \n", "is empty"), "bin.txt": (b"ab\x00cd", "NUL byte at offset 2"),
             "latin.txt": ("caf\u00e9\n".encode("latin-1"), "offset 3")}
    for name, (data, needle) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=needle):
            load_dataset(text_cfg(tmp_path / name), seed=0)
    (tmp_path / "long.txt").write_text("ab\n" * 10 + "abcdefgh\n" * 3)
    with pytest.raises(DataError, match=r"3 examples are longer than text.max_len=4 chars \(the longest has 8\)"):
        load_dataset(text_cfg(tmp_path / "long.txt", max_len=4), seed=0)
    assert load_dataset(text_cfg(tmp_path / "long.txt", max_len=4, long="truncate"), seed=0).x.shape[1] == 5
    (tmp_path / "words.txt").write_text("\n".join(f"w{i} w{i + 1}" for i in range(50)))
    with pytest.raises(DataError, match="over text.vocab_limit=20; use text.tokens=char"):
        load_dataset(text_cfg(tmp_path / "words.txt", tokens="word", vocab_limit=20), seed=0)


# ------------------------------------------------------------------------------------------------ metrics

def test_bleu_known_values():
    ref = [list("the cat sat")]
    assert bleu([list("the cat sat")], ref, 4) == pytest.approx(1.0)
    assert bleu([list("xyz")], ref, 2) == 0.0                       # no unigram in common
    # "ab" against "abc": p1 = 2/2, p2 = 1/1, brevity penalty exp(1 - 3/2)
    assert bleu([list("ab")], [list("abc")], 2) == pytest.approx(0.6065306597, abs=1e-9)
    assert distinct([list("aaaa")], 1) == 0.25 and distinct([list("abcd")], 2) == 1.0


def test_bleu_and_self_bleu_match_nltk():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    import random
    import warnings
    rng = random.Random(0)
    sent = lambda: [rng.choice("abcdef") for _ in range(rng.randint(1, 8))]  # noqa: E731
    refs, hyps = [sent() for _ in range(25)], [sent() for _ in range(40)]
    smooth = nltk_bleu.SmoothingFunction().method1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in (2, 3, 4, 5):
            w = tuple([1 / n] * n)
            want = sum(nltk_bleu.sentence_bleu(refs, h, w, smoothing_function=smooth) for h in hyps) / len(hyps)
            assert bleu(hyps, refs, n) == pytest.approx(want, abs=1e-12)
            want = sum(nltk_bleu.sentence_bleu(hyps[:i] + hyps[i + 1:], h, w, smoothing_function=smooth)
                       for i, h in enumerate(hyps)) / len(hyps)
            assert self_bleu(hyps, n) == pytest.approx(want, abs=1e-12)
    assert sentence_bleu(hyps[0], References(refs, 2), 2) >= 0


@pytest.mark.slow
def test_the_oracle_scores_its_own_samples_about_5_75(datasets_dir):
    from ganforge.data.oracle import load_oracle
    oracle = load_oracle()
    assert oracle.nll(oracle.sample(2000, seed=1)) == pytest.approx(5.75, abs=0.08)
    assert oracle.nll(torch.randint(0, 5000, (500, 20), generator=torch.Generator().manual_seed(0))) > 10


# ------------------------------------------------------------------------------------------------ training

def test_maximum_likelihood_learns_the_rule(corpus, tmp_path):
    run = ganforge.train("text", data=str(corpus), steps=300, out=str(tmp_path / "mle"),
                         overrides=SMALL + ["text.adversarial=false"])
    g = ganforge.load(run)
    from ganforge.recipes.text import per_token_nll
    test = load_dataset(text_cfg(corpus), seed=0).x
    assert per_token_nll(g.recipe, test) < 0.5                      # 4 characters: 1.39 nats if it knew nothing
    lines = g.sample(20, seed=0, numpy=True)["x"]
    good = sum(line in ("abcd" * 4) or line in ("bcda" * 4) or line in ("cdab" * 4) or line in ("dabc" * 4)
               for line in lines)
    assert good >= 15, lines


@pytest.mark.parametrize("method", ["gumbel", "reinforce"])
def test_adversarial_training_resumes_exactly_across_the_stage_change(corpus, tmp_path, method):
    sets = SMALL + ["text.pretrain=6", f"text.method={method}", "text.rollouts=2", "train.ckpt_every=4"]
    straight = ganforge.train("text", data=str(corpus), steps=12, out=str(tmp_path / "a"), overrides=sets)
    part = ganforge.train("text", data=str(corpus), steps=4, out=str(tmp_path / "b"), overrides=sets)
    ganforge.resume(part.run_dir, steps=12)
    a, b = ckpt.load(straight.run_dir)[0], ckpt.load(part.run_dir)[0]
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("net.", "opt.")))
    rows = [json.loads(line) for line in open(f"{straight.run_dir}/stats.jsonl")]
    assert "loss_mle" in rows[0] and "loss_D" in rows[-1] and "loss_D" not in rows[0]
    assert ("beta" in rows[-1]) == (method == "gumbel") and ("reward" in rows[-1]) == (method == "reinforce")


def test_sampling_seeds_prefix_temperature_and_refusals(corpus, tmp_path, capsys):
    run = ganforge.train("text", data=str(corpus), steps=150, out=str(tmp_path / "r"),
                         overrides=SMALL + ["text.adversarial=false"]).run_dir
    g = ganforge.load(run)
    many = g.sample(seeds=list(range(6)), numpy=True)["x"]
    assert [g.sample(seeds=[s], numpy=True)["x"][0] for s in (0, 4)] == [many[0], many[4]]
    out = g.sample(5, seed=1, prefix="cd", numpy=True)["x"]
    assert all(line.startswith("cd") for line in out)
    hot, cold = (g.sample(200, seed=2, temperature=t, numpy=True)["x"] for t in (3.0, 0.05))
    assert len(set(hot)) > len(set(cold))
    with pytest.raises(DataError, match="never saw these chars: 'z'"):
        g.sample(2, prefix="az")
    assert main(["sample", run, "--n", "3", "--prefix", "ab", "--out", str(tmp_path / "s.txt")]) == 0
    assert [line[:2] for line in (tmp_path / "s.txt").read_text().splitlines()] == ["ab"] * 3
    assert main(["sample", run, "--label", "1", "--out", str(tmp_path / "s.txt")]) == 2
    assert "takes no --label" in capsys.readouterr().err


def test_eval_rows_per_temperature_and_a_plot(corpus, tmp_path, capsys):
    sets = SMALL + ["text.adversarial=false", "train.sample_every=10"]
    run = ganforge.train("text", data=str(corpus), steps=20, out=str(tmp_path / "r"), overrides=sets).run_dir
    base = ganforge.train("text", data=str(corpus), steps=5, out=str(tmp_path / "b"), overrides=sets).run_dir
    assert main(["eval", run, "--n", "40", "--temperatures", "0.5,1.0,2.0", "--baseline", base]) == 0
    out = capsys.readouterr().out
    written = [line.split("written: ")[1] for line in out.splitlines() if line.startswith("written: ")]
    res = json.loads(open(written[0]).read())
    assert [r["temperature"] for r in res["rows"]] == [0.5, 1.0, 2.0] and written[1].endswith(".png")
    assert [r["temperature"] for r in res["protocol"]["baseline_rows"]] == [0.5, 1.0, 2.0]
    assert res["protocol"]["baseline_rows"][1]["nll_test"] > res["rows"][1]["nll_test"]   # 5 steps fit worse than 20
    nll = [r["nll_test"] for r in res["rows"]]
    assert nll[1] < nll[2]                                   # the learned model fits better than a flattened one
    assert all(0 <= r["bleu4"] <= 1 and 0 <= r["self_bleu4"] <= 1 for r in res["rows"])
    assert main(["report", run]) == 0                        # the report shows the temperature plot and the grids
    page = open(f"{run}/report.html", encoding="utf-8").read()
    assert written[1].rsplit("/", 1)[1] in page and "<pre>" in page


def test_lm_scores_separate_fitting_text_from_noise(corpus):
    from ganforge.evaluation.text import lm_nll
    x = load_dataset(text_cfg(corpus), seed=0).x                      # (108, 10) rows of the rule
    noise = torch.randint(3, 7, x.shape, generator=torch.Generator().manual_seed(0))
    noise[:, -1] = 1
    fit = lm_nll(x, x[:20], vocab_size=7, eos=True, steps=150, seed=0)
    off = lm_nll(x, noise[:20], vocab_size=7, eos=True, steps=150, seed=0)
    assert fit < 0.5 < 2.0 < off                                      # the rule is learned; noise is not it
