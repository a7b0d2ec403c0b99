"""Import a CompressAI mbt2018-mean (MeanScaleHyperprior) checkpoint as an sgai model.

    python3 -m sgai_train.import_compressai CHECKPOINT --out-dir DIR [--id ID]
        [--lambda L | --quality Q] [--refine-quantiles] [--evaluate [--kodak-limit K]]
        [--allow-pickle] [--force]
    python3 -m sgai_train.import_compressai --make-fixture test/fixtures/compressai/

CHECKPOINT is anything torch.save wrote: a plain state_dict, or a dict holding it under
'state_dict' / 'model' (CompressAI's examples/train.py layout), with or without DataParallel's
'module.' prefix, with the entropy-bottleneck parameter names of any CompressAI release
(matrices.0 in 1.2, _matrix0 in 1.1, _matrices.0 in the zoo files). It is read with
torch.load(weights_only=True) unless --allow-pickle is given, so a downloaded file cannot run
code. The architecture is checked (keys, shapes, the constants sgai hard-codes) and N, M are
read from the shapes. Writes DIR/<id>.safetensors (every parameter, F32, sgai's layout = the
CompressAI names export.py uses) and DIR/<id>.json (export.py's card schema).

Exit codes: 0 ok, 2 usage (bad option, lambda unknown, output exists), 3 unsupported
architecture or not a state_dict, 4 checkpoint unreadable, 5 output not writable,
6 CompressAI missing (--make-fixture only). Errors are one line on stderr, prefixed
"import_compressai: ". On success the last stdout line is a JSON object {id, weights, card, N, M}.

--make-fixture builds the committed interop fixtures (needs the real compressai package,
training/setup_compressai.sh): see make_fixture() and test/fixtures/compressai/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import os
import pickle
import re
import sys
from typing import Dict, List, Optional, Tuple

import torch

from . import safetensors_io as st
from .export import (COMPRESSAI_MBT2018_MEAN, QUALITY_LAMBDAS, file_sha256, load_exported, parameter_tensors,
                     quality_of)
from .model import MeanScaleHyperprior

TAG = "import_compressai"
EXIT_USAGE, EXIT_UNSUPPORTED, EXIT_UNREADABLE, EXIT_WRITE, EXIT_NO_COMPRESSAI = 2, 3, 4, 5, 6

# CompressAI's zoo: mbt2018-mean qualities 1-4 use N=128, M=192 and 5-8 use N=192, M=320.
ZOO_CHANNELS = {q: ((128, 192) if q <= 4 else (192, 320)) for q in range(1, 9)}

IMPORT_NOTE = (
    "Weights imported unchanged from a CompressAI mbt2018-mean checkpoint (F32). sgai codes y with a "
    "256-scale Gaussian table instead of CompressAI's 64 and uses its own rANS stream layout, so .sgai "
    "files are not CompressAI bitstreams; the reconstructions match CompressAI's forward() to float "
    "rounding."
)


class ImportFailure(Exception):
    """An error with the exit code the command line reports it with."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def unsupported(message: str) -> ImportFailure:
    return ImportFailure(EXIT_UNSUPPORTED, message)


# ---------------------------------------------------------------------------
# Reading and normalising a checkpoint
# ---------------------------------------------------------------------------


# What a state_dict checkpoint may name when unpickled: tensors, containers, numbers, dtypes,
# numpy scalars and argparse.Namespace (training scripts store their args). Anything else, such as
# a class whose constructor could run code, is refused unless --allow-pickle.
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("argparse", "Namespace"), ("_codecs", "encode"),
    ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "Tensor"), ("torch", "Size"), ("torch", "device"),
    ("torch.nn.parameter", "Parameter"),
    ("numpy.core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"), ("numpy", "dtype"),
    ("numpy", "ndarray"),
} | {("builtins", n) for n in ("set", "frozenset", "slice", "complex", "bytearray", "range")}


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        # Protocol 2 (torch.save's default) names Python 2 modules; the base class maps them.
        module_3 = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)
        if (module_3, name) in _SAFE_GLOBALS or (module == "torch" and isinstance(getattr(torch, name, None), torch.dtype)):
            return super().find_class(module, name)
        raise _RefusedGlobal(f"{module_3}.{name}")


def _restricted_pickle_module():
    # A copy of the pickle module whose Unpickler whitelists globals (the pickle docs' recipe)
    # rather than weights_only=True: torch 1.13's weights-only unpickler rejects plain floats,
    # which every training checkpoint (loss, learning rates) contains.
    import types
    mod = types.ModuleType("sgai_restricted_pickle")
    mod.__dict__.update({k: v for k, v in pickle.__dict__.items() if not k.startswith("__")})
    mod.Unpickler = _RestrictedUnpickler
    mod.load = lambda f, **kw: _RestrictedUnpickler(f, **kw).load()
    mod.loads = lambda b, **kw: _RestrictedUnpickler(io.BytesIO(b), **kw).load()
    return mod


def _load_restricted(path: str):
    import torch.serialization as ts
    mod = _restricted_pickle_module()
    # torch 1.13's load() ignores pickle_module unless weights_only=True (it assigns its global
    # `pickle`), so the global is swapped as well while loading; newer torch honours the argument.
    saved = ts.pickle
    ts.pickle = mod
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=mod)
    finally:
        ts.pickle = saved


def read_checkpoint(path: str, allow_pickle: bool = False) -> Tuple[Dict[str, torch.Tensor], dict]:
    """(state_dict, the top-level dict's other plain entries such as 'epoch')."""
    if not os.path.isfile(path):
        raise ImportFailure(EXIT_UNREADABLE, f"cannot read {path}: no such file")
    try:
        if allow_pickle:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        else:
            obj = _load_restricted(path)
    except _RefusedGlobal as e:
        raise ImportFailure(EXIT_UNREADABLE, f"{path} holds pickled Python objects besides tensors ({e}), which "
                                             f"could run code when loaded; if you trust where it came from, save "
                                             f"just the weights with torch.save(model.state_dict(), path), or "
                                             f"convert it with python3 -m sgai_train.import_compressai --allow-pickle")
    except Exception as e:  # torch raises RuntimeError/UnpicklingError/EOFError/... for other files
        raise ImportFailure(EXIT_UNREADABLE, f"{path} is not a PyTorch checkpoint torch.load can read "
                                             f"({type(e).__name__}: {_first_line(e)})")
    extra: dict = {}
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "model_state_dict", "net"):
            if isinstance(obj.get(key), dict):
                extra = _plain_entries(obj)
                args = obj.get("args")
                extra.update(_plain_entries(vars(args) if hasattr(args, "__dict__") else args))
                obj = obj[key]
                break
    if isinstance(obj, torch.nn.Module):  # a whole pickled model (only with --allow-pickle)
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items()):
        raise unsupported(f"{os.path.basename(path)} does not hold a model state_dict (expected a dict of tensors, "
                          f"or one under 'state_dict' or 'model')")
    return dict(obj), extra


def _plain_entries(d) -> dict:
    if not isinstance(d, dict):
        return {}
    return {k: v for k, v in d.items() if isinstance(k, str) and isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def _first_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0][:200] if s else type(e).__name__


# matrices.0 (1.2.x ParameterList), _matrices.0 (zoo files) and _matrix0 (1.1.x) all mean one thing.
_EB_NAME = re.compile(r"^entropy_bottleneck\.(?:_?(matrices|biases|factors)\.(\d+)|_(matrix|bias|factor)(\d+))$")
_EB_SINGULAR = {"matrices": "matrix", "biases": "bias", "factors": "factor"}


def normalise_keys(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out: Dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if k.startswith("module."):  # saved from nn.DataParallel
            k = k[len("module."):]
        m = _EB_NAME.match(k)
        if m:
            kind = _EB_SINGULAR[m.group(1)] if m.group(1) else m.group(3)
            k = f"entropy_bottleneck._{kind}{m.group(2) or m.group(4)}"
        out[k] = v
    return out


# ---------------------------------------------------------------------------
# Architecture check
# ---------------------------------------------------------------------------

# Buffers a CompressAI state_dict may carry besides the parameters; coder tables are rebuilt by sgai.
_TABLE_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
# Constant buffers whose values the sgai model (TypeScript included) hard-codes.
_CONSTANT_BUFFERS = ("bound", "pedestal", "scale_bound", "target")


def _shape(sd: Dict[str, torch.Tensor], k: str) -> Optional[Tuple[int, ...]]:
    return tuple(sd[k].shape) if k in sd else None


def _family_problem(sd: Dict[str, torch.Tensor]) -> Optional[str]:
    """A specific message for the CompressAI architectures that are not mbt2018-mean."""
    keys = set(sd)
    has = lambda prefix: any(k.startswith(prefix) for k in keys)  # noqa: E731
    if has("context_prediction.") or has("entropy_parameters."):
        if has("g_a.0.conv1.") or any(".conv_a." in k or ".attn." in k for k in keys) or "g_a.0.conv.weight" in keys:
            name = "cheng2020-anchor/cheng2020-attn"
        else:
            name = "mbt2018 (joint autoregressive + hierarchical priors)"
        return (f"CompressAI {name} checkpoint: it has an autoregressive context model (context_prediction.*, "
                f"entropy_parameters.*), which sgai does not implement; only mbt2018-mean (MeanScaleHyperprior) "
                f"checkpoints can be imported")
    if not has("h_a.") and not has("h_s.") and has("g_a.") and has("entropy_bottleneck."):
        return ("CompressAI bmshj2018-factorized checkpoint (factorized prior, no hyperprior h_a/h_s); only "
                "mbt2018-mean (MeanScaleHyperprior) checkpoints can be imported")
    n = _shape(sd, "g_a.0.weight")
    m = _shape(sd, "g_a.6.weight")
    hs = _shape(sd, "h_s.4.weight")
    if n and m and hs and len(hs) == 4 and hs[0] == m[0] and hs[0] != 2 * m[0]:
        return (f"CompressAI bmshj2018-hyperprior (ScaleHyperprior) checkpoint: its h_s predicts only scales "
                f"(h_s.4 has {hs[0]} = M outputs; mbt2018-mean needs 2M = {2 * m[0]}: scales and means); only "
                f"mbt2018-mean (MeanScaleHyperprior) checkpoints can be imported")
    return None


def _list(names: List[str], limit: int = 6) -> str:
    s = ", ".join(names[:limit])
    return s + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_architecture(sd: Dict[str, torch.Tensor]) -> Tuple[int, int]:
    """(N, M) of a normalised mbt2018-mean state_dict; raises ImportFailure(3) for anything else."""
    problem = _family_problem(sd)
    if problem:
        raise unsupported(problem)
    first, last = sd.get("g_a.0.weight"), sd.get("g_a.6.weight")
    if first is None or last is None or first.dim() != 4 or last.dim() != 4:
        raise unsupported("not a CompressAI mbt2018-mean checkpoint: g_a.0.weight / g_a.6.weight (the analysis "
                          "transform) are missing; sample keys: " + _list(sorted(sd)))
    n, m = int(first.shape[0]), int(last.shape[0])
    ref = MeanScaleHyperprior(n, m)
    params = {k: tuple(p.shape) for k, p in ref.named_parameters()}
    buffers = dict(ref.named_buffers())
    missing = sorted(k for k in params if k not in sd)
    unexpected = sorted(k for k in sd if k not in params and k not in buffers)
    wrong = sorted(f"{k} {list(sd[k].shape)} (expected {list(s)})" for k, s in params.items()
                   if k in sd and tuple(sd[k].shape) != s)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {_list(missing)}")
        if unexpected:
            parts.append(f"unexpected {_list(unexpected)}")
        if wrong:
            parts.append(f"wrong shape {_list(wrong, 3)}")
        raise unsupported(f"not a CompressAI mbt2018-mean (MeanScaleHyperprior) checkpoint with N={n}, M={m}: "
                          + "; ".join(parts))
    for k, v in sd.items():
        if k.rsplit(".", 1)[-1] in _CONSTANT_BUFFERS and k in buffers:
            want = buffers[k]
            if v.shape != want.shape or not torch.allclose(v.double(), want.double(), rtol=1e-6, atol=0.0):
                raise unsupported(f"{k} is {v.flatten().tolist()[:3]} but sgai assumes {want.flatten().tolist()[:3]} "
                                  f"(non-default GDN/entropy-model settings are not supported)")
    for k, v in sd.items():
        if k in params and not torch.isfinite(v).all():
            raise unsupported(f"{k} contains NaN or infinite values")
    return n, m


def model_from_state(sd: Dict[str, torch.Tensor], n: int, m: int) -> MeanScaleHyperprior:
    model = MeanScaleHyperprior(n, m)
    names = {k for k, _ in model.named_parameters()}
    params = {k: v.detach().float() for k, v in sd.items() if k in names}
    model.load_state_dict(params, strict=False)
    return model.eval()


# ---------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------


def lambda_tag(lmbda: float) -> str:
    s = f"{lmbda:.6f}".rstrip("0").rstrip(".")
    return s[2:] if s.startswith("0.") else s.replace(".", "p")


def resolve_lambda(path: str, extra: dict, lmbda: Optional[float], quality: Optional[int]) -> Tuple[float, Optional[int]]:
    if quality is not None:
        if quality not in QUALITY_LAMBDAS:
            raise ImportFailure(EXIT_USAGE, f"--quality must be 1..8 (CompressAI's mbt2018-mean qualities), got {quality}")
        if lmbda is not None and abs(lmbda / QUALITY_LAMBDAS[quality] - 1) > 0.02:
            raise ImportFailure(EXIT_USAGE, f"--lambda {lmbda} contradicts --quality {quality} "
                                            f"(lambda {QUALITY_LAMBDAS[quality]}); give one of them")
        return QUALITY_LAMBDAS[quality], quality
    if lmbda is None:
        for key in ("lmbda", "lambda", "lambda_"):
            if isinstance(extra.get(key), (int, float)):
                lmbda = float(extra[key])
                break
    if lmbda is None:
        # CompressAI's zoo file names carry the quality: mbt2018-mean-3-e5d8ed22.pth.tar
        hit = re.search(r"mbt2018[-_]mean[-_]([1-8])(?:[-_.]|$)", os.path.basename(path))
        if hit:
            q = int(hit.group(1))
            return QUALITY_LAMBDAS[q], q
    if lmbda is None:
        raise ImportFailure(EXIT_USAGE, "the checkpoint does not record the lambda it was trained with: pass "
                                        "--lambda L (MSE lambda, e.g. 0.0067) or --quality Q (CompressAI quality 1..8)")
    if not (lmbda > 0 and math.isfinite(lmbda)):
        raise ImportFailure(EXIT_USAGE, f"--lambda must be a positive number, got {lmbda}")
    return float(lmbda), quality_of(lmbda)


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def convert(checkpoint: str, out_dir: str, model_id: Optional[str] = None, lmbda: Optional[float] = None,
            quality: Optional[int] = None, refine_quantiles: bool = False, evaluate_kodak: bool = False,
            kodak_limit: int = 0, allow_pickle: bool = False, force: bool = False) -> dict:
    """Convert and write; returns the card. Raises ImportFailure."""
    if model_id is not None and not _ID.match(model_id):
        raise ImportFailure(EXIT_USAGE, f"--id {model_id!r}: use letters, digits, '.', '_' and '-' only "
                                        f"(it becomes a file name)")
    sd, extra = read_checkpoint(checkpoint, allow_pickle)
    sd = normalise_keys(sd)
    n, m = check_architecture(sd)
    lmbda, quality = resolve_lambda(checkpoint, extra, lmbda, quality)
    source = file_sha256(checkpoint)
    model_id = model_id or f"compressai-msh-n{n}m{m}-l{lambda_tag(lmbda)}-{source[:8]}"
    model = model_from_state(sd, n, m)
    if refine_quantiles:
        model.entropy_bottleneck.update_quantiles()

    out = os.path.join(out_dir, f"{model_id}.safetensors")
    card_path = os.path.join(out_dir, f"{model_id}.json")
    for p in (out, card_path):
        if os.path.exists(p) and not force:
            raise ImportFailure(EXIT_USAGE, f"{p} exists; pass --force to replace it or choose another --id")
    meta = {"format": "pt", "id": model_id, "architecture": "mean-scale-hyperprior", "N": str(n), "M": str(m),
            "lambda": str(lmbda), "source": f"CompressAI checkpoint {os.path.basename(checkpoint)} sha256 {source}",
            "layout": "CompressAI MeanScaleHyperprior parameter names; Conv2d [out,in,k,k], "
                      "ConvTranspose2d [in,out,k,k]; GDN beta/gamma are stored (reparametrised) values"}
    card = {
        "id": model_id,
        "architecture": "mean-scale-hyperprior",
        "N": n, "M": m, "lambda": lmbda,
        "trainingData": f"imported from CompressAI checkpoint {os.path.basename(checkpoint)}",
        "source": source,
        "importedFrom": {"format": "CompressAI mbt2018-mean state_dict", "file": os.path.basename(checkpoint),
                         "sha256": source, "quantilesRefined": refine_quantiles,
                         **({"epoch": extra["epoch"]} if isinstance(extra.get("epoch"), int) else {})},
        "hardware": "unknown (trained outside sgai)",
        "dtype": "F32",
    }
    if quality is not None:
        card["quality"] = quality
        if (n, m) == ZOO_CHANNELS[quality]:
            bpp, psnr = COMPRESSAI_MBT2018_MEAN[quality]
            card["compressaiReference"] = {"model": f"CompressAI mbt2018-mean quality {quality} (N={n}, M={m})",
                                           "bpp": bpp, "psnr": psnr, "rate": "real bitstreams"}
    if evaluate_kodak:
        from .evaluate import evaluate
        res = evaluate(model, limit=kodak_limit)
        card["kodak"] = {
            "bpp": round(res["bpp"], 4), "psnr": round(res["psnr"], 3),
            "measuredWith": f"sgai_train.evaluate: estimated rate from likelihoods (not a bitstream), PSNR-RGB "
                            f"on clipped and 8-bit-rounded reconstructions, mean over {res['images']} Kodak "
                            f"images, replicate-padded to a multiple of 64, PyTorch {torch.__version__} float32 "
                            f"CPU, F32 weights",
        }
    try:
        os.makedirs(out_dir, exist_ok=True)
        # Write beside the target and rename, so a failed import never leaves half a model behind.
        st.save_file(parameter_tensors(model, torch.float32), out + ".tmp", meta)
        card["sha256"] = file_sha256(out + ".tmp")
        card["file"] = os.path.basename(out)
        card["exportedAt"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        card["note"] = IMPORT_NOTE
        with open(card_path + ".tmp", "w") as f:
            json.dump(card, f, indent=2)
            f.write("\n")
        os.replace(out + ".tmp", out)
        os.replace(card_path + ".tmp", card_path)
    except OSError as e:
        for p in (out + ".tmp", card_path + ".tmp"):
            if os.path.exists(p):
                os.remove(p)
        raise ImportFailure(EXIT_WRITE, f"cannot write the model into {out_dir}: {e.strerror or e}")
    return card


# ---------------------------------------------------------------------------
# Interop fixtures (needs the real compressai package)
# ---------------------------------------------------------------------------

FIXTURE_ID = "compressai-interop-n32m48"
FIXTURE_LAMBDA = 0.0067
FIXTURE_SEED = 20240611
FIXTURE_STEPS = 1000
CROP = ("kodim23.png", 192, 320, 128, 192)  # file, top, left, height, width (multiples of 64)
FULL = "kodim23.png"  # 768x512, no padding needed


def _import_compressai():
    try:
        import compressai  # noqa: F401
        from compressai.models import MeanScaleHyperprior as CompressAIMSH  # noqa: F401
    except ImportError as e:
        raise ImportFailure(EXIT_NO_COMPRESSAI, f"the compressai package is not importable ({e}); install it "
                                                f"with training/setup_compressai.sh")
    return compressai


def _hwc(t: torch.Tensor):
    return t[0].permute(1, 2, 0).contiguous().float().numpy()


def train_compressai(net, steps: int, seed: int, lmbda: float, log=print) -> float:
    """A short training run with CompressAI's own loss and its two-optimiser recipe."""
    from compressai.losses import RateDistortionLoss

    from .data import TrainData

    data = TrainData(seed, crop=128, use_photos=False)
    main_p = [p for n, p in net.named_parameters() if not n.endswith("quantiles")]
    aux_p = [p for n, p in net.named_parameters() if n.endswith("quantiles")]
    opt = torch.optim.Adam(main_p, lr=1e-3)  # 10x CompressAI's default: a few hundred steps must show
    aux = torch.optim.Adam(aux_p, lr=1e-2)
    crit = RateDistortionLoss(lmbda=lmbda)
    net.train()
    it = data.batches(8)
    for step in range(steps):
        x, _ = next(it)
        opt.zero_grad()
        aux.zero_grad()
        loss = crit(net(x), x)
        loss["loss"].backward()
        torch.nn.utils.clip_grad_norm_(main_p, 1.0)
        opt.step()
        net.aux_loss().backward()
        aux.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"  step {step}: loss {float(loss['loss']):.4f} bpp {float(loss['bpp_loss']):.4f} "
                f"mse {float(loss['mse_loss']):.6f}")
    net.eval()
    return float(loss["loss"])


@torch.no_grad()
def compressai_reference(net, x: torch.Tensor) -> Dict[str, object]:
    """What CompressAI computes for x: forward() (eval) tensors and compress() output and symbols."""
    eb, gc = net.entropy_bottleneck, net.gaussian_conditional
    y = net.g_a(x)
    z = net.h_a(y)
    fwd = net(x)
    comp = net.compress(x)
    y_str, z_str = comp["strings"][0][0], comp["strings"][1][0]
    # The same steps compress() takes, to record its symbols and table indexes.
    z_hat = eb.decompress(comp["strings"][1], comp["shape"])
    scales, means = net.h_s(z_hat).chunk(2, 1)
    idx = gc.build_indexes(scales)
    y_sym = gc.quantize(y, "symbols", means)
    med = eb._get_medians().reshape(1, -1, 1, 1)
    z_sym = torch.round(z - med)
    y_hat = y_sym.float() + means
    x_hat = net.g_s(y_hat)
    if not torch.equal(x_hat, fwd["x_hat"]):
        raise AssertionError("compress() latents do not give forward()'s x_hat")
    dec = net.decompress(comp["strings"], comp["shape"])
    if not torch.allclose(dec["x_hat"], x_hat.clamp(0, 1), atol=1e-6):
        raise AssertionError("decompress() does not reproduce forward()")
    return {"y": y, "z": z, "y_hat": y_hat, "x_hat": x_hat, "y_sym": y_sym.float(), "z_sym": z_sym,
            "y_idx": idx.float(), "y_bytes": len(y_str), "z_bytes": len(z_str),
            "bits": {k: float(-torch.log2(v).sum()) for k, v in fwd["likelihoods"].items()}}


def _image(name: str) -> torch.Tensor:
    from .data import DATASETS, load_rgb
    img = load_rgb(os.path.join(DATASETS, "kodak", name))
    return torch.from_numpy(img.astype("float32") / 255.0).permute(2, 0, 1)[None].contiguous()


def make_fixture(out_dir: str, steps: int = FIXTURE_STEPS, log=print) -> dict:
    compressai = _import_compressai()
    from compressai.models import MeanScaleHyperprior as CompressAIMSH
    import tempfile

    torch.set_num_threads(1)
    torch.manual_seed(FIXTURE_SEED)
    net = CompressAIMSH(32, 48)
    log(f"training CompressAI {compressai.__version__} MeanScaleHyperprior(32, 48) for {steps} steps")
    final_loss = train_compressai(net, steps, FIXTURE_SEED, FIXTURE_LAMBDA, log)
    net.update(force=True, update_quantiles=True)

    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "mbt2018-mean-n32m48-interop.pth.tar")
        torch.save({"epoch": 0, "state_dict": net.state_dict()}, ckpt)
        card = convert(ckpt, out_dir, FIXTURE_ID, lmbda=FIXTURE_LAMBDA, force=True)
    ours = load_exported(os.path.join(out_dir, f"{FIXTURE_ID}.safetensors"))

    name, top, left, h, w = CROP
    crop = _image(name)[..., top:top + h, left:left + w].contiguous()
    ref = compressai_reference(net, crop)
    diffs = forward_diffs(ours, crop, ref)
    log(f"sgai PyTorch vs CompressAI forward, max |diff|: " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    if max(diffs.values()) > 1e-5:
        raise AssertionError(f"converted model does not reproduce CompressAI: {diffs}")
    full = _image(FULL)
    ref_full = compressai_reference(net, full)

    tensors = {"x": _hwc(crop)}
    for k in ("y", "z", "y_hat", "x_hat", "y_sym", "z_sym", "y_idx"):
        tensors[k] = _hwc(ref[k])
    tensors["full_y"] = _hwc(ref_full["y"])
    tensors["full_z"] = _hwc(ref_full["z"])
    info = {
        "compressai": compressai.__version__, "torch": torch.__version__,
        "model": f"{FIXTURE_ID}.safetensors",
        "training": f"CompressAI MeanScaleHyperprior(32, 48), seed {FIXTURE_SEED}, {steps} steps, batch 8, "
                    f"128x128 crops of shared/datasets/train-pack, RateDistortionLoss lambda {FIXTURE_LAMBDA}, "
                    f"Adam 1e-3 / aux 1e-2, then update(force=True, update_quantiles=True); final loss "
                    f"{final_loss:.4f}",
        "crop": {"source": f"kodak/{name} rows {top}..{top + h - 1}, cols {left}..{left + w - 1}",
                 "width": w, "height": h, "yBytes": ref["y_bytes"], "zBytes": ref["z_bytes"],
                 "idealBits": ref["bits"]},
        "full": {"source": f"kodak/{FULL}", "width": int(full.shape[3]), "height": int(full.shape[2]),
                 "yBytes": ref_full["y_bytes"], "zBytes": ref_full["z_bytes"], "idealBits": ref_full["bits"]},
        "sgaiTorchForwardMaxAbsDiff": {k: float(f"{v:.3e}") for k, v in diffs.items()},
    }
    st.save_file(tensors, os.path.join(out_dir, "reference.safetensors"),
                 {"layout": "float32 HWC (batch dropped); *_sym and y_idx are integers stored as float32",
                  "info": json.dumps(info)})
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    log(json.dumps(info, indent=2))
    return info


@torch.no_grad()
def forward_diffs(ours: MeanScaleHyperprior, x: torch.Tensor, ref: Dict[str, object]) -> Dict[str, float]:
    """Max |ours - CompressAI| for y, z and x_hat (ours decodes CompressAI's y_hat, as in forward)."""
    out = ours(x, training=False)
    return {k: float((out[k] - ref[k]).abs().max()) for k in ("y", "z", "y_hat", "x_hat")}


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m sgai_train.import_compressai", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", nargs="?")
    p.add_argument("--out-dir")
    p.add_argument("--id", dest="model_id")
    p.add_argument("--lambda", dest="lmbda", type=float)
    p.add_argument("--quality", type=int)
    p.add_argument("--refine-quantiles", action="store_true",
                   help="solve the entropy-bottleneck quantiles by bisection (as export.py does)")
    p.add_argument("--evaluate", action="store_true", help="measure Kodak bpp/PSNR for the card (slow)")
    p.add_argument("--kodak-limit", type=int, default=0)
    p.add_argument("--allow-pickle", action="store_true", help="load checkpoints that need full unpickling")
    p.add_argument("--force", action="store_true")
    p.add_argument("--make-fixture", metavar="DIR")
    p.add_argument("--fixture-steps", type=int, default=FIXTURE_STEPS)
    a = p.parse_args(argv)
    try:
        if a.make_fixture:
            make_fixture(a.make_fixture, a.fixture_steps)
            return 0
        if not a.checkpoint or not a.out_dir:
            p.error("need CHECKPOINT and --out-dir DIR (or --make-fixture DIR)")
        card = convert(a.checkpoint, a.out_dir, a.model_id, a.lmbda, a.quality, a.refine_quantiles, a.evaluate,
                       a.kodak_limit, a.allow_pickle, a.force)
    except ImportFailure as e:
        print(f"{TAG}: {e}", file=sys.stderr)
        return e.code
    weights = os.path.abspath(os.path.join(a.out_dir, card["file"]))
    print(json.dumps({"id": card["id"], "weights": weights, "card": weights[:-len(".safetensors")] + ".json",
                      "N": card["N"], "M": card["M"], "lambda": card["lambda"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
