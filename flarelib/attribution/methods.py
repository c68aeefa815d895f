"""What the CNN looks at (Sections 3.5 and 4.4): captum attribution on synthetic bipoles and on
evolving regions, explained by CNNs that never saw them.

Attributions are of the probability of the positive class (the CNN's logits through a softmax), so
Integrated Gradients' completeness reads: the map sums to P(x) - P(baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import ndimage
from torch import nn

from flarelib.world.bipoles import SIZE_FACTOR, bmr_field
from flarelib.images import resize

ATTRIBUTION_METHODS = ("Deconvolution", "GuidedBackprop", "IntegratedGradients", "DeepLift", "GradCAM")


OUTPUTS = ("logit", "probability")  # what attribution explains: the authors' code explains the logit


class PositiveClass(nn.Module):
    """The CNN's positive class (an M1.0+ flare), for attribution: its logit, as the study authors'
    code attributes it, or its probability (which completeness relates to a change of forecast)."""

    def __init__(self, model: nn.Module, output: str = "logit"):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, not {output!r}")
        self.model, self.output = model.eval(), output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return logits[:, 1:2] if self.output == "logit" else torch.softmax(logits, dim=1)[:, 1:2]


def conv_layer(model: nn.Module, index: int = -1) -> nn.Module:
    """A convolution of the CNN by position: -1 the last, 3 the fourth (Figure 14's Grad-CAM layer)."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)][index]


def attribute(model: nn.Module, images: np.ndarray, method: str, baseline: np.ndarray | None = None,
              layer: nn.Module | None = None, steps: int = 64, output: str = "logit") -> np.ndarray:
    """Attribution maps of the positive class, one per image, at the input's size.

    Grad-CAM is computed on `layer` (default: the last convolution; the study's Figure 14 uses the
    fourth, `conv_layer(model, 3)`), kept non-negative and upsampled bilinearly to the input size by
    captum.

    Parameters
    ----------
    model : the trained CNN.
    images : standardized inputs, shape (n, size, size).
    method : one of `ATTRIBUTION_METHODS`.
    baseline : the reference input of Integrated Gradients and DeepLIFT (default: zeros).
    layer : Grad-CAM's layer (default: the last convolution).
    steps : Integrated Gradients' quadrature steps.
    output : "logit" (the authors') or "probability" (Integrated Gradients then sums to the change
        of probability).
    """
    import warnings

    from tqdm import TqdmWarning

    warnings.filterwarnings("ignore", category=TqdmWarning)  # captum imports tqdm.auto, which warns without ipywidgets
    from captum.attr import Deconvolution, DeepLift, GuidedBackprop, IntegratedGradients, LayerAttribution, LayerGradCam

    wrapped = PositiveClass(model, output)
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).unsqueeze(1)  # (n, 1, size, size)
    warnings.filterwarnings("ignore", module="captum")  # notes on hooks and gradient flags, not about results
    base = torch.zeros_like(x)
    if baseline is not None:  # one baseline image for all, or one per image
        base = torch.as_tensor(np.asarray(baseline, dtype=np.float32)).reshape(-1, 1, *x.shape[-2:]).expand_as(x).contiguous()
    if method == "IntegratedGradients":
        out = IntegratedGradients(wrapped).attribute(x, baselines=base, target=0, n_steps=steps)
    elif method == "DeepLift":
        out = DeepLift(wrapped).attribute(x, baselines=base, target=0)
    elif method == "GuidedBackprop":
        out = GuidedBackprop(wrapped).attribute(x, target=0)
    elif method == "Deconvolution":
        out = Deconvolution(wrapped).attribute(x, target=0)
    elif method == "GradCAM":
        cam = LayerGradCam(wrapped, layer or conv_layer(model)).attribute(x, target=0, relu_attributions=True)
        out = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    else:
        raise ValueError(f"unknown attribution method {method!r}; expected one of {ATTRIBUTION_METHODS}")
    return out.detach()[:, 0].numpy()


GRADCAM_MIN_SIDE = 8  # a Grad-CAM layer must map at least this many pixels a side to show where in a region


def gradcam_layers(model: nn.Module, images: np.ndarray) -> pd.DataFrame:
    """Grad-CAM at every convolution of the CNN, measured on `images`: the side of the layer's map (its
    resolution before captum upsamples it), the mean Pearson correlation between the maps of different
    images (near 1: the same blob whatever the input, so no spatial information), and the share of maps
    that are zero everywhere (the ReLU kept nothing)."""
    from captum.attr import LayerGradCam

    wrapped = PositiveClass(model, "logit")
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).unsqueeze(1)
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    rows = []
    for index, layer in enumerate(convolutions):
        cam = LayerGradCam(wrapped, layer).attribute(x, target=0, relu_attributions=True).detach()[:, 0].numpy()
        flat = cam.reshape(len(cam), -1)
        live = flat[flat.std(axis=1) > 0]
        similarity = float(np.nanmean(np.corrcoef(live)[~np.eye(len(live), dtype=bool)])) if len(live) > 1 else float("nan")
        rows.append({"layer": f"conv {index + 1}", "index": index, "map side (px)": int(cam.shape[-1]),
                     "maps alike (mean r)": similarity, "empty maps": float(1 - len(live) / len(flat))})
    return pd.DataFrame(rows)


def detailed_layer(layers: pd.DataFrame, min_side: int = GRADCAM_MIN_SIDE) -> int | None:
    """The deepest convolution whose Grad-CAM maps have spatial detail (`gradcam_layers`): at least
    `min_side` pixels a side and not all empty; None when no layer has."""
    fine = layers[(layers["map side (px)"] >= min_side) & (layers["empty maps"] < 1.0)]
    return int(fine["index"].iloc[-1]) if len(fine) else None


def probability(model: nn.Module, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return PositiveClass(model, "probability")(torch.as_tensor(np.asarray(images, np.float32)).unsqueeze(1))[:, 0].numpy()


def time_path_ig(model: nn.Module, frames: np.ndarray, steps_between: int = 16) -> tuple[np.ndarray, float]:
    """Integrated Gradients along the observed path of a sequence (the study's proposal): the gradient
    integrated frame to frame, with straight segments between consecutive frames. Sums to
    P(last) - P(first) up to the quadrature error, which is returned."""
    wrapped = PositiveClass(model, "probability")
    frames = torch.as_tensor(np.asarray(frames, np.float32)).unsqueeze(1)
    total = torch.zeros_like(frames[0])
    for start, end in zip(frames[:-1], frames[1:]):
        fractions = (torch.arange(steps_between, dtype=torch.float32) + 0.5) / steps_between  # midpoint rule
        points = (start + fractions[:, None, None, None] * (end - start)).requires_grad_(True)
        grad, = torch.autograd.grad(wrapped(points).sum(), points)
        total += grad.mean(0) * (end - start)
    attribution = total[0].detach().numpy()
    with torch.no_grad():
        change = float(wrapped(frames[-1:]) - wrapped(frames[:1]))
    return attribution, float(attribution.sum() - change)


def upsample(attribution: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """An attribution map at the magnetogram's native size (2nd-order spline, as the study)."""
    factors = (shape[0] / attribution.shape[0], shape[1] / attribution.shape[1])
    return ndimage.zoom(attribution, factors, order=2)[: shape[0], : shape[1]]


def smooth(attribution: np.ndarray, sigma: float = 3.0) -> np.ndarray:
    return ndimage.gaussian_filter(attribution, sigma)


# --- Synthetic bipoles at the CNN's input geometry (Figure 12) ---------------------------------------

@dataclass(frozen=True)
class BipoleGrid:
    b0: tuple[float, ...] = (2500.0, 5000.0, 10000.0)
    rho_deg: tuple[float, ...] = (2.0, 4.0, 6.0)
    tilt_deg: tuple[float, ...] = (0.0, 30.0, 60.0)


def render_bipole(b0: float, rho_deg: float, tilt_deg: float, size: int, cdelt_deg: float = 0.12,
                  half_deg: float | None = None) -> np.ndarray:
    """A Yeates (2020) BMR on an MDI-like CEA patch, resized to the CNN's input.

    Parameters
    ----------
    b0 : the bipole's amplitude (G).
    rho_deg, tilt_deg : the half-separation and tilt (degrees).
    size : the CNN's input size.
    cdelt_deg : the patch's pixel (degrees; MDI's 0.12 by default).
    half_deg : the patch's half-width (degrees); by default three bipole sizes and a degree, so
        that every bipole fills its patch alike. A grid passes one field of view for all, so that
        the separation shows in the image as it does in the world's records.
    """
    half = 3.0 * SIZE_FACTOR * rho_deg + 1.0 if half_deg is None else half_deg
    axis = np.deg2rad(np.linspace(-half, half, int(round(2 * half / cdelt_deg)) + 1))  # symmetric about the centre
    field = bmr_field(axis[None, :], axis[:, None], b0, np.deg2rad(rho_deg), np.deg2rad(tilt_deg))
    return resize(field, size)


def bipole_table(grid: BipoleGrid, size: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Every bipole of the grid on one field of view: the largest bipole's box, with the margin of
    the synthetic world's tracked boxes (`WorldSettings.box_margin_deg`)."""
    from flarelib.world.settings import WorldSettings

    half = 2.0 * SIZE_FACTOR * max(grid.rho_deg) + WorldSettings().box_margin_deg
    rows, images = [], []
    for b0 in grid.b0:
        for rho in grid.rho_deg:
            for tilt in grid.tilt_deg:
                rows.append({"B0": b0, "rho_deg": rho, "tilt_deg": tilt})
                images.append(render_bipole(b0, rho, tilt, size, half_deg=half))
    return pd.DataFrame(rows), np.stack(images)


def grid_trends(grid: pd.DataFrame) -> pd.DataFrame:
    """How the CNN's probability over the bipole grid moves with amplitude and with separation: the
    mean probability at each value of one, averaged over the others, and Spearman's rank correlation
    of the probability with each (scipy.stats.spearmanr; positive: rises with it)."""
    from scipy import stats

    rows = []
    for column, name in (("B0", "amplitude B0 (G)"), ("rho_deg", "half-separation (deg)")):
        means = grid.groupby(column).probability.mean()
        rows.append({"parameter": name, "values": ", ".join(f"{v:g}" for v in means.index),
                     "mean probability": ", ".join(f"{p:.2f}" for p in means),
                     "Spearman": float(stats.spearmanr(grid[column], grid.probability).statistic)})
    return pd.DataFrame(rows)


# --- Where attribution falls --------------------------------------------------------------------------

def near_inversion_lines(magnetogram: np.ndarray, size: int, cdelt_deg: float, width_px: int = 2) -> np.ndarray:
    """Pixels of the CNN's input within `width_px` of a strong-field polarity inversion line of the
    native magnetogram (Schrijver's mask, at MDI resolution, mapped to the input grid)."""
    from flarelib.keywords import MDI_PIXEL_DEG, inversion_line_mask, sample

    factor = max(1, int(round(MDI_PIXEL_DEG / cdelt_deg)))
    mask = inversion_line_mask(sample(np.nan_to_num(magnetogram), factor))
    resized = resize(mask.astype(np.float32), size) > 0.25
    return ndimage.binary_dilation(resized, iterations=width_px) if resized.any() else resized


def positive_share_near_pil(attribution: np.ndarray, pil: np.ndarray) -> tuple[float, float]:
    """Share of the positive attribution that falls near inversion lines, and the share of pixels there."""
    positive = np.clip(attribution, 0, None)
    total = positive.sum()
    return (float(positive[pil].sum() / total) if total > 0 else float("nan")), float(pil.mean())
