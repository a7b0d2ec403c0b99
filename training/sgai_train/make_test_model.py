"""Train and export the small seeded test model (tests only, not shipped).

    python3 -m sgai_train.make_test_model

N=32, M=48, lambda 0.0067, seed 1234, 1000 steps of batch 8 with 128x128
crops of the train-pack, lr 5e-4 (dropped x0.1 at step 900) so that a few
CPU minutes give a real, if weak, codec. Written as F32 to
test/fixtures/models/sgai-test-n32m48.safetensors with its .json card.
"""

from __future__ import annotations

import argparse
import os
import shutil

from .export import export
from .train import train

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "test", "fixtures", "models", "sgai-test-n32m48.safetensors")
TRAIN_ARGS = ["--n", "32", "--m", "48", "--lmbda", "0.0067", "--seed", "1234", "--steps", "1000",
              "--lr-drop-at", "900", "--batch", "8", "--crop", "128", "--lr", "5e-4", "--no-photos",
              "--threads", "1", "--log-every", "10", "--device", "cpu"]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=os.path.join(REPO, "training", "runs", "test-n32m48"))
    p.add_argument("--out", default=OUT)
    p.add_argument("--keep-run", action="store_true", help="resume an existing run folder instead of restarting")
    a = p.parse_args(argv)
    if os.path.exists(a.run) and not a.keep_run:
        shutil.rmtree(a.run)  # a fresh run, so the result depends on the seed only
    train(TRAIN_ARGS + ["--run", a.run])
    export(os.path.join(a.run, "last.pt"), a.out, model_id="sgai-test-n32m48", dtype="F32", registry=False,
           extra_card={"purpose": "tests only: a weak but real codec for fixtures and TypeScript tests; "
                                  "not shipped in resources/models"})


if __name__ == "__main__":
    main()
