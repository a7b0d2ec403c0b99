"""Regenerate docs/models.md from the model cards.

    python3 -m sgai_train.models_doc [--status "free text about runs in progress"]
"""

from __future__ import annotations

import argparse
import glob
import json
import os

from typing import Dict, List

from .export import COMPRESSAI_MBT2018_MEAN, QUALITY_LAMBDAS, fmt_duration
from .make_test_model import OUT as TEST_MODEL, REPO

DOC = os.path.join(REPO, "docs", "models.md")
REAL_SUMMARY = os.path.join(REPO, "bench", "results", "kodak*", "summary.json")  # every Kodak bench:rd run
WIDTH_RESULTS = os.path.join(REPO, "bench", "results", "width-equal-time")


def _cards():
    cards = []
    for p in sorted(glob.glob(os.path.join(REPO, "resources", "models", "*.json"))):
        if os.path.basename(p) == "registry.json":
            continue
        with open(p) as f:
            cards.append(("resources/models", json.load(f)))
    tp = TEST_MODEL.replace(".safetensors", ".json")
    if os.path.exists(tp):
        with open(tp) as f:
            cards.append(("test/fixtures/models", json.load(f)))
    return cards


def _real_file_numbers(summary_path: str) -> Dict[str, dict]:
    """Kodak numbers of real .sgai files per model id from a bench:rd summary (unrefined codec).

    Only kept when the benchmarked weights are the current ones (sha256 prefix in the
    codec's version record), so the doc never shows a number from an older export.
    """
    out: Dict[str, dict] = {}
    # Several runs (a glob): per model id, the newest run over the most images wins (_row then
    # shows it only if its weights are the card's).
    for path in sorted(glob.glob(summary_path)):
        for k, v in _real_file_numbers_one(path).items():
            mine = out.get(k)
            if mine is None or _newer(v, mine):
                out[k] = v
    return out


def _newer(a: dict, b: dict) -> bool:
    return a["images"] > b["images"] or (a["images"] == b["images"] and a["generatedAt"] >= b["generatedAt"])


def _real_file_numbers_one(summary_path: str) -> Dict[str, dict]:
    with open(summary_path) as f:
        s = json.load(f)
    out: Dict[str, dict] = {}
    for c in s.get("codecs", []):
        if c.get("kind") != "sgai" or "sgaplus" in c["id"] or c["id"].startswith("sgai-test"):
            continue
        for p in c.get("curve", []):
            ver = c.get("versions", {}).get(f"model:{p['setting']}", "")
            out[p["setting"]] = {"bpp": p["bpp"], "psnr": p["psnrRgb"], "images": p["images"],
                                 "sha": ver.rsplit(" ", 1)[-1] if "sha256" in ver else "",
                                 "generatedAt": s.get("generatedAt", ""), "backend": c.get("versions", {}).get("backend", "")}
    return out


def _training_cell(c: dict) -> str:
    total = c.get("totalSteps")
    if total and total != c.get("steps"):
        return f"{c['steps']} (of {total}) / {c.get('trainingTime', '-')} (of {c.get('totalTrainingTime', '-')})"
    return f"{c.get('steps', '-')} / {c.get('trainingTime', '-')}"


def _row(where: str, c: dict, real: Dict[str, dict]) -> str:
    ref = c.get("compressaiReference")
    refs = f"{ref['bpp']:.3f} / {ref['psnr']:.2f}" if ref else "-"
    k = c.get("kodak", {})
    r = real.get(c["id"])
    if r and c.get("sha256", "").startswith(r["sha"]) and r["sha"]:
        files = f"**{r['bpp']:.4f} / {r['psnr']:.2f}**"
    elif where == "resources/models":
        files = "not measured for this export"
    else:
        files = "-"
    q = c.get("quality", "-")
    return (f"| `{c['id']}` | {c['N']}/{c['M']} | {c['lambda']} (q{q}) | {files} | "
            f"{k.get('bpp', float('nan')):.4f} / {k.get('psnr', float('nan')):.2f} | {refs} | {_training_cell(c)} | {c.get('dtype', '-')} |")


def _lineage_line(c: dict) -> str:
    chain = c.get("lineage")
    extra = f" {c['history']}" if c.get("history") else ""
    if not chain:
        return f"- `{c['id']}`: one run from scratch, {c.get('steps')} steps, {c.get('trainingTime')}.{extra}"
    parts = []
    for e in reversed(chain):  # oldest first
        if e.get("widened"):
            parts.append(f"widened {e['fromN']}/{e['fromM']} → {e['N']}/{e['M']} (function-preserving, `sgai_train.widen`)")
        else:
            secs = e.get("trainingSeconds", 0.0)
            gain = f", latents ×{e['latentGain']:g} first (`sgai_train.latent_gain`)" if e.get("latentGain") else ""
            parts.append(f"{e['N']}/{e['M']} λ={e['lambda']}: {e['steps']} steps ({fmt_duration(secs)}{gain})")
    return f"- `{c['id']}`: " + " → ".join(parts) + f"; {c.get('totalSteps')} steps, {c.get('totalTrainingTime')} in all.{extra}"


VALIDATION_RESULTS = os.path.join(REPO, "bench", "results", "validation")


def _validation_section(shipped: List[dict]) -> List[str]:
    """The validation split (training/validation-split.txt) through the TypeScript codec."""
    files = sorted(glob.glob(os.path.join(VALIDATION_RESULTS, "*.json")))
    out = ["## Validation split (model selection)", "",
           "40 photos of `shared/datasets/train` chosen by content hash (`training/validation-split.txt`), left out of",
           "all training since 2026-12-02 (earlier models saw them), encoded and decoded as real .sgai files by",
           "`npm run validate -- --model <id|file>`; loss = λ·255²·MSE + bpp at the model's λ, averaged over photos.",
           "Training choices and which weights ship are decided on these numbers; Kodak stays the test set.", "",
           "| result file | model | weights (sha256) | bpp | PSNR (dB) | loss | shipped now |", "|---|---|---|---|---|---|---|"]
    shas = {c.get("sha256") for c in shipped}
    for path in files:
        with open(path) as f:
            data = json.load(f)
        for spec, r in data.items():
            out.append(f"| `{os.path.relpath(path, REPO)}` | {r['model']} | {r['weights'][:12]}… | {r['bpp']:.4f} | "
                       f"{r['psnr']:.3f} | {r['loss']:.4f} | {'yes' if r['weights'] in shas else 'no'} |")
    return out + [""] if files else []


def _width_section(results_dir: str) -> List[str]:
    files = sorted(glob.glob(os.path.join(results_dir, "lambda-*.json")))
    if not files:
        return ["Not measured yet: `npm run bench:width` (needs a compact and a standard model at the same λ)."]
    out: List[str] = []
    for path in files:
        with open(path) as f:
            w = json.load(f)
        res = w["results"]
        out += [
            f"λ = {w['lambda']}, SGA+ method `{w['method']}` (seed {w['seed']}), {len(w['images'])} Kodak images "
            f"({w['crop']} centre crops: {', '.join(i.split()[0] for i in w['images'])}), tfjs {w['backend']}, "
            f"{w['cpu']}; real .sgai files (preview included). Measured {w['generatedAt'][:16].replace('T', ' ')} UTC "
            f"with `{w['command']}`; raw numbers in `{os.path.relpath(path, REPO)}`.",
            "",
            "Seconds per SGA+ iteration on the first image: "
            + ", ".join(f"`{r['model']}` {r['secondsPerIteration']:.3f} s" for r in res) + ".",
            "",
            "| SGA+ time per image | " + " | ".join(f"`{r['model']}` iterations / bpp file (streams) / PSNR / loss" for r in res) + " |",
            "|---|" + "---|" * len(res),
        ]
        for i, b in enumerate(w["budgetsSeconds"]):
            cells = []
            for r in res:
                e = r["budgets"][i]
                m = e["mean"]
                sb = f" ({m['streamBpp']:.4f})" if "streamBpp" in m else ""
                cells.append(f"{e['iterations']} / {m['bpp']:.4f}{sb} / {m['psnr']:.2f} / {m['loss']:.4f}")
            label = "0 (unrefined)" if b == 0 else f"{b:g} s (took {max(r['budgets'][i]['mean']['refineSeconds'] for r in res):.1f} s)"
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        winners = [min(res, key=lambda r: r["budgets"][i]["mean"]["loss"])["model"] for i in range(len(w["budgetsSeconds"]))]
        verdict = (f"Lower loss at every budget: `{winners[0]}`." if len(set(winners)) == 1 else
                   "Lower loss per budget: " + ", ".join(f"{b:g} s `{m}`" for b, m in zip(w["budgetsSeconds"], winners)) + ".")
        out += ["", verdict]
        out += ["", "*bpp file* counts every byte of the .sgai file (a refined file carries a ~200-byte `refn` record, "
                "which is visible on these small crops); *streams* counts the coded latents only. "
                "*loss* = λ·255²·MSE + bpp of the real file (the quantity SGA+ minimises; lower is better), mean "
                "over the images. At one λ both models trade rate against distortion the same way, so the loss "
                "ranks them even when neither has both lower bpp and higher PSNR.", ""]
    return out


def render(status: str = "", real_path: str = REAL_SUMMARY, width_dir: str = WIDTH_RESULTS) -> str:
    cards = _cards()
    real = _real_file_numbers(real_path)
    hw = sorted({c.get("hardware", "") for _, c in cards if c.get("hardware")})
    shipped = [c for w, c in cards if w == "resources/models"]
    lines = [
        "# Models",
        "",
        "Learned codec weights for sgai: mean-scale hyperprior (Minnen et al. 2018 without the context model;",
        "architecture in `shared/docs/sgaplus-method.md` section 2), trained with `training/` (see",
        "`training/README.md`). This page is generated by `python3 -m sgai_train.models_doc` from the model",
        "cards (`<id>.json` beside each `<id>.safetensors`), the R-D benchmark (`npm run bench:rd`) and the",
        "width benchmark (`npm run bench:width`).",
        "",
        "**Read this first.** These models were trained for a few thousand steps on a shared 2-core CPU",
        "(Debian's PyTorch 1.13, and from 2026-12-02 PyPI's PyTorch 2.15 with torch.compile; 1 thread per run; no GPU",
        "was lent to this project's sessions so far). CompressAI's",
        "mbt2018-mean models were trained for millions of steps on GPUs (Vimeo-90K). Ours are therefore far",
        "weaker than CompressAI's at the same λ: the CompressAI column shows the gap. They are real, working",
        "codecs for developing and testing the app, not competitive ones.",
        "",
        "## Shipped models",
        "",
        "One width is shipped: *compact* N=64/M=96 (`c64`). The *standard* width N=128/M=192 (the paper's base)",
        "was removed on 2026-12-02: on Kodak it was −6.5 % BD-rate against compact, at 3.8-4x the encode and",
        "decode time and 4x the size (four files of 14 MB, 56 of the repository's 82 MB, which also kept the",
        "working tree over the 64 MiB that can travel to a GPU machine). Its weights stay in the git history",
        "(commit d058103); the equal-time comparison that was made with them is kept below.",
        "",
        "| id | N/M | λ (CompressAI quality) | **Kodak, real .sgai files: bpp / PSNR (dB)** | Kodak est. (PyTorch): bpp / PSNR | CompressAI mbt2018-mean bpp / PSNR | steps / training time (this run, of all) | dtype |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(w, c, real) for w, c in cards]
    measured = sorted({r["generatedAt"][:16].replace("T", " ") for k, r in real.items() if any(c["id"] == k for c in shipped)})
    lines += [
        "",
        "Columns. *Real .sgai files*: the TypeScript codec (tfjs "
        + ("/".join(sorted({r['backend'] for r in real.values()})) or "wasm")
        + ") encodes each of the 24 Kodak images to a file (preview chunk included), decodes",
        "it, and the mean bpp (file bytes × 8 / pixels) and mean PSNR-RGB (8-bit) are shown; measured by",
        f"`npm run bench:rd` (codecs `sgai` and `sgai-n128m192`; {', '.join(measured) or 'not run'} UTC; numbers in",
        "`bench/results/kodak/summary.json`), only shown when the benchmarked weights' sha256 matches the card.",
        "*Est.*: the PyTorch evaluation at export (rate from the likelihoods, no file). *CompressAI*: the",
        "published Kodak numbers of mbt2018-mean at the same λ (real bitstreams; their models are N=128/M=192",
        "for q1-4, N=192/M=320 for q5-8). *steps*: optimiser steps of batch 8 (256x256 crops; the test model",
        "128x128); for a derived model, this run's steps and time and, in brackets, those of its whole lineage.",
        "",
        "Hardware: " + ("; ".join(hw) if hw else "-"),
        "",
        "## How each model was trained",
        "",
    ]
    lines += [_lineage_line(c) for _, c in cards]
    lines += [
        "",
        "(Historical) The standard models started from a trained compact checkpoint widened to N=128/M=192 without changing its",
        "output (`python3 -m sgai_train.widen`: new channels start silent, old ones keep their weights), then",
        "train at full width; a few hundred standard steps from scratch would give a useless codec on this CPU.",
        "Other λs are fine-tunes of the λ=0.0067 model of the same width (lr 1e-4 with a 20-step warm-up, ×0.1",
        "for the last 10 %).",
        "",
        "## Standard vs compact at equal SGA+ CPU time",
        "",
    ]
    lines += _width_section(width_dir)
    lines += _validation_section(shipped)
    lines += [
        "## CompressAI mbt2018-mean reference (Kodak, real bitstreams; N=128, M=192 for q1-4, 192/320 for q5-8)",
        "",
        "| quality | λ | bpp | PSNR (dB) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {q} | {QUALITY_LAMBDAS[q]} | {b:.3f} | {p:.2f} |" for q, (b, p) in COMPRESSAI_MBT2018_MEAN.items()]
    lines += [
        "",
        "## Files",
        "",
        "- `resources/models/<id>.safetensors`: every parameter under CompressAI `MeanScaleHyperprior` names",
        "  (`g_a.{0,2,4,6}.weight/bias` Conv2d [out,in,5,5]; `g_a.{1,3,5}.beta` [N], `.gamma` [N,N] GDN stored",
        "  (reparametrised) values, effective value = max(p, bound)² − 2⁻³⁶; `g_s.{0,2,4,6}` ConvTranspose2d",
        "  [in,out,5,5] (stride 2, padding 2, output_padding 1), `g_s.{1,3,5}` IGDN; `h_a.{0,2,4}` Conv2d",
        "  (3x3 s1, 5x5 s2, 5x5 s2); `h_s.{0,2}` ConvTranspose2d 5x5 s2, `h_s.4` Conv2d 3x3;",
        "  `entropy_bottleneck._matrix{0..4}` [N,out,in], `_bias{0..4}` [N,out,1], `_factor{0..3}` [N,out,1],",
        "  `quantiles` [N,1,3] (refined by bisection at export; median = `quantiles[:,0,1]`). No CDF tables.",
        "  dtype F16 when the measured Kodak PSNR drop against F32 is below 0.01 dB (see `fp16Check` in the card).",
        "- `resources/models/<id>.json`: model card {id, architecture, N, M, lambda, quality, steps, batch, crop,",
        "  trainingData, hardware, trainingTime, trainingSeconds, kodak {bpp, psnr, measuredWith}, fp16Check,",
        "  dtype, sha256 (of the .safetensors), file, exportedAt, note, compressaiReference, initFrom?, lineage?,",
        "  totalSteps?, totalTrainingSeconds?, totalTrainingTime?} (lineage: every run the model descends from).",
        "- `resources/models/registry.json`: {default, models: [{id, file, card, N, M, lambda, quality}]}.",
        "- `test/fixtures/models/sgai-test-n32m48.*`: seeded N=32/M=48 test model (tests only, not shipped),",
        "  and `test/fixtures/parity/` the PyTorch reference tensors for it.",
    ]
    if status:
        lines += ["", "## Training in progress", "", status]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--status", default="")
    p.add_argument("--out", default=DOC)
    a = p.parse_args(argv)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(render(a.status))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
