"""docs/models.md generator: real-file numbers only for the weights that were benchmarked."""

import json

from sgai_train import models_doc


def _summary(tmp_path, sha):
    s = {"generatedAt": "2026-11-26T03:00:00Z", "codecs": [
        {"id": "sgai", "kind": "sgai", "versions": {"backend": "wasm", "model:m1": f"64/96 λ=0.0067 sha256 {sha}"},
         "curve": [{"setting": "m1", "bpp": 0.4, "psnrRgb": 28.0, "images": 24}]},
        {"id": "sgai-sgaplus", "kind": "sgai", "versions": {"model:m1": f"64/96 λ=0.0067 sha256 {sha}"},
         "curve": [{"setting": "m1", "bpp": 0.39, "psnrRgb": 28.2, "images": 24}]},
    ]}
    p = tmp_path / "summary.json"
    p.write_text(json.dumps(s))
    return str(p)


def test_real_numbers_are_shown_only_for_the_benchmarked_weights(tmp_path):
    card = {"id": "m1", "N": 64, "M": 96, "lambda": 0.0067, "quality": 3, "sha256": "abcdef123456" + "0" * 52,
            "kodak": {"bpp": 0.38, "psnr": 28.0}, "steps": 10, "trainingTime": "1 min", "dtype": "F16"}
    real = models_doc._real_file_numbers(_summary(tmp_path, "abcdef123456"))
    assert real["m1"]["bpp"] == 0.4  # the unrefined codec, not the SGA+ variant
    assert "**0.4000 / 28.00**" in models_doc._row("resources/models", card, real)
    stale = models_doc._real_file_numbers(_summary(tmp_path, "999999999999"))
    assert "not measured for this export" in models_doc._row("resources/models", card, stale)


def test_width_section_tabulates_each_budget(tmp_path):
    res = lambda model, it: {"model": model, "secondsPerIteration": 0.5, "budgets": [
        {"budget": 0, "iterations": 0, "mean": {"bpp": 0.4, "streamBpp": 0.38, "psnr": 28.0, "loss": 2.0, "refineSeconds": 0}},
        {"budget": 10, "iterations": it, "mean": {"bpp": 0.39, "streamBpp": 0.37, "psnr": 28.3, "loss": 1.9, "refineSeconds": 9.8}}]}
    w = {"lambda": 0.0067, "method": "ssl", "seed": 0, "images": ["kodim01.png 384x256"], "crop": "384x256",
         "backend": "wasm", "cpu": "cpu", "generatedAt": "2026-11-26T03:00:00Z", "command": "npm run bench:width",
         "budgetsSeconds": [0, 10], "results": [res("c", 20), res("s", 6)]}
    (tmp_path / "lambda-0.0067.json").write_text(json.dumps(w))
    text = "\n".join(models_doc._width_section(str(tmp_path)))
    assert "| 0 (unrefined) | 0 / 0.4000 (0.3800) / 28.00 / 2.0000 |" in text
    assert "| 10 s (took 9.8 s) | 20 / 0.3900 (0.3700) / 28.30 / 1.9000 | 6 / " in text
