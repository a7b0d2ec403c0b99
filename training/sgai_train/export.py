"""Export a checkpoint to a .safetensors model file + model card + registry entry.

    python3 -m sgai_train.export --ckpt training/runs/c64-l0067/last.pt \\
        --out resources/models/sgai-msh-c64-l0067.safetensors

The file holds every *parameter* of the model under CompressAI names (GDN
beta/gamma as stored, reparametrised values; entropy_bottleneck _matrix/_bias/
_factor/quantiles), no buffers (coder tables are rebuilt by the codec). The
quantiles are first refined by bisection (as CompressAI's update() does).
Weights are stored as F16 when the Kodak PSNR drop against F32 is below
0.01 dB (measured here, both evaluated in float32 arithmetic), else F32.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
from typing import Dict, List, Optional

import torch

from . import safetensors_io as st
from .model import MeanScaleHyperprior

# CompressAI quality index -> lambda (MSE), and the published mbt2018-mean
# Kodak numbers from the method doc section 7 (real bitstreams, bpp / PSNR-RGB).
QUALITY_LAMBDAS = {1: 0.0018, 2: 0.0035, 3: 0.0067, 4: 0.0130, 5: 0.0250, 6: 0.0483, 7: 0.0932, 8: 0.18}
COMPRESSAI_MBT2018_MEAN = {1: (0.124, 27.70), 2: (0.198, 29.36), 3: (0.307, 31.13), 4: (0.461, 32.95),
                           5: (0.662, 34.97), 6: (0.914, 36.91), 7: (1.234, 38.84), 8: (1.619, 40.63)}
FP16_MAX_PSNR_DROP = 0.01

HONESTY_NOTE = (
    "Trained briefly on a 2-core CPU (PyTorch, 1 thread) on about 2.7k images; CompressAI's "
    "mbt2018-mean models were trained for millions of steps on GPUs on Vimeo-90K. Expect this model "
    "to be clearly worse than CompressAI's at the same lambda (compare the kodak numbers with "
    "compressaiReference). The Kodak numbers here use the estimated rate from the likelihoods."
)


def quality_of(lmbda: float) -> Optional[int]:
    for q, l in QUALITY_LAMBDAS.items():
        if abs(lmbda / l - 1) < 0.02:
            return q
    return None


def parameter_tensors(model: MeanScaleHyperprior, dtype: torch.dtype = torch.float32) -> Dict[str, torch.Tensor]:
    return {k: p.detach().to(dtype).contiguous() for k, p in model.named_parameters()}


def model_from_tensors(tensors) -> MeanScaleHyperprior:
    """Rebuild a model from exported parameters (N, M read from the shapes)."""
    t = {k: torch.as_tensor(v).float() for k, v in tensors.items()}
    n, m = t["g_a.0.weight"].shape[0], t["g_a.6.weight"].shape[0]
    model = MeanScaleHyperprior(int(n), int(m))
    missing, unexpected = model.load_state_dict(t, strict=False)
    params = {k for k, _ in model.named_parameters()}
    if unexpected or params & set(missing):
        raise ValueError(f"weights do not match the architecture: missing {sorted(params & set(missing))}, "
                         f"unexpected {unexpected}")
    return model.eval()


def load_exported(path: str) -> MeanScaleHyperprior:
    tensors, _ = st.load_file(path)
    return model_from_tensors(tensors)


def fp16_roundtrip(model: MeanScaleHyperprior) -> MeanScaleHyperprior:
    return model_from_tensors({k: v.half() for k, v in parameter_tensors(model).items()})


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def hardware_string(threads: int = 1, device: str = "cpu") -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}"
    return f"CPU {cpu_name()} ({os.cpu_count()} cores shared), {threads} thread, PyTorch {torch.__version__}"


def fmt_duration(seconds: float) -> str:
    m = int(round(seconds / 60))
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def training_data_string(args: dict) -> str:
    if args.get("pack"):
        return (f"sprint pack {os.path.basename(os.path.normpath(args['pack']))} (make_sprint_pack.py: one JPEG q95 crop "
                f"per photo of shared/datasets/train, validation photos excluded), random {args.get('crop', 256)}x"
                f"{args.get('crop', 256)} crops + flips; Kodak never used for training")
    if args.get("held_out"):
        s = ("shared/datasets/train-pack (1,604 JPEG crops 256x256, flips)"
             + ("" if args.get("no_photos") else " + random crops of shared/datasets/train (980 photos, flips)")
             + "; the 40 validation photos of training/validation-split.txt and their crops left out of this run's steps")
        s += "" if args.get("crop", 256) == 256 else f"; training crops {args['crop']}x{args['crop']}"
        return s + "; Kodak never used for training"
    s = "shared/datasets/train-pack (1,664 JPEG crops 256x256, flips)"
    if not args.get("no_photos"):
        s += " + random 256x256 crops of shared/datasets/train (1,020 photos, flips)"
    if args.get("data_limit"):
        s += f", first {args['data_limit']} images only"
    if args.get("crop", 256) != 256:
        s += f"; training crops {args['crop']}x{args['crop']}"
    return s + "; Kodak never used for training"


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def update_registry(models_dir: str, card: dict, file_name: str, card_name: str) -> str:
    path = os.path.join(models_dir, "registry.json")
    reg = {"default": None, "models": []}
    if os.path.exists(path):
        with open(path) as f:
            reg = json.load(f)
    entries = [e for e in reg.get("models", []) if e["id"] != card["id"]]
    entries.append({"id": card["id"], "file": file_name, "card": card_name, "N": card["N"], "M": card["M"],
                    "lambda": card["lambda"], "quality": card.get("quality")})
    entries.sort(key=lambda e: (e["N"], e["lambda"]))
    reg["models"] = entries
    # Default: the smallest model nearest the middle quality (lambda 0.0067).
    import math
    best = min(entries, key=lambda e: (abs(math.log(e["lambda"] / 0.0067)), e["N"]))
    reg["default"] = best["id"]
    with open(path + ".tmp", "w") as f:
        json.dump(reg, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


def _exported_entry(path: str) -> dict:
    """A lineage entry for exported weights, from the card beside them (whose own lineage is kept)."""
    card_path = os.path.splitext(path)[0] + ".json"
    card = json.load(open(card_path)) if os.path.exists(card_path) else {}
    sha = file_sha256(path)
    entry = {"weights": path, "id": card.get("id"), "sha256": sha, "N": card.get("N"), "M": card.get("M"),
             "lambda": card.get("lambda"), "steps": card.get("totalSteps", card.get("steps", 0)),
             "trainingSeconds": card.get("totalTrainingSeconds", card.get("trainingSeconds", 0.0)),
             "hardware": card.get("hardware")}
    if card.get("sha256") not in (None, sha):
        entry["note"] = "the card beside these weights describes other weights; steps unknown"
        entry["steps"], entry["trainingSeconds"] = 0, 0.0
    for k in ("history", "trainingData", "lineage"):
        if card.get(k):
            entry[k] = card[k]
    return entry


BASE = "base.safetensors"


def keep_base(weights: str, run_dir: str) -> None:
    """Copies the exported weights a run starts from (and their card) into the run as base.*: a
    warm start from the shipped file is exported over that file, so by then the path names
    the run's own result and only this copy still says what the run started from."""
    import shutil

    os.makedirs(run_dir, exist_ok=True)
    shutil.copyfile(weights, os.path.join(run_dir, BASE))
    card = os.path.splitext(weights)[0] + ".json"
    if os.path.exists(card):
        shutil.copyfile(card, os.path.join(run_dir, "base.json"))


def lineage(ckpt: str) -> List[dict]:
    """The run behind a checkpoint and every run it was started from, newest first.

    A fine-tune names its base in args.init_from; a widened checkpoint (widen.py) names the
    narrower checkpoint it was made from. Each entry: checkpoint, N, M, lambda, steps,
    trainingSeconds (of that run alone), and "widened": true for a widening step.
    """
    from .train import load_checkpoint

    chain: List[dict] = []
    seen = set()
    path: Optional[str] = ckpt
    while path and os.path.exists(path) and path not in seen:
        seen.add(path)
        if path.endswith(".safetensors"):  # a warm start from exported weights: its card has the history
            chain.append(_exported_entry(path))
            break
        ck = load_checkpoint(path)
        if "widened_from" in ck:
            chain.append({"checkpoint": path, "widened": True, "N": ck.get("N"), "M": ck.get("M"),
                          "fromN": ck.get("from_N"), "fromM": ck.get("from_M"), "steps": 0, "trainingSeconds": 0.0})
            path = ck["widened_from"]
            continue
        a = ck.get("args", {})
        entry = {"checkpoint": path, "N": a.get("n"), "M": a.get("m"), "lambda": a.get("lmbda"),
                 "steps": ck.get("step", 0), "trainingSeconds": round(ck.get("train_seconds", 0.0), 1),
                 "hardware": ck.get("hardware")}
        if a.get("latent_gain_applied") is not None:
            entry["latentGain"] = a["latent_gain_applied"]
        chain.append(entry)
        path = a.get("init_from")
        kept = os.path.join(os.path.dirname(entry["checkpoint"]), BASE)
        if path and path.endswith(".safetensors") and os.path.exists(kept):
            path = kept  # what the run really started from (keep_base), not what the path holds now
    return chain


def export(ckpt: str, out: str, model_id: Optional[str] = None, dtype: str = "auto", registry: bool = True,
           threads: int = 1, kodak_limit: int = 0, extra_card: Optional[dict] = None) -> dict:
    from .evaluate import evaluate
    from .train import load_checkpoint, load_model_from_checkpoint

    torch.set_num_threads(threads)
    # Before anything is written: a warm start may be re-exported over the weights it came from.
    chain = lineage(ckpt)
    ck = load_checkpoint(ckpt)
    args = ck["args"]
    model = load_model_from_checkpoint(ckpt).eval()
    model.entropy_bottleneck.update_quantiles()

    res32 = evaluate(model, limit=kodak_limit)
    res16 = evaluate(fp16_roundtrip(model), limit=kodak_limit)
    drop = res32["psnr"] - res16["psnr"]
    if dtype == "auto":
        dtype = "F16" if drop < FP16_MAX_PSNR_DROP else "F32"
    res = res16 if dtype == "F16" else res32

    model_id = model_id or os.path.splitext(os.path.basename(out))[0]
    q = quality_of(args["lmbda"])
    meta = {"format": "pt", "id": model_id, "architecture": "mean-scale-hyperprior", "N": str(args["n"]),
            "M": str(args["m"]), "lambda": str(args["lmbda"]), "steps": str(ck["step"]),
            "layout": "CompressAI MeanScaleHyperprior parameter names; Conv2d [out,in,k,k], "
                      "ConvTranspose2d [in,out,k,k]; GDN beta/gamma are stored (reparametrised) values"}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tdtype = torch.float16 if dtype == "F16" else torch.float32
    st.save_file(parameter_tensors(model, tdtype), out, meta)

    n_img = res["images"]
    card = {
        "id": model_id,
        "architecture": "mean-scale-hyperprior",
        "N": args["n"], "M": args["m"], "lambda": args["lmbda"],
        "steps": ck["step"], "batch": args["batch"], "crop": args["crop"],
        "trainingData": training_data_string(args),
        "optimizer": {"network": "Adam", "lr": args["lr"], "lrHistory": args.get("lr_history", []),
                      "lrDrop": {"atStep": ck["scheduler"]["drop_at"], "factor": ck["scheduler"]["gamma"]},
                      "aux": f"Adam {args['aux_lr']} on quantiles", "gradClip": args["clip"], "seed": args["seed"]},
        "hardware": ck.get("hardware") or hardware_string(args.get("threads", 1), args.get("device", "cpu")),
        "trainingTime": fmt_duration(ck.get("train_seconds", 0.0)),
        "trainingSeconds": round(ck.get("train_seconds", 0.0), 1),
        "kodak": {
            "bpp": round(res["bpp"], 4), "psnr": round(res["psnr"], 3),
            "measuredWith": f"sgai_train.evaluate: estimated rate from likelihoods (not a bitstream), PSNR-RGB "
                            f"on clipped and 8-bit-rounded reconstructions, mean over {n_img} Kodak images, "
                            f"replicate-padded to a multiple of 64, PyTorch {torch.__version__} float32 CPU, "
                            f"{dtype} weights",
        },
        "fp16Check": {"psnrF32": round(res32["psnr"], 4), "psnrF16": round(res16["psnr"], 4),
                      "bppF32": round(res32["bpp"], 5), "bppF16": round(res16["bpp"], 5),
                      "psnrDrop": round(drop, 5), "threshold": FP16_MAX_PSNR_DROP},
        "dtype": dtype,
        "sha256": file_sha256(out),
        "file": os.path.basename(out),
        "exportedAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": HONESTY_NOTE,
    }
    if q is not None:
        card["quality"] = q
        bpp, psnr = COMPRESSAI_MBT2018_MEAN[q]
        card["compressaiReference"] = {"model": f"CompressAI mbt2018-mean quality {q} (N=128, M=192)",
                                       "bpp": bpp, "psnr": psnr, "rate": "real bitstreams"}
    if len(chain) > 1:
        parent = chain[1]
        card["initFrom"] = {"checkpoint": args["init_from"],
                            **{k: parent[k] for k in ("id", "sha256", "steps", "lambda", "N", "M", "trainingSeconds") if k in parent}}
        card["lineage"] = chain
        card["totalSteps"] = sum(c.get("steps", 0) for c in chain)
        total_s = sum(c.get("trainingSeconds", 0.0) for c in chain)
        card["totalTrainingSeconds"] = round(total_s, 1)
        card["totalTrainingTime"] = fmt_duration(total_s)
    if extra_card:
        card.update(extra_card)
    card_path = os.path.splitext(out)[0] + ".json"
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    if registry:
        update_registry(os.path.dirname(os.path.abspath(out)), card, os.path.basename(out),
                        os.path.basename(card_path))
    print(f"wrote {out} ({dtype}, {os.path.getsize(out)} bytes) and {card_path}; Kodak {res['bpp']:.4f} bpp "
          f"{res['psnr']:.3f} dB; F16 drop {drop:.4f} dB")
    return card


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True)
    p.add_argument("--out", required=True, help="resources/models/<id>.safetensors")
    p.add_argument("--id", default=None, help="model id (default: file name)")
    p.add_argument("--dtype", choices=["auto", "F16", "F32"], default="auto")
    p.add_argument("--no-registry", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--history", default=None, help="free text about the run's history, stored as card.history")
    a = p.parse_args(argv)
    export(a.ckpt, a.out, a.id, a.dtype, not a.no_registry, a.threads,
           extra_card={"history": a.history} if a.history else None)


if __name__ == "__main__":
    main()
