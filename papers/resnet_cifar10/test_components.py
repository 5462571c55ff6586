"""Stage 1 gate for ResNet on CIFAR-10 (arXiv 1512.03385): components against naive references,
Table 6's parameter counts, and the CIFAR-10 reader on small files written in its exact format."""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch
from torch import nn

from workbench import ConfigError, UserError

from .components import error_percent, option_a_shortcut, pad_crop_flip, per_pixel_mean, step_lr_factor
from .data import FOLDER, TEST_FILE, TRAIN_FILES, download_cifar10, load_batch, load_cifar10
from .model import CifarResNet


def test_option_a_shortcut_is_identity_subsampling_and_zero_channels():
    torch.manual_seed(0)
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(option_a_shortcut(x, 16, 1), x)
    y = option_a_shortcut(x, 32, 2)
    assert y.shape == (2, 32, 4, 4)
    for b in range(2):
        for c in range(32):
            for i in range(4):
                for j in range(4):
                    want = x[b, c - 8, 2 * i, 2 * j] if 8 <= c < 24 else 0.0
                    assert float(y[b, c, i, j]) == float(want)


def test_pad_crop_flip_matches_a_per_image_loop():
    torch.manual_seed(0)
    x = torch.randn(5, 3, 6, 6)
    generator = torch.Generator().manual_seed(3)
    replay = torch.Generator().manual_seed(3)
    out = pad_crop_flip(x, generator, pad=2)
    top = torch.randint(0, 5, (5,), generator=replay)
    left = torch.randint(0, 5, (5,), generator=replay)
    flip = torch.rand(5, generator=replay) < 0.5
    for b in range(5):
        padded = torch.zeros(3, 10, 10)
        padded[:, 2:8, 2:8] = x[b]
        crop = padded[:, int(top[b]):int(top[b]) + 6, int(left[b]):int(left[b]) + 6]
        torch.testing.assert_close(out[b], crop.flip(-1) if flip[b] else crop)
    assert flip.any() and not flip.all()  # both branches exercised with this seed


def test_per_pixel_mean_is_the_mean_image():
    images = torch.randint(0, 256, (7, 3, 4, 4), dtype=torch.uint8)
    torch.testing.assert_close(per_pixel_mean(images), sum(images[i].float() for i in range(7)) / 7)


def test_error_percent():
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert float(error_percent(logits, torch.tensor([1, 1, 0, 1]))) == 50.0


def test_step_schedule_divides_by_ten_at_32k_and_48k_with_optional_warmup():
    factors = [step_lr_factor(i, [32000, 48000]) for i in (0, 31999, 32000, 47999, 48000, 63999)]
    assert factors == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    assert step_lr_factor(399, [32000, 48000], 400, 0.1) == pytest.approx(0.1)  # ResNet-110: lr 0.01
    assert step_lr_factor(400, [32000, 48000], 400, 0.1) == 1.0


@pytest.mark.parametrize(("depth", "millions"), [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)])
def test_parameter_counts_match_table_6(depth, millions):
    model = CifarResNet(depth)
    count = sum(p.numel() for p in model.parameters())
    assert round(count / 1e6, 2 if depth < 110 else 1) == millions
    weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == depth  # 6n + 2 weighted layers; option A adds none


def test_resnet20_shapes_and_stage_sizes():
    model = CifarResNet(20).eval()
    sizes = []
    hooks = [b.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:]))) for b in model.blocks]
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    for h in hooks:
        h.remove()
    assert sizes == [(16, 32, 32)] * 3 + [(32, 16, 16)] * 3 + [(64, 8, 8)] * 3
    with pytest.raises(ConfigError, match="6n"):
        CifarResNet(21)


# ---------------------------------------------------------------- the CIFAR-10 python batches


def write_batch(path, n: int, seed: int, protocol: int = 2) -> tuple[np.ndarray, list[int]]:
    """A batch in the CIFAR-10 python format: dict of bytes keys, uint8 N×3072, list of labels."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    batch = {b"batch_label": b"testing batch", b"labels": labels, b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    return data, labels


def write_cifar_folder(folder, n: int = 6):
    folder.mkdir(parents=True, exist_ok=True)
    written = {name: write_batch(folder / name, n, seed) for seed, name in enumerate([*TRAIN_FILES, TEST_FILE])}
    return written


@pytest.mark.parametrize("protocol", [2, 5])
def test_load_batch_reads_the_format_and_keeps_the_channel_planes(tmp_path, protocol):
    data, labels = write_batch(tmp_path / "data_batch_1", 4, seed=0, protocol=protocol)
    images, read_labels = load_batch(tmp_path / "data_batch_1")
    assert images.shape == (4, 3, 32, 32) and images.dtype == np.uint8
    assert read_labels.tolist() == labels
    assert images[2, 1, 0, 5] == data[2, 1024 + 5]  # green plane, row 0, column 5
    assert images[3, 2, 31, 31] == data[3, 3071]


def test_load_cifar10_finds_the_batches_in_root_or_its_subfolder(tmp_path):
    written = write_cifar_folder(tmp_path / FOLDER)
    x, y, x_test, y_test = load_cifar10(tmp_path)
    assert x.shape == (30, 3, 32, 32) and x_test.shape == (6, 3, 32, 32)
    assert y.tolist() == sum((written[n][1] for n in TRAIN_FILES), [])
    assert load_cifar10(tmp_path / FOLDER)[3].tolist() == written[TEST_FILE][1]


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Exploit(), b"labels": [0]}))
    with pytest.raises(UserError, match="refusing to load (posix|os).system"):
        load_batch(path)


def test_missing_root_says_where_to_get_cifar(tmp_path):
    with pytest.raises(UserError, match="data.root is not set.*cifar-10-python.tar.gz"):
        load_cifar10(None)
    with pytest.raises(UserError, match=r"missing data_batch_1.*data.root="):
        load_cifar10(tmp_path)


def make_archive(tmp_path) -> tuple[str, str]:
    source = tmp_path / "source"
    write_cifar_folder(source / FOLDER)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source / FOLDER, arcname=FOLDER)
    return archive.as_uri(), hashlib.md5(archive.read_bytes()).hexdigest()


def test_download_checks_md5_and_extracts(tmp_path):
    url, md5 = make_archive(tmp_path)
    root = tmp_path / "data"
    with pytest.raises(UserError, match="MD5"):
        download_cifar10(root, url=url, md5="0" * 32)
    assert not (root / FOLDER).exists()
    download_cifar10(root, url=url, md5=md5)
    assert load_cifar10(root)[0].shape == (30, 3, 32, 32)


@pytest.mark.network
def test_download_the_real_cifar10(tmp_path):
    x, y, x_test, y_test = load_cifar10(tmp_path, download=True)
    assert x.shape == (50000, 3, 32, 32) and x_test.shape == (10000, 3, 32, 32)
    assert np.bincount(y).tolist() == [5000] * 10
