"""GPU sprint: train the shipped family for a fixed wall budget, exporting to OUT as it goes.

    python3 -m sgai_train.sprint run --out "$OUT" [--budget-s 540] [--family compact|standard|tiny]
    python3 -m sgai_train.sprint preflight [--carry carry/sprint-pack]

Normally started by training/gpu_sprint.sh (see training/README.md, "GPU sprint").

Why one process per lambda rather than one process with several models: these networks are
small (N=64: ~60 GFLOP per batch-16 step), so a step is bound by Python and kernel-launch
overhead, not by the GPU's arithmetic. Separate processes launch in parallel from separate CPU
cores (16 there) while the GPU interleaves their kernels; one process would issue every
model's kernels from one core, one after another. Processes also isolate failures (one
lambda crashing, e.g. out of memory, leaves the others running) and each writes its own
export. Each process preloads the pack onto the GPU as uint8 (pack_data.py), so no loader
workers are needed.

Timeline (wall clock from the shell script's start, --t0): tree-size check, optional probe
(warm start from the shipped weights vs scratch on the middle lambda, both in parallel for
--probe-s, then both evaluated with hard rounding on the same fixed pack batches; the lower
loss decides), then every lambda trains until t0 + budget - reserve, with a cosine lr decay
over the remaining wall time. Each worker exports F16 safetensors (card JSON in the file's
metadata too) to OUT every --export-every-s and at the end, by atomic rename, so weights
survive a cut. The parent merges cards into OUT/cards.json and writes OUT/sprint-log.json
every couple of seconds. Nothing under resources/models is written.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TRAINING)
MODELS = os.path.join(REPO, "resources", "models")
TEST_MODEL = os.path.join(REPO, "test", "fixtures", "models", "sgai-test-n32m48.safetensors")
TREE_LIMIT = 64 * 2**20
MAX_OUT_FILES, MAX_OUT_BYTES = 8, 16 * 2**20
EXTRA_OUT_FILES = ("cards.json", "sprint-log.json", "sprint.out")  # sprint.out: written by gpu_sprint.sh


def _member(i, n, m, lmbda, init):
    return {"id": i, "N": n, "M": m, "lambda": lmbda, "init": init}


def family(name: str) -> List[dict]:
    """Models to train: id, shape, lambda, shipped weights to warm-start from."""
    def shipped(prefix, n, m, lams):
        return [_member(f"sgai-msh-{prefix}-l{round(l * 1e4):04d}", n, m, l,
                        os.path.join(MODELS, f"sgai-msh-{prefix}-l{round(l * 1e4):04d}.safetensors")) for l in lams]
    if name == "compact":  # 5 x 3.5 MB F16 + 3 = 8 files back
        return shipped("c64", 64, 96, (0.0018, 0.0067, 0.013, 0.025, 0.0932))
    if name == "standard":  # 4 x 14 MB F16 + 3 = 7 files
        return shipped("s128", 128, 192, (0.0018, 0.0067, 0.025, 0.0932))
    if name == "tiny":  # CI: the test model's shape, both lambdas warm-started from it
        return [_member(f"sgai-tiny-n32m48-l{round(l * 1e4):04d}", 32, 48, l, TEST_MODEL) for l in (0.0067, 0.025)]
    raise ValueError(f"unknown family {name}")


# ---------------------------------------------------------------------------
# Travelling tree size
# ---------------------------------------------------------------------------


def _walk_bytes(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for d, dirs, files in os.walk(path):
        dirs[:] = [x for x in dirs if x != ".git"]
        total += sum(os.lstat(os.path.join(d, f)).st_size for f in files)
    return total


def tree_bytes(root: str = REPO, carry: Optional[List[str]] = None) -> Dict[str, object]:
    """What the device tool sends: tracked + untracked-not-ignored files (git), + carried paths.

    Without git (e.g. on the device machine) the whole folder minus .git is counted."""
    carry = carry or []
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True, timeout=60).stdout
        files = sorted({f.decode() for f in out.split(b"\0") if f})
        sizes = {f: os.lstat(os.path.join(root, f)).st_size for f in files if os.path.lexists(os.path.join(root, f))}
        tree, how = sum(sizes.values()), "git ls-files (tracked + untracked not ignored)"
        top = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    except (OSError, subprocess.SubprocessError):
        tree, how, top = _walk_bytes(root) - sum(_walk_bytes(os.path.join(root, c)) for c in carry
                                                 if os.path.exists(os.path.join(root, c))), "folder walk", []
    carried = {c: _walk_bytes(os.path.join(root, c)) if os.path.exists(os.path.join(root, c)) else 0 for c in carry}
    total = tree + sum(carried.values())
    return {"treeBytes": tree, "carry": carried, "totalBytes": total, "limitBytes": TREE_LIMIT, "how": how,
            "largest": top, "ok": total <= TREE_LIMIT}


def print_tree(t: dict) -> None:
    mib = lambda b: f"{b / 2**20:.1f} MiB"
    carry = ", ".join(f"{c} {mib(b)}" for c, b in t["carry"].items()) or "none"
    print(f"travelling tree: {mib(t['treeBytes'])} ({t['how']}) + carry [{carry}] = {mib(t['totalBytes'])} "
          f"of {mib(t['limitBytes'])}: {'ok' if t['ok'] else 'OVER THE LIMIT'}", flush=True)
    if not t["ok"] and t["largest"]:
        print("  largest: " + ", ".join(f"{f} {mib(b)}" for f, b in t["largest"]), flush=True)


# ---------------------------------------------------------------------------
# Worker: one model, one process
# ---------------------------------------------------------------------------


def _atomic_json(obj, path: str) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


def _atomic_write(blob: bytes, path: str, tmp_dir: str) -> None:
    """Write then rename (atomic: a cut never leaves a torn file). The temporary file lives
    beside OUT when that is on the same file system, so a cut mid-write leaves no extra file
    among the <= 8 that come back."""
    tmp = os.path.join(tmp_dir, os.path.basename(path) + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _tmp_dir_for(out: str) -> str:
    out = os.path.abspath(out)
    cand = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}-tmp")
    try:
        os.makedirs(cand, exist_ok=True)
        if os.stat(cand).st_dev == os.stat(out).st_dev:
            return cand
    except OSError:
        pass
    return out


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _base_card(init: str) -> dict:
    p = os.path.splitext(init)[0] + ".json"
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {}


def build_card(cfg: dict, step: int, train_s: float, wall_s: float, final: bool, hardware: str,
               device_name: str) -> dict:
    from .export import COMPRESSAI_MBT2018_MEAN, fmt_duration, quality_of

    m, warm = cfg["model"], cfg["start"] == "warm"
    base = _base_card(m["init"]) if warm else {}
    pack = cfg["pack_info"]
    entry = {"checkpoint": f"gpu sprint {cfg['sprint_id']}", "N": m["N"], "M": m["M"], "lambda": m["lambda"],
             "steps": step, "trainingSeconds": round(train_s, 1), "hardware": hardware}
    card = {
        "id": m["id"], "architecture": "mean-scale-hyperprior", "N": m["N"], "M": m["M"], "lambda": m["lambda"],
        "steps": step,  # this run's steps, as in the shipped cards; totalSteps covers the lineage
        "batch": cfg["batch"], "crop": cfg["crop"],
        "trainingData": (f"sprint pack ({pack['count']} JPEG q95 crops {pack['size']}x{pack['size']}, one per photo of "
                         f"shared/datasets/train; the {pack['validationPhotosExcluded']} validation photos of "
                         f"training/validation-split.txt excluded), random {cfg['crop']}x{cfg['crop']} crops + flips; "
                         "Kodak never used for training"),
        "optimizer": {"network": "Adam", "lr": cfg["lr"], "warmupSteps": cfg["warmup"],
                      "schedule": f"cosine over the wall budget to {cfg['lr_floor']} x lr",
                      "aux": "Adam 0.001 on quantiles", "gradClip": 1.0, "seed": cfg["seed"]},
        "hardware": hardware, "dtype": "F16",
        "trainingSeconds": round(train_s, 1), "trainingTime": fmt_duration(train_s),
        "sprint": {"id": cfg["sprint_id"], "startedFrom": cfg["start"],
                   "initFrom": os.path.relpath(m["init"], REPO) if warm else None,
                   "initSha256": cfg.get("init_sha256") if warm else None,
                   "stepsOnDevice": step, "device": device_name, "wallSeconds": round(wall_s, 1),
                   "trainSeconds": round(train_s, 1), "budgetSeconds": cfg["budget_s"], "final": final,
                   "probe": cfg.get("probe"), "packSha256": pack.get("sha256"),
                   "exportedAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
        "note": ("Trained on the device machine by training/gpu_sprint.sh; Kodak and the validation split were not "
                 "measured there (no datasets on that machine): evaluate here before shipping (training/README.md). "
                 "The shipped weights it started from were trained before the validation split existed and saw "
                 "those photos." if warm else
                 "Trained from scratch on the device machine by training/gpu_sprint.sh; not evaluated there."),
    }
    q = quality_of(m["lambda"])
    if q is not None:
        card["quality"] = q
        bpp, psnr = COMPRESSAI_MBT2018_MEAN[q]
        card["compressaiReference"] = {"model": f"CompressAI mbt2018-mean quality {q} (N=128, M=192)",
                                       "bpp": bpp, "psnr": psnr, "rate": "real bitstreams"}
    chain = [entry]
    if warm:
        card["initFrom"] = {"file": os.path.relpath(m["init"], REPO), "sha256": cfg.get("init_sha256"),
                            **{k: base[k] for k in ("steps", "lambda", "N", "M", "trainingSeconds") if k in base}}
        chain += base.get("lineage") or ([{"checkpoint": os.path.relpath(m["init"], REPO), "N": base.get("N"),
                                           "M": base.get("M"), "lambda": base.get("lambda"), "steps": base.get("steps", 0),
                                           "trainingSeconds": base.get("trainingSeconds", 0.0),
                                           "hardware": base.get("hardware")}] if base else [])
    card["lineage"] = chain
    card["totalSteps"] = sum(c.get("steps") or 0 for c in chain)
    total_s = sum(c.get("trainingSeconds") or 0.0 for c in chain)
    card["totalTrainingSeconds"], card["totalTrainingTime"] = round(total_s, 1), fmt_duration(total_s)
    return card


def worker(cfg_path: str) -> int:
    import numpy as np
    import torch

    from . import safetensors_io as st
    from .export import hardware_string, load_exported, parameter_tensors
    from .model import MeanScaleHyperprior, rd_loss, rd_step
    from .pack_data import PackData

    with open(cfg_path) as f:
        cfg = json.load(f)
    t_start = time.time()
    m, work, out = cfg["model"], cfg["work"], cfg["out"]
    tag = f"{m['id']}{'-probe-' + cfg['start'] if cfg['mode'] == 'probe' else ''}"
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    dev = torch.device(cfg["device"])
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shape: autotuned convolutions pay off
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    model = MeanScaleHyperprior(m["N"], m["M"])
    if cfg["start"] == "warm":
        model.load_state_dict(load_exported(m["init"]).state_dict())
    model.to(dev).train()
    data = PackData(cfg["pack"], cfg["seed"], crop=cfg["crop"], device=dev, threads=cfg["threads"] + 2)
    batches = data.batches(cfg["batch"])
    opt = torch.optim.Adam(model.network_parameters(), lr=cfg["lr"])
    aux_opt = torch.optim.Adam(model.aux_parameters(), lr=1e-3)
    net_params = model.network_parameters()
    forward = model.forward
    if cfg.get("compile") and hasattr(torch, "compile"):
        forward = torch.compile(model.forward)
    hardware = hardware_string(cfg["threads"], cfg["device"])
    device_name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"

    deadline = cfg["deadline"]
    t_train0 = time.time()
    span = max(1e-3, deadline - t_train0)
    if cfg["mode"] == "probe":
        # Equal training time for warm and scratch (their startups differ), at the lr the main
        # run would use over its first probe_s seconds.
        deadline = min(deadline, t_train0 + cfg["probe_s"])
        span = cfg["lr_span_s"]

    def lr_at(step: int, now: float) -> float:
        ramp = min(1.0, (step + 1) / cfg["warmup"]) if cfg["warmup"] > 0 else 1.0
        t = min(1.0, max(0.0, (now - t_train0) / span))
        return cfg["lr"] * ramp * (cfg["lr_floor"] + (1 - cfg["lr_floor"]) * 0.5 * (1 + math.cos(math.pi * t)))

    log_path = os.path.join(work, f"{tag}.log.csv")
    logf = open(log_path, "w", newline="")
    logw = csv.writer(logf)
    logw.writerow(["step", "wall_s", "loss", "bpp", "mse", "psnr", "aux", "lr"])
    status_path = os.path.join(work, f"{tag}.status.json")
    step, train_s, ema, last_export, last_status = 0, 0.0, None, time.time(), 0.0
    exports = 0

    def export(final: bool) -> None:
        nonlocal exports
        snap = copy.deepcopy(model).eval()
        snap.entropy_bottleneck.update_quantiles()  # as sgai_train.export does
        snap = snap.cpu()
        card = build_card(cfg, step, train_s, time.time() - cfg["t0"], final, hardware, device_name)
        meta = {"format": "pt", "id": m["id"], "architecture": "mean-scale-hyperprior", "N": str(m["N"]),
                "M": str(m["M"]), "lambda": str(m["lambda"]), "steps": str(card["steps"]),
                "layout": "CompressAI MeanScaleHyperprior parameter names; Conv2d [out,in,k,k], "
                          "ConvTranspose2d [in,out,k,k]; GDN beta/gamma are stored (reparametrised) values",
                "card": json.dumps(card, separators=(",", ":"))}
        blob = st.dumps(parameter_tensors(snap, torch.float16), meta)
        path = os.path.join(out, f"{m['id']}.safetensors")
        _atomic_write(blob, path, cfg["tmp_dir"])
        card.update(sha256=hashlib.sha256(blob).hexdigest(), file=os.path.basename(path))
        _atomic_json(card, os.path.join(work, f"{m['id']}.card.json"))
        exports += 1

    def write_status(done: bool) -> None:
        el = time.time() - t_train0
        _atomic_json({"id": m["id"], "tag": tag, "mode": cfg["mode"], "start": cfg["start"], "lambda": m["lambda"],
                      "step": step, "lossEma": ema, "trainSeconds": round(train_s, 2), "wallSeconds": round(el, 2),
                      "stepsPerSecond": round(step / el, 3) if el > 0 else None,
                      "imagesPerSecond": round(step * cfg["batch"] / el, 2) if el > 0 else None,
                      "exports": exports, "startupSeconds": round(t_train0 - t_start, 2), "done": done}, status_path)

    # At least one step: a worker that started late (slow machine) still exports trained weights.
    while step == 0 or (time.time() < deadline and not stop["flag"]):
        t0 = time.time()
        x, _ = next(batches)
        lr = lr_at(step, t0)
        for g in opt.param_groups:
            g["lr"] = lr
        try:
            out_ = forward(x)
        except Exception as e:  # torch.compile trouble: fall back to eager rather than lose the run
            if forward is model.forward:
                raise
            print(f"{tag}: compiled forward failed ({type(e).__name__}: {e}); eager from here", flush=True)
            forward = model.forward
            out_ = forward(x)
        l = rd_loss(out_, x, m["lambda"])
        # One host sync per step (the finite check). With one process per lambda the GPU runs the
        # other processes' kernels meanwhile, so the sync costs little overall.
        loss = float(l["loss"])
        _, aux = rd_step(l, model, opt, aux_opt, net_params, 1.0)
        step += 1
        train_s += time.time() - t0
        if math.isfinite(loss):
            ema = loss if ema is None else 0.98 * ema + 0.02 * loss
        if step % cfg["log_every"] == 0:
            mse = float(l["mse"])
            logw.writerow([step, f"{time.time() - cfg['t0']:.2f}", f"{loss:.6g}", f"{float(l['bpp']):.6g}",
                           f"{mse:.6g}", f"{10 * math.log10(1 / max(mse, 1e-12)):.3f}", f"{float(aux):.4g}",
                           f"{lr:.3g}"])
            logf.flush()
        if time.time() - last_status > 2.0:
            write_status(False)
            last_status = time.time()
        if cfg["mode"] == "train" and time.time() - last_export > cfg["export_every_s"]:
            export(False)
            last_export = time.time()
    logf.close()
    if cfg["mode"] == "train":
        export(True)
    else:
        _probe_eval(cfg, model, status_path, step, ema)
    write_status(True)
    print(f"{tag}: {step} steps, {train_s:.1f} s training, loss ema {ema}", flush=True)
    return 0


def _probe_eval(cfg: dict, model, status_path: str, step: int, ema) -> None:
    """Hard-rounded R-D loss on fixed pack batches (same for warm and scratch), written beside the status."""
    import torch

    from .model import rd_loss
    from .pack_data import PackData

    snap = copy.deepcopy(model).eval()
    snap.entropy_bottleneck.update_quantiles()
    data = PackData(cfg["pack"], 424242, crop=cfg["crop"], device=cfg["device"], limit=cfg["probe_images"])
    it = data.batches(cfg["batch"])
    with torch.no_grad():
        losses = [float(rd_loss(snap(x, training=False), x, cfg["model"]["lambda"])["loss"])
                  for x, _ in (next(it) for _ in range(cfg["probe_batches"]))]
    _atomic_json({"start": cfg["start"], "steps": step, "trainLossEma": ema, "evalLoss": sum(losses) / len(losses)},
                 status_path.replace(".status.json", ".probe.json"))


# ---------------------------------------------------------------------------
# Parent: probe, launch, watch, merge
# ---------------------------------------------------------------------------


class Sprint:
    def __init__(self, a):
        self.a = a
        self.t0 = a.t0 or time.time()
        self.work = a.work or tempfile.mkdtemp(prefix="sgai-sprint-")
        os.makedirs(self.work, exist_ok=True)
        os.makedirs(a.out, exist_ok=True)
        self.tmp_dir = _tmp_dir_for(a.out)
        self.events: List[dict] = []
        self.procs: Dict[str, subprocess.Popen] = {}
        self.sprint_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    def elapsed(self) -> float:
        return time.time() - self.t0

    def event(self, msg: str, **kw) -> None:
        self.events.append({"t": round(self.elapsed(), 1), "msg": msg, **kw})
        print(f"[{self.elapsed():6.1f} s] {msg}", flush=True)

    def launch(self, cfg: dict, tag: str) -> None:
        path = os.path.join(self.work, f"{tag}.cfg.json")
        _atomic_json(cfg, path)
        env = dict(os.environ, PYTHONPATH=TRAINING + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(cfg["threads"]))
        with open(os.path.join(self.work, f"{tag}.out"), "w") as log:
            self.procs[tag] = subprocess.Popen([sys.executable, "-m", "sgai_train.sprint", "worker", path],
                                               stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)

    def wait(self, hard_deadline: float) -> None:
        """Merge outputs while workers run; SIGTERM them at the hard deadline, SIGKILL a little later."""
        termed = None
        while any(p.poll() is None for p in self.procs.values()):
            now = time.time()
            if termed is None and now > hard_deadline:
                self.event("budget reached: stopping workers")
                for p in self.procs.values():
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
                termed = now
            if termed is not None and now > termed + self.a.kill_grace_s:
                for p in self.procs.values():
                    if p.poll() is None:
                        p.kill()
            self.merge()
            time.sleep(0.5 if self.a.family == "tiny" else 2.0)
        for tag, p in self.procs.items():
            if p.returncode != 0:
                with open(os.path.join(self.work, f"{tag}.out")) as f:
                    tail = f.read()[-2000:]
                self.event(f"worker {tag} exited {p.returncode}", tail=tail)
                print(tail, flush=True)
        self.procs = {}
        self.merge()

    def merge(self) -> None:
        cards, status = {}, {}
        for f in sorted(os.listdir(self.work)):
            p = os.path.join(self.work, f)
            try:
                if f.endswith(".card.json"):
                    cards[f[:-len(".card.json")]] = json.load(open(p))
                elif f.endswith(".status.json") or f.endswith(".probe.json"):
                    status[f[:-len(".json")]] = json.load(open(p))
            except (OSError, ValueError):
                pass  # being replaced right now: next round
        dump = lambda obj: (json.dumps(obj, indent=1) + "\n").encode()
        if cards:
            _atomic_write(dump(cards), os.path.join(self.a.out, "cards.json"), self.tmp_dir)
        _atomic_write(dump({"sprintId": self.sprint_id, "family": self.a.family, "budgetSeconds": self.a.budget_s,
                      "elapsedSeconds": round(self.elapsed(), 1), "device": self.device_name, "settings": self.settings,
                      "tree": self.tree, "pack": self.pack_info, "events": self.events, "workers": status,
                      "curves": self.curves()}), os.path.join(self.a.out, "sprint-log.json"), self.tmp_dir)

    def curves(self, points: int = 60) -> Dict[str, list]:
        """Each log thinned to ~points rows [step, wall_s, loss, bpp, psnr], so the log stays small."""
        res = {}
        for f in sorted(os.listdir(self.work)):
            if not f.endswith(".log.csv"):
                continue
            try:
                with open(os.path.join(self.work, f), newline="") as fh:
                    rows = list(csv.DictReader(fh))
            except OSError:
                continue
            k = max(1, len(rows) // points)
            res[f[:-len(".log.csv")]] = [[int(r["step"]), float(r["wall_s"]), float(r["loss"]), float(r["bpp"]),
                                          float(r["psnr"])] for r in rows[k - 1::k] if r.get("psnr")]
        return res

    def run(self) -> int:
        import torch

        a = self.a
        self.tree = tree_bytes(REPO, [os.path.relpath(os.path.abspath(a.pack), REPO)])
        print_tree(self.tree)
        # Fail only on a git count (the checkout that would be sent); a folder walk (no git, e.g. on
        # the device machine, where the tree has already travelled) may count stray files.
        if not self.tree["ok"] and self.tree["how"].startswith("git") and not a.no_size_check:
            print("the device tool would refuse this tree: make it smaller (see training/README.md, GPU sprint)",
                  flush=True)
            return 2
        if not os.path.exists(os.path.join(a.pack, "index.json")):
            print(f"no sprint pack at {a.pack}: build it here (python3 -m sgai_train.make_sprint_pack) and name "
                  "carry/sprint-pack in the device tool's carry", flush=True)
            return 2
        with open(os.path.join(a.pack, "index.json"), "rb") as f:
            raw = f.read()
        idx = json.loads(raw)
        self.pack_info = {k: idx[k] for k in ("count", "size", "packBytes", "validationPhotosExcluded",
                                              "validationSplitSha256")}
        self.pack_info["sha256"] = hashlib.sha256(raw).hexdigest()
        cuda = torch.cuda.is_available() and a.device != "cpu"
        device = "cuda" if cuda else "cpu"
        self.device_name = torch.cuda.get_device_name(0) if cuda else "cpu"
        members = family(a.family)
        if len(members) + len(EXTRA_OUT_FILES) > MAX_OUT_FILES:
            raise SystemExit(f"{len(members)} models + {len(EXTRA_OUT_FILES)} files > {MAX_OUT_FILES} files back")
        tiny = a.family == "tiny"
        self.settings = {"device": device, "batch": a.batch or (2 if tiny else 16), "crop": a.crop or (64 if tiny else 256),
                         "lrWarm": a.lr_warm, "lrScratch": a.lr_scratch, "warmupWarm": a.warmup_warm,
                         "warmupScratch": a.warmup_scratch, "threads": a.threads or (1 if tiny else 2),
                         "exportEverySeconds": a.export_every_s, "probeSeconds": a.probe_s, "compile": a.compile}
        s = self.settings
        self.event(f"sprint {self.sprint_id}: family {a.family} ({len(members)} models) on {self.device_name}, "
                   f"budget {a.budget_s:.0f} s, pack {idx['count']} crops {idx['size']}px "
                   f"({idx['packBytes'] / 1e6:.1f} MB), batch {s['batch']}, crop {s['crop']}, out {a.out}")
        for m in members:
            if a.start != "scratch" and not os.path.exists(m["init"]):
                self.event(f"no shipped weights {m['init']}: {m['id']} starts from scratch")
        end_train = self.t0 + a.budget_s - a.reserve_s
        tmp_dir = self.tmp_dir

        def cfg(m, mode, start, deadline, seed):
            warm = start == "warm"
            return {"mode": mode, "start": start, "model": m, "pack": os.path.abspath(a.pack), "pack_info": self.pack_info,
                    "work": self.work, "out": os.path.abspath(a.out), "device": device, "threads": s["threads"],
                    "batch": s["batch"], "crop": s["crop"], "seed": seed,
                    "lr": a.lr_warm if warm else a.lr_scratch,
                    "warmup": a.warmup_warm if warm else a.warmup_scratch, "lr_floor": a.lr_floor,
                    "deadline": deadline, "t0": self.t0, "budget_s": a.budget_s,
                    "export_every_s": a.export_every_s, "log_every": a.log_every, "compile": a.compile,
                    "sprint_id": self.sprint_id, "probe": self.probe, "tmp_dir": tmp_dir,
                    "init_sha256": _sha256(m["init"]) if warm else None,
                    "probe_batches": 2 if tiny else 4, "probe_images": 0 if tiny else 128,
                    "probe_s": a.probe_s, "lr_span_s": max(1.0, end_train - time.time())}

        # Probe: warm vs scratch on the middle lambda, both at once, same time budget and eval batches.
        self.probe = None
        start = a.start
        mid = members[len(members) // 2]
        if start == "probe" and not os.path.exists(mid["init"]):
            start = "scratch"
        if start == "probe":
            dl = time.time() + a.probe_s + (6 if tiny else 30)  # cap: + process/CUDA startup and pack decode
            for st_ in ("warm", "scratch"):
                self.launch(cfg(mid, "probe", st_, dl, 1000), f"{mid['id']}-probe-{st_}")
            self.event(f"probe: warm start vs scratch on {mid['id']}, {a.probe_s:g} s of training each")
            self.wait(dl + (3 if tiny else 15))  # the probes end on their own; this only bounds a hang
            res = {}
            for st_ in ("warm", "scratch"):
                p = os.path.join(self.work, f"{mid['id']}-probe-{st_}.probe.json")
                if os.path.exists(p):
                    res[st_] = json.load(open(p))
            if "warm" in res and "scratch" in res:
                start = "warm" if res["warm"]["evalLoss"] <= res["scratch"]["evalLoss"] else "scratch"
            else:
                start = "warm"
            self.probe = {"lambda": mid["lambda"], "results": res, "decision": start,
                          "rule": "lower hard-rounded R-D loss on the same fixed pack batches after equal training time"}
            self.event("probe decision: " + start + " (" + ", ".join(
                f"{k}: {v['steps']} steps, eval loss {v['evalLoss']:.4f}, train loss ema {v['trainLossEma']}"
                for k, v in res.items()) + ")", probe=self.probe)
        for i, m in enumerate(members):
            st_ = start if os.path.exists(m["init"]) else "scratch"
            self.launch(cfg(m, "train", st_, end_train, a.seed + i), m["id"])
        self.event(f"training {len(members)} models ({start}) until t = {end_train - self.t0:.0f} s, "
                   f"exports every {a.export_every_s:.0f} s")
        self.wait(self.t0 + a.budget_s - a.kill_grace_s)
        ok = [m["id"] for m in members if os.path.exists(os.path.join(a.out, m["id"] + ".safetensors"))]
        for tag, st in sorted(json.load(open(os.path.join(a.out, "sprint-log.json")))["workers"].items()):
            if st.get("mode") == "train":
                self.event(f"{st['tag']}: {st['step']} steps, {st['stepsPerSecond']} steps/s "
                           f"({st['imagesPerSecond']} img/s), loss ema {st['lossEma']}, {st['exports']} exports")
        self.event(f"done: {len(ok)}/{len(members)} models exported to {a.out}")
        self.merge()
        if self.tmp_dir != os.path.abspath(a.out):
            try:
                os.rmdir(self.tmp_dir)
            except OSError:
                pass
        files = sorted(os.listdir(a.out))
        big = [f for f in files if os.path.getsize(os.path.join(a.out, f)) > MAX_OUT_BYTES]
        print(f"OUT: {len(files)} files ({', '.join(files)}); over 16 MiB: {big or 'none'}", flush=True)
        return 0 if len(ok) == len(members) else 1


def _parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--pack", default=os.path.join(REPO, "carry", "sprint-pack"))
    r.add_argument("--family", choices=("compact", "standard", "tiny"), default="compact")
    r.add_argument("--budget-s", type=float, default=540.0, help="wall budget from --t0, everything included")
    r.add_argument("--t0", type=float, default=0.0, help="start time (epoch s) of the whole command")
    r.add_argument("--start", choices=("probe", "warm", "scratch"), default="probe")
    r.add_argument("--probe-s", type=float, default=20.0)
    r.add_argument("--reserve-s", type=float, default=12.0, help="budget end minus this = end of training (final export)")
    r.add_argument("--kill-grace-s", type=float, default=5.0,
                   help="workers get SIGTERM this long before the budget's end, SIGKILL at its end")
    r.add_argument("--export-every-s", type=float, default=120.0)
    r.add_argument("--batch", type=int, default=0)
    r.add_argument("--crop", type=int, default=0)
    r.add_argument("--threads", type=int, default=0)
    r.add_argument("--lr-warm", type=float, default=2e-4)
    r.add_argument("--lr-scratch", type=float, default=5e-4)
    r.add_argument("--warmup-warm", type=int, default=200)
    r.add_argument("--warmup-scratch", type=int, default=100)
    r.add_argument("--lr-floor", type=float, default=0.05)
    r.add_argument("--log-every", type=int, default=10)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--device", choices=("auto", "cpu"), default="auto")
    r.add_argument("--compile", action="store_true",
                   help="torch.compile each forward (off by default: untried on the GPU; on this CPU box the "
                        "first compiled step of the tiny model did not finish within 30 s)")
    r.add_argument("--work", default=None, help="scratch folder for logs and per-worker files (default: a temp dir)")
    r.add_argument("--no-size-check", action="store_true")
    f = sub.add_parser("preflight")
    f.add_argument("--pack", default=os.path.join(REPO, "carry", "sprint-pack"))
    w = sub.add_parser("worker")
    w.add_argument("cfg")
    return p


def main(argv=None) -> int:
    a = _parser().parse_args(argv)
    if a.cmd == "worker":
        rc = worker(a.cfg)
        # Skip interpreter teardown: a SIGTERM arriving during it (handlers reset) would turn a
        # finished worker's exit status into -15.
        sys.stdout.flush()
        os._exit(rc)
    if a.cmd == "preflight":
        t = tree_bytes(REPO, [os.path.relpath(os.path.abspath(a.pack), REPO)])
        print_tree(t)
        if not os.path.exists(os.path.join(a.pack, "index.json")):
            print(f"no pack at {a.pack}: python3 -m sgai_train.make_sprint_pack", flush=True)
            return 2
        return 0 if t["ok"] else 2
    if a.family == "tiny":  # CI scale: tiny model and budget, short intervals (unless given)
        defaults = vars(_parser().parse_args(["run", "--out", "x"]))
        for k, v in (("probe_s", 1.5), ("export_every_s", 3.0), ("reserve_s", 6.0), ("kill_grace_s", 2.0),
                     ("warmup_warm", 5), ("warmup_scratch", 5), ("log_every", 1)):
            if getattr(a, k) == defaults[k]:
                setattr(a, k, v)
        a.no_size_check = True  # CI checkouts are not sent anywhere: report the size only
    sp = Sprint(a)
    stop = {"n": 0}

    def on_signal(signum, frame):  # forward to workers: they export and exit
        stop["n"] += 1
        for p in sp.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if stop["n"] == 1 else signal.SIGKILL)

    signal.signal(signal.SIGTERM, on_signal)
    rc = sp.run()
    if a.work is None and (rc == 0 or not os.listdir(sp.work)):  # keep per-worker logs only on failure
        import shutil
        shutil.rmtree(sp.work, ignore_errors=True)
    else:
        print(f"worker logs: {sp.work}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
