"""Attribution: Integrated Gradients completeness (straight and time path), Grad-CAM shape and sign,
every captum method on the CNN, upsampling, bipole rendering, inversion-line shares, sequence choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from flarelib.training import region_folds
from flarelib.attribution import methods as attribution, sequences as explain
from flarelib.models import CNNLi2020


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    model = CNNLi2020(32)
    # push the batch-norm statistics away from their defaults so the probability varies with the input
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(64, 1, 32, 32) * 2)
    return model.eval()


def images(n: int, seed: int, scale: float = 5.0) -> np.ndarray:
    """Inputs strong enough to move the probability by about 0.01-0.05 (float32 round-off is ~1e-5)."""
    return (np.random.default_rng(seed).normal(0, 1, (n, 32, 32)) * scale).astype(np.float32)


def test_integrated_gradients_is_complete(cnn):
    x, baseline = images(3, 0), images(1, 1, scale=1.0)[0]
    maps = attribution.attribute(cnn, x, "IntegratedGradients", baseline=baseline, steps=256, output="probability")
    change = attribution.probability(cnn, x) - attribution.probability(cnn, np.repeat(baseline[None], 3, 0))
    assert np.abs(change).min() > 5e-3  # a change worth explaining
    assert np.allclose(maps.sum(axis=(1, 2)), change, rtol=0.02, atol=1e-4)


def test_time_path_integrated_gradients_is_complete_on_a_smooth_sequence(cnn):
    start, end = images(2, 2)
    frames = np.stack([start + (end - start) * s for s in np.linspace(0, 1, 6)])
    path_map, error = attribution.time_path_ig(cnn, frames, steps_between=32)
    change = float(np.diff(attribution.probability(cnn, frames[[0, -1]]))[0])
    assert path_map.shape == (32, 32)
    assert abs(change) > 1e-3 and abs(error) <= 0.02 * abs(change) + 1e-4
    straight = attribution.attribute(cnn, frames[-1:], "IntegratedGradients", baseline=frames[0], steps=256,
                                     output="probability")[0]
    assert np.allclose(path_map, straight, atol=0.05 * np.abs(straight).max())  # a straight path is the straight IG


def test_the_logit_is_attributed_by_default_and_integrated_gradients_sums_to_its_change(cnn):
    x, baseline = images(2, 5), images(1, 6, scale=1.0)[0]
    maps = attribution.attribute(cnn, x, "IntegratedGradients", baseline=baseline, steps=256)
    with torch.no_grad():
        logit = lambda a: cnn(torch.as_tensor(a).unsqueeze(1))[:, 1].numpy()
        change = logit(x) - logit(np.repeat(baseline[None], 2, 0))
    assert np.allclose(maps.sum(axis=(1, 2)), change, rtol=0.02, atol=1e-3)
    probability_change = attribution.probability(cnn, x) - attribution.probability(cnn, np.repeat(baseline[None], 2, 0))
    assert not np.allclose(change, probability_change, rtol=0.05)  # the two targets differ
    assert attribution.conv_layer(cnn, 3) is [m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)][3]


def test_gradcam_is_nonnegative_at_the_input_size(cnn):
    maps = attribution.attribute(cnn, images(2, 3), "GradCAM")
    assert maps.shape == (2, 32, 32) and (maps >= 0).all()
    layer = [m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)][1]
    assert attribution.attribute(cnn, images(1, 3), "GradCAM", layer=layer).shape == (1, 32, 32)


@pytest.mark.parametrize("method", attribution.ATTRIBUTION_METHODS)
def test_every_method_gives_a_finite_map_per_image(cnn, method):
    maps = attribution.attribute(cnn, images(2, 4), method)
    assert maps.shape == (2, 32, 32) and np.isfinite(maps).all() and np.abs(maps).sum() > 0
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribution.attribute(cnn, images(1, 4), "Saliency")


def test_upsampling_to_the_native_resolution():
    small = np.zeros((32, 32))
    small[10:20, 5:12] = 1.0
    big = attribution.upsample(small, (141, 242))
    assert big.shape == (141, 242)
    assert big[int(15 * 141 / 32), int(8 * 242 / 32)] == pytest.approx(1.0, abs=0.05)


def test_bipole_rendering_is_antisymmetric_without_tilt():
    image = attribution.render_bipole(5000, 4, 0, 32)
    assert image.shape == (32, 32)
    assert np.allclose(image, -image[:, ::-1], atol=1e-3 * np.abs(image).max())
    table, stack = attribution.bipole_table(attribution.BipoleGrid(), 32)
    assert len(table) == 27 and stack.shape == (27, 32, 32)


def test_share_of_positive_attribution_near_an_inversion_line():
    field = np.where(np.arange(160)[None, :] < 80, 500.0, -500.0) * np.ones((120, 1))  # HMI-size straight bipole
    pil = attribution.near_inversion_lines(field, 32, 0.03)
    assert pil[:, 14:18].all() and not pil[:, :10].any()
    concentrated = np.where(pil, 1.0, 0.0)
    share, area = attribution.positive_share_near_pil(concentrated, pil)
    assert share == 1.0 and 0 < area < 0.5
    assert attribution.positive_share_near_pil(-concentrated, pil)[0] != attribution.positive_share_near_pil(-concentrated, pil)[0]


def test_quiet_to_imminent_sequences_and_folds():
    t0 = pd.Timestamp("2012-01-01")
    ends = t0 + pd.to_timedelta(np.arange(60) * 96, unit="min")
    labels = [False] * 40 + [pd.NA] * 5 + [True] * 15
    windows = pd.DataFrame({"SERIES": "SHARP", "ARPNUM": 7, "end": ends, "label": pd.array(labels, dtype="boolean")})
    other = windows.assign(ARPNUM=8, label=pd.array([False] * 60, dtype="boolean"))
    chosen = explain.quiet_to_imminent(pd.concat([windows, other]), n=2)
    assert chosen.ARPNUM.tolist() == [7]
    assert chosen.imminent_end[0] == ends[45]
    assert chosen.quiet_end[0] == ends[45] - pd.Timedelta(hours=48)  # the earliest quiet end within 48 h
    folds = region_folds(np.arange(1, 101), 5, seed=0)
    assert sorted(pd.Series(folds).value_counts().tolist()) == [20] * 5
    assert folds == region_folds(np.arange(1, 101), 5, seed=0)


def test_grid_trends_read_the_probabilitys_direction_with_amplitude_and_separation():
    import pandas as pd

    grid = pd.DataFrame([{"B0": b, "rho_deg": r, "tilt_deg": 0.0, "probability": b / 1e4 - r / 10}
                         for b in (2500.0, 5000.0, 10000.0) for r in (2.0, 4.0, 6.0)])
    trends = attribution.grid_trends(grid).set_index("parameter")
    assert trends.Spearman.iloc[0] > 0.5 and trends.Spearman.iloc[1] < 0
    assert trends["mean probability"].iloc[1] == "0.38, 0.18, -0.02"


def test_the_inversion_line_ratio_stands_beside_its_abs_b_control():
    import pandas as pd

    from flarelib.attribution.methods import positive_share_near_pil
    from flarelib.attribution.sequences import limb_or_disk

    # A field whose strong pixels sit on the inversion line: |B| alone puts most of its weight there.
    field = np.zeros((8, 8))
    field[:, 3], field[:, 4] = 500.0, -500.0
    pil = np.zeros((8, 8), dtype=bool)
    pil[:, 3:5] = True
    control, area = positive_share_near_pil(np.abs(field), pil)
    assert (control, area) == (1.0, 0.25)
    uniform, _ = positive_share_near_pil(np.ones((8, 8)), pil)  # a map that looks everywhere: its share is the area
    assert uniform == 0.25
    table = limb_or_disk(pd.DataFrame({"HARP": 1, "T_REC": 0, "CMD": [10.0, 60.0], "share near PIL": [0.75, 0.5],
                                       "|B| share near PIL": [1.0, 0.25], "pixel share": [0.25, 0.25]}))
    assert table.ratio.tolist() == [3.0, 2.0] and table["|B| ratio"].tolist() == [4.0, 1.0]
    assert table["ratio - |B| ratio"].tolist() == [-1.0, 1.0]  # the first map follows |B| less than |B| does
    assert table["where"].tolist() == ["disk (|CMD| <= 45)", "limb (|CMD| > 45)"]


def test_gradcam_layers_measure_each_maps_side_and_pick_the_deepest_with_detail(cnn):
    layers = attribution.gradcam_layers(cnn, images(6, 3))
    assert layers["map side (px)"].tolist() == [32, 16, 8, 4, 2]  # five 2x2 poolings after the convolutions
    assert layers["maps alike (mean r)"].between(-1, 1).all() and layers["empty maps"].between(0, 1).all()
    assert attribution.detailed_layer(layers) == 2  # conv 3: the deepest with 8 pixels a side
    assert attribution.detailed_layer(layers, min_side=64) is None
    empty = layers.assign(**{"empty maps": [0.0, 0.0, 1.0, 0.0, 0.0]})
    assert attribution.detailed_layer(empty) == 1  # a layer whose maps are all empty has no detail


def test_regions_are_explained_only_where_the_forecast_rose_by_the_stated_threshold():
    candidates = pd.DataFrame({"ARPNUM": [3, 5, 9, 11], "quiet_end": pd.Timestamp("2012-01-01"),
                               "imminent_end": pd.Timestamp("2012-01-02"), "positives": [9, 7, 5, 2]})
    rises = pd.DataFrame({"ARPNUM": [3, 5, 9, 11], "fold": 0, "positives": [9, 7, 5, 2],
                          "forecast when quiet": [0.5, 0.1, 0.2, 0.3], "forecast when imminent": [0.52, 0.6, 0.5, 0.1]})
    rises["rise"] = rises["forecast when imminent"] - rises["forecast when quiet"]
    chosen = explain.rising(candidates, rises, n=2, min_rise=0.1)
    assert chosen.ARPNUM.tolist() == [5, 9]  # the largest rises first; region 3 rose 0.02 and region 11 fell
    assert explain.rising(candidates, rises, n=2, min_rise=0.6).empty
    assert list(chosen.columns) == list(candidates.columns)
