"""The CNN's input resize against the study authors' transform (bilinear `grid_sample` on a grid
from -1 to 1 with align_corners=True, `arnet/transforms.py` of their repository) and by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from flarelib.images import cnn_input, resize


def _authors_resize(field: np.ndarray, size: int) -> np.ndarray:
    """The authors' `Resize` of one frame: a (size, size) grid of linspace(-1, 1) sampled bilinearly."""
    line = torch.linspace(-1, 1, size)
    y, x = torch.meshgrid(line, line, indexing="ij")
    grid = torch.stack((x, y), dim=-1)[None]
    image = torch.as_tensor(field, dtype=torch.float32)[None, None]
    return F.grid_sample(image, grid, mode="bilinear", align_corners=True)[0, 0].numpy()


@pytest.mark.parametrize("shape", [(45, 97), (61, 40), (20, 13), (32, 32)])
def test_the_resize_is_the_study_authors_grid_sample(shape):
    field = np.random.default_rng(sum(shape)).normal(0, 300, shape).astype(np.float32)
    np.testing.assert_allclose(resize(field, 32), _authors_resize(field, 32), rtol=0, atol=0.05)  # G: the grid's float32 positions; fields of 300 G


def test_the_resize_keeps_corners_and_samples_the_input_grid_by_hand():
    field = np.arange(5 * 9, dtype=np.float32).reshape(5, 9)  # linear in both axes: bilinear is exact
    out = resize(field, 3)
    assert out[0, 0] == field[0, 0] and out[-1, -1] == field[-1, -1] and out[0, -1] == field[0, -1]
    assert out[1, 1] == pytest.approx(field[2, 4])  # the centre of 3 samples the input's centre
    assert cnn_input(np.ones((8, 8), np.float32), "SHARP", 4).shape == (4, 4)  # HMI subsampled 4x, then resized
