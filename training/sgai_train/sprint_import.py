"""Ship a model returned by the GPU sprint: Kodak-evaluate it and export it with the usual card.

    python3 -m sgai_train.sprint_import --unpack <returned> --to training/runs/sprint-returned
    python3 -m sgai_train.sprint_import --weights <returned>/sgai-msh-c64-l0067.safetensors \\
        [--models-dir resources/models] [--kodak-limit K] [--no-registry]

--unpack copies the returned weights into a writable folder beside their cards (<id>.json, from
the card in each file's metadata + its sha256): the TypeScript codec (npm run validate -- --model
<path>.safetensors) reads a model's card from <id>.json next to it.

The sprint's files carry their card in the safetensors metadata (also in cards.json). This
turns weights + card into a checkpoint (training/runs/sprint-<id>/last.pt) and runs
sgai_train.export on it, so the shipped card gets the same Kodak numbers, F16 check and
registry entry as any other export, plus the sprint's lineage (warm start, steps on the GPU,
device, wall time, pack). Compare with the shipped model first (README, "GPU sprint").
"""

from __future__ import annotations

import argparse
import json
import os
from typing import List, Optional

from . import safetensors_io as st
from .export import export, load_exported
from .train import atomic_save

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CARD_KEYS = ("sprint", "initFrom", "lineage", "totalSteps", "totalTrainingSeconds", "totalTrainingTime",
             "trainingData", "optimizer")


def to_checkpoint(weights: str, ckpt: str) -> dict:
    _, meta = st.load_file(weights)
    card = json.loads(meta["card"])
    model = load_exported(weights)
    opt = card["optimizer"]
    args = {"n": card["N"], "m": card["M"], "lmbda": card["lambda"], "batch": card["batch"], "crop": card["crop"],
            "lr": opt["lr"], "aux_lr": 1e-3, "clip": opt["gradClip"], "seed": opt["seed"], "init_from": None,
            "device": "cuda" if card["sprint"]["device"] != "cpu" else "cpu", "threads": 1}
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    atomic_save({"args": args, "model": model.state_dict(), "step": card["steps"],
                 "scheduler": {"drop_at": card["steps"], "gamma": 1.0},
                 "train_seconds": card["trainingSeconds"], "hardware": card["hardware"]}, ckpt)
    return card


def unpack(src: str, dst: str) -> List[str]:
    import hashlib
    import shutil

    os.makedirs(dst, exist_ok=True)
    done = []
    for f in sorted(os.listdir(src)):
        if not f.endswith(".safetensors"):
            continue
        _, meta = st.load_file(os.path.join(src, f))
        card = json.loads(meta["card"])
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
        with open(os.path.join(dst, f), "rb") as fh:
            card.update(sha256=hashlib.sha256(fh.read()).hexdigest(), file=f)
        with open(os.path.join(dst, f[:-len(".safetensors")] + ".json"), "w") as fh:
            json.dump(card, fh, indent=2)
            fh.write("\n")
        done.append(os.path.join(dst, f))
    return done


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", help="a .safetensors returned by the sprint: export it into --models-dir")
    p.add_argument("--unpack", help="folder of returned files: copy them with <id>.json cards into --to")
    p.add_argument("--to", default=os.path.join(TRAINING, "runs", "sprint-returned"))
    p.add_argument("--models-dir", default=os.path.join(os.path.dirname(TRAINING), "resources", "models"))
    p.add_argument("--id", default=None, help="model id (default: the sprint's, i.e. the shipped id it replaces)")
    p.add_argument("--kodak-limit", type=int, default=0, help="first K Kodak images only (quick look, not for shipping)")
    p.add_argument("--no-registry", action="store_true")
    p.add_argument("--ckpt-dir", default=os.path.join(TRAINING, "runs"), help="where sprint-<id>/last.pt goes")
    a = p.parse_args(argv)
    if a.unpack:
        for w in unpack(a.unpack, a.to):
            print(f"{w} (+ card): npm run validate -- --model {w}")
        return
    if not a.weights:
        p.error("--weights or --unpack")
    _, meta = st.load_file(a.weights)
    mid = a.id or json.loads(meta["card"])["id"]
    ckpt = os.path.join(a.ckpt_dir, f"sprint-{mid}", "last.pt")
    card = to_checkpoint(a.weights, ckpt)
    extra = {k: card[k] for k in CARD_KEYS if k in card}
    extra["history"] = (f"GPU sprint {card['sprint']['id']} on {card['sprint']['device']}: "
                        f"{card['sprint']['stepsOnDevice']} steps in {card['sprint']['wallSeconds']} s wall, "
                        f"{card['sprint']['startedFrom']} start" +
                        (f" from {card['sprint']['initFrom']}" if card["sprint"].get("initFrom") else ""))
    export(ckpt, os.path.join(a.models_dir, f"{mid}.safetensors"), mid, registry=not a.no_registry,
           kodak_limit=a.kodak_limit, extra_card=extra)


if __name__ == "__main__":
    main()
