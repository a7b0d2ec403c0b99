import os

import numpy as np
import pytest

from sgai_train.data import DATASETS, TrainData, pack_sources, validation_photos

pytestmark = pytest.mark.skipif(not os.path.isdir("/work/shared/datasets/train-pack"), reason="no training data")


def test_sources_and_no_kodak():
    d = TrainData(seed=1)
    # 60 of the 1,664 pack crops come from the 40 validation photos.
    assert len(d) == (1664 - 60) + (1020 - 40)
    assert not any("kodak" in (s.path or s.tar) for s in d.sources)


def test_validation_split_is_fixed_and_never_trained_on():
    val = validation_photos()
    assert len(val) == len(set(val)) == 40
    # The split is pinned by content hash: the photos on disk are the ones listed.
    sums = dict(reversed(line.split()) for line in open(os.path.join(DATASETS, "train", "SHA256SUMS")))
    listed = {line.split()[1]: line.split()[0] for line in open(os.path.join(os.path.dirname(__file__), "..", "validation-split.txt"))
              if not line.startswith("#")}
    assert all(sums[p] == h for p, h in listed.items())
    d = TrainData(seed=1)
    photos = {os.path.relpath(s.path, os.path.join(DATASETS, "train")) for s in d.sources if s.path}
    assert photos.isdisjoint(val) and len(photos) == 980
    # No pack crop cut from a validation photo: map each used crop back to its source.
    by_offset = {}
    import tarfile
    for shard in sorted({s.tar for s in d.sources if s.tar}):
        with tarfile.open(shard) as tf:
            by_offset.update({(shard, m.offset_data): m.name for m in tf.getmembers()})
    crop_src = pack_sources()
    used = [crop_src[by_offset[(s.tar, s.offset)]] for s in d.sources if s.tar]
    assert len(used) == 1604 and not set(used) & set(val)


def test_batches_are_seeded_and_restartable():
    d = TrainData(seed=5, crop=64, use_photos=False, limit=5)
    it = d.batches(2)
    seq = [next(it) for _ in range(4)]  # crosses epoch boundaries (5 images, batch 2)
    assert seq[-1][1] == (1, 3)
    assert all(b.shape == (2, 3, 64, 64) and 0 <= float(b.min()) and float(b.max()) <= 1 for b, _ in seq)
    # Restarting from a stored (epoch, pos) yields the same following batches.
    epoch, pos = seq[1][1]
    again = d.batches(2, epoch, pos)
    for b, state in seq[2:]:
        b2, s2 = next(again)
        assert s2 == state and np.array_equal(b.numpy(), b2.numpy())
    # Another seed gives another order.
    other = next(TrainData(seed=6, crop=64, use_photos=False, limit=5).batches(2))[0]
    assert not np.array_equal(other.numpy(), seq[0][0].numpy())
