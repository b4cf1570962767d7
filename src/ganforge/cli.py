"""``ganforge`` command line: a thin layer over :mod:`ganforge.api`.

Errors a user can cause print one line (``ganforge: error: ...``) and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .version import __version__


def _add_train(sub, with_recipes: bool = False) -> None:
    p = sub.add_parser("train", help="train a GAN from a preset or a config file",
                       description="Train a GAN. PRESET is one of the built-in presets or a .toml/.yaml file.")
    p.add_argument("preset", nargs="?", help="preset name or config file (see `ganforge presets`)")
    p.add_argument("--data", help="data file or folder (overrides the preset's data source)")
    p.add_argument("--out", help="run folder to create (default: runs/NNNNN-<preset>)")
    p.add_argument("--steps", type=int, help="total training steps")
    p.add_argument("--seed", type=int, help="run seed")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set optim.d_lr=4e-4 (repeatable)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its newest checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="shortcut for --set train.device=...")
    p.add_argument("--nproc", type=int, help="data-parallel processes on this machine (via torch.distributed.run); "
                   "train.batch is the global batch, split across them")
    if with_recipes:  # shortcuts recipes declare for their own config keys (tables: --discrete, --target, --epochs)
        from .core.registry import RECIPES
        for _, cls in RECIPES.items():
            for flag, (key, typ, text) in cls.cli_options.items():
                p.add_argument(f"--{flag}", type=typ, dest=f"opt_{key}", help=f"{text} (= --set {key}=...)")


def _add_sample(sub, with_recipes: bool = False) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--n", type=int, help="number of samples (default 64, or one per --input example)")
    p.add_argument("--seed", type=int, default=0, help="seed for the n samples")
    p.add_argument("--seeds", help="one sample per seed, e.g. 0-63 or 1,5,9 (each reproducible alone)")
    p.add_argument("--out", help="output file; its extension picks the format the run's recipe writes (images: "
                   ".png grid or .npz arrays; tables: .csv or .parquet); default samples.<the recipe's grid format>")
    p.add_argument("--label", type=int, help="class to draw (class-conditional runs)")
    p.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE",
                   help="tabular runs: fix a discrete column to a value (repeatable)")
    p.add_argument("--input", metavar="FILE|DIR", help="examples the model transforms (translation runs): an NPZ, "
                   "an image folder or file the data sources read")
    p.add_argument("--text", action="append", metavar="TEXT", help="a text prompt or caption (repeatable)")
    p.add_argument("--prefix", help="text runs: the start every sample continues")
    p.add_argument("--temperature", type=float, help="text runs: sampling temperature (default: the run's)")
    p.add_argument("--frames", type=int, help="video runs: frames per clip (default: the trained length)")
    p.add_argument("--format", choices=["gif", "mp4"], help="video runs: the file of each clip when --out is a folder")
    p.add_argument("--truncation", type=float, metavar="PSI", help="pull the latents toward their mean: 1 = off, "
                   "0.7 trades diversity for precision (W space for model.arch=style, else z)")
    p.add_argument("--watermark", action="store_true", help="image runs: an invisible 32-bit mark (the checkpoint's "
                   "sha256) in every image (docs/provenance.md)")
    p.add_argument("--sign-cert", metavar="PEM", help="C2PA: embed signed Content Credentials (AI-generated) in "
                   "every PNG/JPEG/GIF/WAV/MP4 written, with this certificate chain (pip install 'ganforge[c2pa]')")
    p.add_argument("--sign-key", metavar="PEM", help="C2PA: the private key of --sign-cert")
    p.add_argument("--sign-alg", choices=["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"],
                   help="C2PA: the key's algorithm (default: told from the key)")
    if with_recipes:  # options recipes declare for their own conditions (translation: --direction)
        from .core.registry import RECIPES
        taken = {a for action in p._actions for a in action.option_strings}
        for _, cls in RECIPES.items():
            for flag, (typ, text, options) in cls.sample_options.items():
                if f"--{flag}" not in taken:
                    taken.add(f"--{flag}")
                    p.add_argument(f"--{flag}", type=typ, choices=options, dest=f"cond_{flag}", help=text)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="describe a run")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--json", action="store_true", help="print JSON")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="measure a run (or two data sets) with offline metrics")
    p.add_argument("run", nargs="?", help="run folder or checkpoint (omit with --real/--fake)")
    p.add_argument("--real", help="reference data: NPZ (key x), image folder or IDX file")
    p.add_argument("--fake", help="generated data to compare with --real")
    p.add_argument("--metrics", help="comma-separated metrics (`ganforge list metrics`, and is, gan; tables: quality, "
                   "tstr, dcr); default per data kind")
    p.add_argument("--n", type=int, help="generated samples (default: half the real data, at most 10,000)")
    p.add_argument("--extractor", default="auto", help="feature space: auto (the data's default) or a registered "
                   "extractor (`ganforge list extractors`)")
    p.add_argument("--seed", type=int, default=0, help="sampling and subset seed")
    p.add_argument("--json", dest="json_path", help="where to write the JSON result (default RUN/eval/<time>.json)")
    p.add_argument("--target", help="tabular runs: column to predict for tstr (default: the run's tabular.target)")
    p.add_argument("--train", help="the generator's training data: tabular tstr/dcr (default: the run's data file), "
                   "or memorisation of two files")
    p.add_argument("--heldout", help="memorisation: real data the generator never saw, a path or a data source "
                   "such as photos-heldout (default: what data.limit left out of the run, or --real for two files)")
    p.add_argument("--truncation", metavar="PSI[,PSI...]", help="runs with latents: comma-separated truncation "
                   "levels, one row of metrics each (precision and recall traded against each other)")
    p.add_argument("--temperatures", help="text runs: comma-separated sampling temperatures, one row each "
                   "(and a quality-vs-diversity plot)")
    p.add_argument("--baseline", metavar="RUN", help="text runs: another run on the same data (the maximum-"
                   "likelihood one) measured the same way and drawn beside it")


def _add_explore(sub) -> None:
    p = sub.add_parser("explore", help="look inside a trained run (interpolate, truncation, directions, saliency, "
                       "memorise, project)", description="Run one explore tool; pictures go to RUN/explore/.")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("tool", help="interpolate | truncation | directions | saliency | memorise | project")
    p.add_argument("--out", help="folder for the outputs (default RUN/explore)")
    p.add_argument("--seeds", help="interpolate: seeds to pass through, e.g. 0-3 or 4,9 (default 0-3)")
    p.add_argument("--frames", type=int, help="interpolate: images per pair of seeds (default 8)")
    p.add_argument("--linear", action="store_true", default=None, help="interpolate: straight lines, not slerp")
    p.add_argument("--what", help="interpolate: the part of the latent that moves, the others held at the first "
                   "seed's (video runs: content | motion; default all)")
    p.add_argument("--text", action="append", help="interpolate (caption-conditioned runs): from caption to caption; "
                   "repeat, e.g. --text 'a red two' --text 'a blue two'")
    p.add_argument("--levels", help="truncation: comma-separated psi values (or thresholds with --method resample)")
    p.add_argument("--method", help="truncation: psi (default) or resample")
    p.add_argument("--n", type=int, help="samples shown (truncation, saliency, memorise) or latents for the PCA "
                   "(directions)")
    p.add_argument("--k", type=int, help="directions: components (default 5); memorise: neighbours (default 3)")
    p.add_argument("--seed", type=int, help="seed of the samples or base latent")
    p.add_argument("--label", type=int, help="class for conditional models")
    p.add_argument("--image", help="project: the image file to reproduce")
    p.add_argument("--index", help="project: a training index; memorise: training indices, e.g. 0-4")
    p.add_argument("--steps", type=int, help="project: optimisation steps (default 300)")


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="write RUN/report.html, one self-contained page about a run")
    p.add_argument("run", help="run folder")
    p.add_argument("--out", help="output .html file (default RUN/report.html)")


def build_parser(with_recipes: bool = False) -> argparse.ArgumentParser:
    """The command line; ``with_recipes`` adds the options registered recipes declare (imports them)."""
    ap = argparse.ArgumentParser(prog="ganforge", description="Generative adversarial networks, trained and measured.")
    ap.add_argument("--version", action="version", version=f"ganforge {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    _add_train(sub, with_recipes)
    _add_sample(sub, with_recipes)
    _add_info(sub)
    _add_eval(sub)
    _add_explore(sub)
    _add_report(sub)
    _add_bench(sub)
    _add_export(sub)
    _add_augment(sub)
    _add_provenance(sub)
    p = sub.add_parser("detect", help="train / measure a real-vs-generated image detector, or score files with one",
                       add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("presets", help="list the presets (built in and from plug-ins)")
    p = sub.add_parser("list", help="list the registered parts: recipes, data sources, networks, losses, metrics, ...")
    p.add_argument("kind", nargs="?", help="one of: recipes, sections, presets, sources, archs, losses, metrics, "
                   "extractors, writers, evaluators (default: all)")
    return ap


def cmd_train(a) -> int:
    from . import api
    from . import config as C
    from .config import parse_set
    from .core import dist
    if a.nproc and a.nproc > 1 and not a.dry_run and "LOCAL_RANK" not in os.environ:  # start the ranks
        return dist.launch(a.nproc, a.argv)
    if a.device:
        a.overrides.append(f"train.device={a.device}")
    progress = False if a.no_progress else None
    shortcuts = {k[len("opt_"):]: v for k, v in vars(a).items() if k.startswith("opt_") and v is not None}
    if a.resume:
        if a.preset or a.overrides or a.data or a.seed is not None or shortcuts:
            print("ganforge: error: --resume takes only --steps (the run keeps its own config)", file=sys.stderr)
            return 2
        res = api.resume(a.resume, steps=a.steps, progress=progress)
    else:
        if not a.preset:
            print("ganforge: error: give a preset or config file (see `ganforge presets`), or --resume RUN",
                  file=sys.stderr)
            return 2
        overrides = parse_set(a.overrides)
        overrides.update(shortcuts)
        if a.dry_run:
            cfg, derived, why = api.plan(a.preset, data=a.data, steps=a.steps, seed=a.seed, overrides=overrides)
            print(cfg.to_json())
            if C.preset_why(cfg.preset):
                print(f"# preset {cfg.preset}: {C.preset_why(cfg.preset)}", file=sys.stderr)
            for d in derived:
                print(f"# {d.key} = {json.dumps(d.value)}: {d.why}", file=sys.stderr)
            if why:
                print(f"# data not read ({why}); values derived from the data are not shown", file=sys.stderr)
            return 0
        res = api.train(a.preset, data=a.data, out=a.out, steps=a.steps, seed=a.seed,
                        overrides=overrides, progress=progress)
    if dist.is_main():
        print(f"run: {res.run_dir}  steps: {res.step}  time: {res.elapsed_s:.1f}s  ({res.it_per_s:.1f} it/s)")
    dist.shutdown()
    return 0


def _conditions(a, recipe) -> dict:
    """The conditioning inputs given on the command line, in the form Generator.sample takes them."""
    from .core.errors import ConfigError
    out: dict = {"label": a.label}
    if a.condition:
        conds = {}
        for item in a.condition:
            col, eq, val = item.partition("=")
            if not eq:
                raise ConfigError(f"--condition expects COLUMN=VALUE, got {item!r}")
            conds[col.strip()] = val
        out["condition"] = conds
    if a.input:
        out.update(recipe.read_input(a.input))
    if a.text:
        out["text"] = list(a.text)
    out["prefix"], out["temperature"] = a.prefix, a.temperature
    out["frames"], out["format"], out["truncation"] = a.frames, a.format, a.truncation
    out.update({k[len("cond_"):]: v for k, v in vars(a).items() if k.startswith("cond_")})
    return out


def cmd_sample(a) -> int:
    from . import api
    from .core.seed import parse_seeds
    g = api.load(a.run)
    conditions = g.recipe.check_conditions(_conditions(a, g.recipe))
    out = a.out or f"samples{g.recipe.grid_format()}"
    seeds = parse_seeds(a.seeds) if a.seeds else None
    n = a.n if a.n is not None else (len(conditions["input"]) if "input" in conditions else 64)
    sign = None
    if a.sign_cert or a.sign_key:
        from .core.credentials import Signer
        from .core.errors import ConfigError
        if not (a.sign_cert and a.sign_key):
            raise ConfigError("C2PA signing needs both --sign-cert and --sign-key")
        sign = Signer(a.sign_cert, a.sign_key, a.sign_alg)
    print(g.save(out, n=None if seeds else n, seed=a.seed, seeds=seeds, watermark=a.watermark, sign=sign,
                 **conditions))
    return 0


def cmd_info(a) -> int:
    from . import api
    d = api.info(a.run)
    if a.json:
        print(json.dumps(d, indent=2))
        return 0
    data = d["data"]
    print(f"run        {d['run']}")
    print(f"preset     {d['preset']}   recipe {d['recipe']}   ganforge {d['version']}")
    print(f"data       {data.get('name')}: {data.get('n')} x {tuple(data.get('shape', ()))} "
          f"{data.get('kind')}, {data.get('num_classes', 0)} classes")
    print(f"steps      {d['steps_done']} / {d['steps_planned']}   checkpoint {d['checkpoint']}")
    from .core.privacy import summary
    print(f"privacy    {summary(d['privacy'])}")
    for gap in d["privacy"].get("not_covered", []):
        print(f"           not covered: {gap}")
    print("parameters " + "  ".join(f"{k} {v:,}" for k, v in d["parameters"].items()))
    last = {k: v for k, v in d["last_stats"].items() if k not in ("time",)}
    print("last stats " + "  ".join(f"{k}={v}" for k, v in last.items()))
    print("config     " + json.dumps({k: v for k, v in d["config"].items() if k != "preset"}))
    return 0


def cmd_eval(a) -> int:
    from . import evaluation
    options = {"metrics": a.metrics, "n": a.n, "extractor": a.extractor, "seed": a.seed, "heldout": a.heldout,
               "target": a.target, "train": a.train, "temperatures": a.temperatures, "baseline": a.baseline,
               "truncation": a.truncation}
    options = {k: v for k, v in options.items() if v is not None}
    if a.run:
        if a.fake:
            print("ganforge: error: give a RUN, or --real and --fake, not both", file=sys.stderr)
            return 2
        res = evaluation.evaluate_run(a.run, json_path=a.json_path, **options,
                                      **({"real": a.real} if a.real else {}))
    elif a.real and a.fake:
        res = evaluation.evaluate_files(a.real, a.fake, json_path=a.json_path, **options)
    else:
        print("ganforge: error: give a RUN to evaluate, or both --real and --fake", file=sys.stderr)
        return 2
    print(res["text"])
    for path in [res.get("json")] + res.get("files", []):
        if path:
            print(f"written: {path}")
    return 0


def cmd_explore(a) -> int:
    from . import explore
    from .core.errors import ConfigError
    from .core.seed import parse_seeds
    keys = ("seeds", "frames", "linear", "what", "levels", "method", "n", "k", "seed", "label", "image", "index",
            "steps", "text")
    opts = {k: getattr(a, k) for k in keys if getattr(a, k) is not None}
    if "seeds" in opts:
        opts["seeds"] = parse_seeds(opts["seeds"])
    if "levels" in opts:
        try:
            opts["levels"] = [float(v) for v in opts["levels"].split(",") if v.strip()]
        except ValueError:
            raise ConfigError(f"--levels expects numbers like 1,0.7,0.5, got {a.levels!r}") from None
    if "index" in opts:
        try:
            many = parse_seeds(opts["index"])
        except ConfigError:
            raise ConfigError(f"--index expects training indices like 5, 0-4 or 1,7, got {a.index!r}") from None
        if explore.get_tool(a.tool) is not explore.memorise and len(many) > 1:
            raise ConfigError(f"--index takes one training index for {a.tool}, got {a.index!r}")
        opts["index"] = many if explore.get_tool(a.tool) is explore.memorise else many[0]
    res = explore.run(a.run, a.tool, out=a.out, **opts)
    print("\n".join(res.paths))
    return 0


def cmd_report(a) -> int:
    from .report import build_report
    print(build_report(a.run, out=a.out))
    return 0


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="measure training and sampling speed, MFU and memory per preset")
    p.add_argument("presets", nargs="*", help="presets to measure (default: digits mnist)")
    p.add_argument("--steps", type=int, default=60, help="timed training steps per preset (default 60)")
    p.add_argument("--json", dest="json_path", help="also write the results as JSON to this file")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own)")
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the square matmul timed for the peak")


def cmd_bench(a) -> int:
    from .perf.bench import format_table, run_bench, write_json
    res = run_bench(a.presets or ["digits", "mnist"], steps=a.steps, threads=a.threads, matmul_n=a.matmul_size)
    print(format_table(res))
    if a.json_path:
        write_json(res, a.json_path)
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a run's generator (G_ema) to ONNX or a Hugging Face style folder")
    p.add_argument("run", help="run folder or checkpoint file")
    p.add_argument("--format", choices=["onnx", "hf"], default="onnx", help="onnx (one .onnx file) or hf "
                   "(folder with model.safetensors + config.json)")
    p.add_argument("--out", required=True, help="output .onnx file (onnx) or folder (hf)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")


def cmd_export(a) -> int:
    from .export import export_hf, export_onnx
    from .export.onnx import card_path
    written = export_onnx(a.run, a.out, opset=a.opset) if a.format == "onnx" else export_hf(a.run, a.out)
    print("\n".join(written) if isinstance(written, list) else written)
    card = card_path(a.out) if a.format == "onnx" else os.path.join(a.out, "MODEL_CARD.md")
    if os.path.isfile(card):
        print(f"model card: {card}")
    return 0


def _add_augment(sub) -> None:
    p = sub.add_parser("augment", help="write class-balanced synthetic images from a class-conditional GAN",
                       description="Train a class-conditional GAN on labelled images (or take a trained one with "
                       "--run) and write N synthetic images of every class.")
    p.add_argument("data", nargs="?", help="labelled images: digits, mnist, an NPZ (keys x, y), an IDX file or a "
                   "folder with one sub-folder per class")
    p.add_argument("--run", help="sample this trained class-conditional run instead of training one")
    p.add_argument("--out", help="output .npz (x uint8 N x C x H x W, y int64) or a new folder (one sub-folder "
                   "per class)")
    p.add_argument("--n-per-class", type=int, default=100, metavar="N", help="synthetic images per class (default 100)")
    p.add_argument("--per-class", type=int, metavar="K",
                   help="train on K labelled images of each class (a seeded pick)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pick, the training and the samples")
    p.add_argument("--preset", help="training preset or config file (default: digits-cond networks, DCGAN "
                   "above 16 px)")
    p.add_argument("--steps", type=int, help="training steps")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training config key (repeatable)")
    p.add_argument("--run-out", help="folder for the trained run (default runs/NNNNN-augment)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_augment(a) -> int:
    from .apps.synthdata import augment_data
    from .config import parse_set
    res = augment_data(a.data, run=a.run, out=a.out, n_per_class=a.n_per_class, per_class=a.per_class,
                       seed=a.seed, preset=a.preset, steps=a.steps, overrides=parse_set(a.overrides),
                       run_out=a.run_out, progress=False if a.no_progress else None)
    n = res.n_per_class * len(res.class_names)
    print(f"written: {res.out}  ({n} images, {res.n_per_class} per class x {len(res.class_names)} classes)  "
          f"run: {res.run_dir}")
    return 0


def _add_provenance(sub) -> None:
    p = sub.add_parser("provenance", help="read the provenance ganforge puts in every file it generates",
                       description="Print the provenance record of each file (or of every file below a folder): "
                       "which ganforge, checkpoint, run, seed and time made it. Exit status 1 when a file has none.")
    p.add_argument("files", nargs="+", help="generated files or folders")
    p.add_argument("--json", action="store_true", help="one JSON object per file, path under 'file'")
    p.add_argument("--watermark", action="store_true", help="also read the invisible mark of single-image files "
                   "and NPZ files of images (`ganforge sample --watermark`)")


def cmd_provenance(a) -> int:
    from .core import credentials, provenance
    from .core.errors import DataError
    files = []
    for f in a.files:
        if os.path.isdir(f):
            files += sorted(os.path.join(r, n) for r, _, ns in os.walk(f) for n in ns
                            if not n.endswith(provenance.SIDECAR))
        elif os.path.isfile(f):
            files.append(f)
        else:
            raise DataError(f"{f}: no such file or folder")
    missing = 0
    for f in files:
        try:
            rec = provenance.read(f)
        except OSError as e:
            raise DataError(f"{f}: cannot be read ({e.strerror or e})") from None
        missing += rec is None
        mark = None
        if a.watermark:
            from .core.watermark import read_file
            mark = read_file(f)
            if mark is not None and rec and isinstance(rec.get("watermark"), dict):
                mark["matches_record"] = mark["payload"] == rec["watermark"].get("payload")
        cred = credentials.read(f)
        if a.json:
            print(json.dumps({"file": f, "provenance": rec, **({"watermark": mark} if a.watermark else {}),
                              **({"c2pa": cred} if cred else {})}, sort_keys=True))
            continue
        if cred is not None:
            kind = "AI-generated" if cred.get("digital_source_type") == provenance.AI_SOURCE else \
                str(cred.get("digital_source_type"))
            print(f"{f}: C2PA Content Credentials {cred['validation_state']}: {kind}, signed by "
                  f"{cred.get('signer')} (issuer {cred.get('issuer')})" + (f"; {cred['error']}" if cred.get("error")
                                                                          else ""))
        if mark is not None:
            print(f"{f}: watermark payload {mark['payload']} ({mark['images']} image(s), all 32 bits agree in "
                  f"{mark['all_bits_agree']:.0%})" + ("" if "matches_record" not in mark else
                                                     ", matches the record" if mark["matches_record"]
                                                     else ", does NOT match the record"))
        if rec is None:
            print(f"{f}: no ganforge provenance")
        else:
            src = rec.get("checkpoint") or f"run {rec.get('run', '?')}"
            seeds = rec.get("seeds", rec.get("seed"))
            print(f"{f}: generated by a GAN ({rec.get('generator')} {rec.get('version')}, {rec.get('recipe', '?')} "
                  f"recipe), from {src}" + (f" sha256 {rec['checkpoint_sha256'][:16]}" if rec.get(
                      "checkpoint_sha256") else "") + f" step {rec.get('step', '?')}, seed {seeds}, "
                  f"{rec.get('created_utc')}")
    return 1 if missing else 0


def _detect_parsers() -> dict[str, argparse.ArgumentParser]:
    tr = argparse.ArgumentParser(prog="ganforge detect train", description="Train a real-vs-generated image "
                                 "detector (docs/provenance.md) and save it as a folder (safetensors + JSON).")
    tr.add_argument("--real", required=True, help="real images: a data set name (mnist), NPZ, IDX file or folder")
    tr.add_argument("--fake", required=True, action="append", help="generated images: a run or model folder "
                    "(sampled), an NPZ or an image folder; repeat for several")
    tr.add_argument("--out", required=True, help="new folder for the detector")
    tr.add_argument("--kind", choices=["cnn", "spectrum"], default="cnn")
    tr.add_argument("--n", type=int, default=2000, help="images per side (default 2000; fakes split over --fake)")
    tr.add_argument("--steps", type=int, default=1500)
    tr.add_argument("--augment", type=float, default=0.5, help="probability of blur and of JPEG per image")
    tr.add_argument("--seed", type=int, default=0)
    ev = argparse.ArgumentParser(prog="ganforge detect eval", description="Average precision and accuracy of a "
                                 "detector on real against generated images.")
    ev.add_argument("detector")
    ev.add_argument("--real", required=True)
    ev.add_argument("--fake", required=True, action="append")
    ev.add_argument("--n", type=int, default=1000)
    ev.add_argument("--seed", type=int, default=1, help="sampling seed for runs and subsets (default 1: not the "
                    "training seed)")
    sc = argparse.ArgumentParser(prog="ganforge detect", description="Score image files with a detector: "
                                 "`ganforge detect DETECTOR FILE|DIR ... [--out scores.csv]`; or `ganforge detect "
                                 "train ...` / `ganforge detect eval ...`.")
    sc.add_argument("detector")
    sc.add_argument("files", nargs="+")
    sc.add_argument("--out", help="write the scores as CSV here (default: print them)")
    return {"train": tr, "eval": ev, "score": sc}


def cmd_detect(a) -> int:
    import csv
    import io

    import numpy as np

    from . import detect
    parsers = _detect_parsers()
    args = list(a.args)
    verb = args.pop(0) if args and args[0] in ("train", "eval") else "score"
    if not args or args[0] in ("-h", "--help"):
        parsers[verb].print_help()
        return 0 if args else 2
    o = parsers[verb].parse_args(args)
    if verb == "train":
        real = detect.images(o.real, o.n, o.seed)
        per = max(1, o.n // len(o.fake))
        fake = np.concatenate([detect.images(f, per, o.seed) for f in o.fake])
        det = detect.fit(real, fake, o.kind, steps=o.steps, p_aug=o.augment, seed=o.seed,
                         sources={"real": o.real, "fake": o.fake})
        det.meta["train_fit"] = detect.measure(det, real, fake)
        print(det.save(o.out))
        return 0
    det = detect.load(o.detector)
    if verb == "eval":
        real = detect.images(o.real, o.n, o.seed)
        for f in o.fake:
            m = detect.measure(det, real, detect.images(f, o.n, o.seed))
            print(f"{f}: AP {m['ap']:.4f}  accuracy {m['acc']:.4f} (real {m['acc_real']:.3f}, generated "
                  f"{m['acc_fake']:.3f}; {m['n_real']} real, {m['n_fake']} generated)")
        return 0
    rows = detect.score_files(det, o.files)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "p_generated", "resized", "provenance"])
    w.writerows([r["file"], r["p_generated"], int(r["resized"]), int(r["provenance"])] for r in rows)
    text = buf.getvalue()
    if o.out:
        from .core.writers import write_bytes
        write_bytes(o.out, text.encode())
        print(f"written: {o.out} ({len(rows)} files)")
    else:
        print(text, end="")
    return 0


def cmd_presets(a) -> int:
    from .core.registry import PRESETS
    for name, p in PRESETS.items():
        recipe = p.get("model", {}).get("recipe", "auto")
        print(f"{name:14s} data={p.get('data', {}).get('source', '-'):14s} recipe={recipe}")
    return 0


def cmd_list(a) -> int:
    from .core.errors import ConfigError
    from .core.registry import ALL, suggest
    if a.kind and a.kind not in ALL:
        raise ConfigError(f"unknown kind of part '{a.kind}'" + suggest(a.kind, list(ALL)))
    for kind, reg in ALL.items():
        if a.kind in (None, kind):
            print(f"{kind:11s} {', '.join(reg.names())}")
    return 0


COMMANDS = {"list": cmd_list, "train": cmd_train, "sample": cmd_sample, "info": cmd_info, "eval": cmd_eval,
            "presets": cmd_presets, "explore": cmd_explore, "report": cmd_report, "bench": cmd_bench,
            "export": cmd_export, "augment": cmd_augment, "provenance": cmd_provenance,
            "detect": cmd_detect}


def _choose_omp_wait_policy() -> None:
    """Before torch loads OpenMP. On a CPU already busy with other processes (1-minute load average
    at least the core count), idle OpenMP workers must sleep (PASSIVE): spinning workers starve each
    other, and a 2-thread DCGAN step measured 3.6x slower. On an idle machine the OpenMP default
    (spin briefly, then sleep) was 1.3-1.9x faster than PASSIVE, so it is left alone. See
    docs/benchmarks.md (train-step). An OMP_WAIT_POLICY set by the user wins."""
    if "OMP_WAIT_POLICY" in os.environ:
        return
    try:
        busy = os.getloadavg()[0] >= (os.cpu_count() or 1)
    except OSError:  # no load average on this platform
        busy = False
    if busy:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def main(argv: list[str] | None = None) -> int:
    _choose_omp_wait_policy()
    from .core.errors import GanforgeError
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        a = build_parser(with_recipes=bool(args) and args[0] in ("train", "sample")).parse_args(args)
        a.argv = args  # for --nproc to re-launch
        return COMMANDS[a.command](a)
    except GanforgeError as e:
        print(f"ganforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganforge: interrupted (a run continues with `ganforge train --resume RUN`)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
