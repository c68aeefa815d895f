"""MDI and HMI on one scale (Section 2.2, Figures 1 and 2 of the study).

Co-temporal TARP/HARP pairs of the overlap period are sampled every 8 hours; the pixels inside the
intersection of the two bounding boxes and within +-70 degrees of central meridian are compared,
HMI subsampled 4x in both dimensions. Their Q-Q relation gives a multiplicative factor (the study:
1.099; Liu et al. 2012: 1.40), with an uncertainty by bootstrap over pairs. Each SMARP keyword is
regressed on its SHARP counterpart (the study: USFLUXL r = 0.970, MEANGBL r = 0.796).

The study's fusion questioned: Liu et al. (2012) made an MDI-like magnetogram from HMI by convolving
it with a Gaussian of FWHM 4.7 HMI pixels (a kernel truncated at 15 pixels) and averaging each 4 x 4
block into one MDI pixel (`mdi_proxy`, with scikit-image). `matched_pixels` and `qq_study` take
either fusion (`FUSIONS`), so the Q-Q factor and the CNN's inputs can be set side by side.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm
import numpy as np
import pandas as pd
from scipy import stats

from flarelib.plots.layout import SMALLEST_PT, WIDTH, caption_title, panel_grid
from flarelib.schema import SUBSAMPLE, subsample
from flarelib.sources.overview import co_temporal_pairs
from flarelib.schema import KEYWORDS
from flarelib.study.published import FIGURE2_R, FIGURE2_TOLERANCE

QUANTILES = np.linspace(0.005, 0.995, 199)
PROXY_FWHM_PX, PROXY_KERNEL_PX = 4.7, 15  # Liu et al. (2012): HMI pixels
FUSIONS = ("subsample", "proxy")  # the study's 4x subsampling; Liu et al.'s smoothed block average


def mdi_proxy(field: np.ndarray, factor: int = 4) -> np.ndarray:
    """Liu et al. (2012)'s MDI proxy of an HMI magnetogram: a Gaussian blur of FWHM 4.7 HMI pixels
    (kernel truncated at 15 pixels) then the mean of each `factor` x `factor` block (the image cropped
    to whole blocks). NaN pixels are left out of both steps (normalised convolution) and stay NaN
    where a whole block is NaN."""
    from skimage import filters, measure

    field = np.asarray(field, dtype=float)
    rows, cols = (field.shape[0] // factor) * factor, (field.shape[1] // factor) * factor
    field = field[:rows, :cols]
    good = np.isfinite(field)
    sigma = PROXY_FWHM_PX / (2 * np.sqrt(2 * np.log(2)))
    blur = dict(sigma=sigma, truncate=(PROXY_KERNEL_PX // 2) / sigma, mode="nearest", preserve_range=True)
    weight = filters.gaussian(good.astype(float), **blur)
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = filters.gaussian(np.where(good, field, 0.0), **blur) / weight
    smooth[~good] = np.nan
    with warnings.catch_warnings():  # a block with no good pixel is NaN, as it should be, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        return measure.block_reduce(smooth, (factor, factor), np.nanmean)


def to_mdi_grid(field: np.ndarray, series: str, fusion: str = "subsample") -> np.ndarray:
    """A series' magnetogram on MDI's pixel grid, by the study's subsampling or Liu et al.'s proxy."""
    if fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {fusion!r}; expected one of {FUSIONS}")
    factor = SUBSAMPLE[series]
    if fusion == "proxy" and factor > 1:
        return mdi_proxy(field, factor)
    return subsample(field, factor)


def co_temporal_records(kept: pd.DataFrame, every: pd.Timedelta | None = pd.Timedelta(hours=8)) -> pd.DataFrame:
    """(ARPNUM_SMARP, ARPNUM_SHARP, T_REC) of every pair's shared records, thinned to one per `every`."""
    rows = []
    for pair in co_temporal_pairs(kept).itertuples():
        shared = np.intersect1d(kept[(kept.SERIES == "SMARP") & (kept.ARPNUM == pair.ARPNUM_SMARP)].T_REC.to_numpy(),
                                kept[(kept.SERIES == "SHARP") & (kept.ARPNUM == pair.ARPNUM_SHARP)].T_REC.to_numpy())
        times = pd.DatetimeIndex(shared)
        if every is not None and len(times):
            bucket = ((times - times[0]) / every).astype(int)
            times = times[~pd.Index(bucket).duplicated()]
        rows += [(pair.ARPNUM_SMARP, pair.ARPNUM_SHARP, t) for t in times]
    return pd.DataFrame(rows, columns=["ARPNUM_SMARP", "ARPNUM_SHARP", "T_REC"])


def matched_pixels(store, smarp: int, sharp: int, t_rec: pd.Timestamp, limit_deg: float = 70.0,
                   fusion: str = "subsample") -> dict[str, np.ndarray]:
    """MDI pixels and HMI's on MDI's grid (4x-subsampled, or Liu et al.'s proxy) inside both bounding
    boxes and within +-limit degrees.

    Parameters
    ----------
    store : the run's store.
    smarp, sharp : the TARP and HARP numbers of one region.
    t_rec : the co-temporal record time.
    limit_deg : pixels further from central meridian are left out.
    fusion : "subsample" (the study's) or "proxy" (Liu et al. 2012's).
    """
    out = {}
    grids = {}
    for series, arpnum in (("SMARP", smarp), ("SHARP", sharp)):
        field, _ = store.magnetogram(series, arpnum, t_rec)
        lon, lat = store.pixel_grid(series, arpnum, t_rec, field.shape)
        factor = SUBSAMPLE[series]
        on_grid = to_mdi_grid(field, series, fusion)
        grids[series] = (on_grid, *_grid_centres(lon, lat, on_grid.shape, factor, fusion))
    lon_lo = max(g[1].min() for g in grids.values())
    lon_hi = min(g[1].max() for g in grids.values())
    lat_lo = max(g[2].min() for g in grids.values())
    lat_hi = min(g[2].max() for g in grids.values())
    for series, (field, lon, lat) in grids.items():
        inside = ((lon >= lon_lo) & (lon <= lon_hi) & (np.abs(lon) <= limit_deg))[None, :] & ((lat >= lat_lo) & (lat <= lat_hi))[:, None]
        inside &= np.isfinite(field)
        out[series] = field[inside]
        out[f"{series}_lat"] = np.broadcast_to(lat[:, None], field.shape)[inside]
    return out


def _grid_centres(lon: np.ndarray, lat: np.ndarray, shape: tuple[int, int], factor: int, fusion: str):
    """The longitudes and latitudes of a field put on MDI's grid: every `factor`-th pixel's, or each
    block's centre for the proxy."""
    if fusion == "proxy" and factor > 1:
        return (lon[: shape[1] * factor].reshape(-1, factor).mean(axis=1),
                lat[: shape[0] * factor].reshape(-1, factor).mean(axis=1))
    return lon[::factor][: shape[1]], lat[::factor][: shape[0]]


@dataclass(frozen=True)
class QQResult:
    pairs: pd.DataFrame  # one row per pair: arpnums, mean |latitude|, pixel counts
    q_sharp: np.ndarray  # (pairs, quantiles) HMI quantiles
    q_smarp: np.ndarray  # (pairs, quantiles) MDI quantiles
    factor: float  # MDI = factor x HMI, least squares through the origin on all quantiles
    factor_std: float  # bootstrap over pairs
    factor_ci: tuple[float, float]  # 95% bootstrap interval


def through_origin(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum(x * y) / np.sum(x * x))


def qq_study(store, kept: pd.DataFrame, every: pd.Timedelta = pd.Timedelta(hours=8), quantiles: np.ndarray = QUANTILES,
             n_boot: int = 1000, seed: int = 0, fusion: str = "subsample") -> QQResult:
    """Quantiles of MDI and HMI pixels for every pair (all its 8-hourly samples pooled).

    Parameters
    ----------
    store : the run's store.
    kept : the records that passed the study's filters.
    every : the spacing of the co-temporal samples.
    quantiles : the quantile levels compared.
    n_boot, seed : bootstrap draws over pairs for the factor's uncertainty, and their seed.
    fusion : how HMI is put on MDI's grid ("subsample", the study's, or "proxy", Liu et al.'s).
    """
    samples = co_temporal_records(kept, every)
    if samples.empty:
        raise ValueError("no co-temporal SMARP/SHARP records: the fusion comparison needs the 2010 overlap")
    rows, q_sharp, q_smarp = [], [], []
    for (smarp, sharp), group in samples.groupby(["ARPNUM_SMARP", "ARPNUM_SHARP"]):
        pixels = [matched_pixels(store, smarp, sharp, t, fusion=fusion) for t in group.T_REC]
        mdi = np.concatenate([p["SMARP"] for p in pixels])
        hmi = np.concatenate([p["SHARP"] for p in pixels])
        if mdi.size < 50 or hmi.size < 50:
            continue
        lat = np.concatenate([p["SMARP_lat"] for p in pixels])
        rows.append({"ARPNUM_SMARP": smarp, "ARPNUM_SHARP": sharp, "samples": len(group), "latitude": float(np.mean(np.abs(lat))),
                     "pixels_SMARP": mdi.size, "pixels_SHARP": hmi.size})
        q_smarp.append(np.quantile(mdi, quantiles))
        q_sharp.append(np.quantile(hmi, quantiles))
    q_sharp, q_smarp = np.array(q_sharp), np.array(q_smarp)
    factor = through_origin(q_sharp.ravel(), q_smarp.ravel())
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(q_sharp), len(q_sharp))
        boot.append(through_origin(q_sharp[pick].ravel(), q_smarp[pick].ravel()))
    return QQResult(pd.DataFrame(rows), q_sharp, q_smarp, factor, float(np.std(boot)),
                    (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))))


def keyword_regression(kept: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each SMARP keyword regressed on its SHARP counterpart over all co-temporal records of the pairs.

    Returns the fit per keyword (slope, intercept, Pearson r, n) and the matched records."""
    times = co_temporal_records(kept, every=None)
    smarp = kept[kept.SERIES == "SMARP"].set_index(["ARPNUM", "T_REC"])[KEYWORDS]
    sharp = kept[kept.SERIES == "SHARP"].set_index(["ARPNUM", "T_REC"])[KEYWORDS]
    matched = pd.concat([
        sharp.loc[list(zip(times.ARPNUM_SHARP, times.T_REC))].reset_index(drop=True).add_suffix("_HMI"),
        smarp.loc[list(zip(times.ARPNUM_SMARP, times.T_REC))].reset_index(drop=True).add_suffix("_MDI"),
    ], axis=1)
    fits = []
    for key in KEYWORDS:
        pair = matched[[f"{key}_HMI", f"{key}_MDI"]].dropna()
        fit = stats.linregress(pair[f"{key}_HMI"], pair[f"{key}_MDI"])
        fits.append({"keyword": key, "slope": fit.slope, "intercept": fit.intercept, "r": fit.rvalue, "n": len(pair)})
    return pd.DataFrame(fits).set_index("keyword"), matched


def figure2_order(fits: pd.DataFrame) -> pd.DataFrame:
    """Each keyword's r (`keyword_regression`) beside what the study's Figure 2 shows: USFLUXL the most
    correlated (0.970), MEANGBL the least (0.796), R_VALUE and AREA between them. `as_study` when r lies
    within `FIGURE2_TOLERANCE` of the study's value, or of its range for the keywords between."""
    low, high = min(FIGURE2_R.values()), max(FIGURE2_R.values())
    bounds = {key: (FIGURE2_R.get(key, low), FIGURE2_R.get(key, high)) for key in KEYWORDS}
    table = pd.DataFrame(bounds, index=["study_low", "study_high"]).T.assign(r=fits["r"])
    table["as_study"] = (table.r >= table.study_low - FIGURE2_TOLERANCE) & (table.r <= table.study_high + FIGURE2_TOLERANCE)
    return table.rename_axis("keyword")


def figure2_sentence(order: pd.DataFrame, intervals: pd.DataFrame | None = None) -> str:
    """In words, how a run's Figure 2 stands beside the study's (`figure2_order`'s table): each keyword the
    run does not reproduce, with the study's value or range and, given `keyword_r_intervals`, the r's 95%
    interval over regions (whether another few dozen regions could have reproduced it)."""
    unlike = []
    for key, row in order[~order.as_study].iterrows():
        study = f"{row.study_low:.3f}" if row.study_low == row.study_high else f"between {row.study_low:.3f} and {row.study_high:.3f}"
        spread = "" if intervals is None else f" (95% interval over regions {intervals.at[key, 'low']:.3f}-{intervals.at[key, 'high']:.3f})"
        unlike.append(f"{key} r = {row.r:.3f}{spread} where the study's is {study}")
    if not unlike:
        return f"All four keywords' r lie within {FIGURE2_TOLERANCE} of the study's Figure 2 (its value, or its range between MEANGBL and USFLUXL)."
    return f"Not as the study's Figure 2 (within {FIGURE2_TOLERANCE}): " + "; ".join(unlike) + ". The others are."


def keyword_r_intervals(kept: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """95% intervals of each keyword's SMARP-SHARP Pearson r (`keyword_regression`) by a bootstrap over
    the co-temporal pairs: how far another few dozen regions could move Figure 2's r (its records are
    not independent draws, its regions are)."""
    times = co_temporal_records(kept, every=None)
    _, matched = keyword_regression(kept)
    pairs = times.ARPNUM_SMARP.to_numpy()
    rows_of = [np.flatnonzero(pairs == p) for p in np.unique(pairs)]
    rng, out = np.random.default_rng(seed), []
    picks = [np.concatenate([rows_of[i] for i in rng.integers(0, len(rows_of), len(rows_of))]) for _ in range(n_boot)]
    for key in KEYWORDS:
        x, y = matched[f"{key}_HMI"].to_numpy(dtype=float), matched[f"{key}_MDI"].to_numpy(dtype=float)
        both = np.isfinite(x) & np.isfinite(y)  # as keyword_regression drops a record missing either
        draws = [np.corrcoef(x[r[both[r]]], y[r[both[r]]])[0, 1] for r in picks]
        low, high = np.nanquantile(np.asarray(draws, dtype=float), [0.025, 0.975])
        out.append({"keyword": key, "low": float(low), "high": float(high), "pairs": len(rows_of)})
    return pd.DataFrame(out).set_index("keyword")


def plot_qq(result: QQResult, caption: str) -> plt.Figure:
    """Figure 1: the Q-Q curve of every pair, coloured by latitude, and the fitted factor."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    norm = plt.Normalize(result.pairs.latitude.min(), result.pairs.latitude.max())
    for qs, qm, lat in zip(result.q_sharp, result.q_smarp, result.pairs.latitude):
        ax.plot(qs, qm, "o", ms=3, alpha=0.7, color=plt.cm.viridis(norm(lat)), zorder=3)
    edge = float(np.max(np.abs([result.q_sharp, result.q_smarp])))
    line = np.array([-edge, edge])
    ax.plot(line, line, "k:", lw=1, label="identity")
    ax.plot(line, result.factor * line, "r--", lw=0.8, zorder=2,
            label=f"MDI = {result.factor:.3f} x HMI (+-{result.factor_std:.3f})")
    ax.set_xlabel("HMI pixel quantile (G), subsampled 4x")
    ax.set_ylabel("MDI pixel quantile (G)")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="mean |latitude| (deg)")
    ax.legend(frameon=False, loc="upper left")
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


def plot_keyword_regression(matched: pd.DataFrame, fits: pd.DataFrame, caption: str) -> plt.Figure:
    """Figure 2: 2D histograms of SMARP against SHARP keywords with the least-squares line."""
    fig, axes = panel_grid(len(KEYWORDS), panel=(4.0, 3.4))
    for ax, key in zip(axes, KEYWORDS):
        pair = matched[[f"{key}_HMI", f"{key}_MDI"]].dropna()
        ax.hist2d(pair.iloc[:, 0], pair.iloc[:, 1], bins=30, cmap="viridis", cmin=1, norm=LogNorm())
        fit = fits.loc[key]
        x = np.linspace(pair.iloc[:, 0].min(), pair.iloc[:, 0].max(), 2)
        ax.plot(x, fit.slope * x + fit.intercept, color="#ef8636")
        ax.set_xlabel(f"{key}_HMI")
        ax.set_ylabel(f"{key}_MDI")
        ax.set_title(f"k={fit.slope:.3g}, b={fit.intercept:.3g}, r={fit.r:.3f}")
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


def authors_fit(data_dir=None) -> pd.DataFrame:
    """The study authors' own SMARP-on-SHARP keyword fit (`sharp2smarp.npy` beside their window tables:
    a pickled dict keyword -> coef, intercept), under our keyword names."""
    from flarelib.sources import registry
    from flarelib.sources.window_tables import KEYWORD_MAP, TABLES_DIR

    path = registry.path(f"{TABLES_DIR}/sharp2smarp.npy", registry.data_dir(data_dir))
    fit = np.load(path, allow_pickle=True).item()  # the authors' file format; a public, read-only file
    rows = [{"keyword": KEYWORD_MAP[k], "slope": float(v["coef"]), "intercept": float(v["intercept"])} for k, v in fit.items()]
    return pd.DataFrame(rows).set_index("keyword")


def plot_keyword_marginals(kept: pd.DataFrame, caption: str) -> plt.Figure:
    """Each keyword's distribution per instrument, raw (log axis where positive) and Z-scored per
    instrument: why the study standardizes each instrument on its own. One row per keyword."""
    fig, axes = plt.subplots(len(KEYWORDS), 2, figsize=(WIDTH, 2.7 * len(KEYWORDS)), squeeze=False)
    for j, key in enumerate(KEYWORDS):
        for series, group in kept.groupby("SERIES"):
            values = group[key].dropna().to_numpy(dtype=float)
            positive = values[values > 0]
            axes[j, 0].hist(np.log10(positive), bins=50, histtype="step", density=True, label=series)
            axes[j, 1].hist((values - values.mean()) / values.std(), bins=50, histtype="step", density=True, label=series)
        axes[j, 0].set_xlabel(f"log10 {key}")
        axes[j, 1].set_xlabel(f"{key}, Z-score per instrument")
    axes[0, 0].legend(frameon=False)
    caption_title(fig, caption)
    fig.tight_layout()
    return fig


def plot_fusions(results: dict[str, QQResult], field: np.ndarray, size: int, caption: str) -> plt.Figure:
    """The two fusions compared: each one's median Q-Q curve over pairs with its factor (top), and one
    HMI magnetogram as the CNN sees it after each (below, side by side)."""
    from flarelib.images import resize

    names = list(results)
    fig = plt.figure(figsize=(WIDTH, 7.6), layout="constrained")
    mosaic = fig.subplot_mosaic([["curves"] * len(names), names])  # the curves above, one image per fusion below
    axes = [mosaic["curves"], *(mosaic[name] for name in names)]
    for (name, result), style in zip(results.items(), ("o-", "s--")):
        axes[0].plot(np.median(result.q_sharp, axis=0), np.median(result.q_smarp, axis=0), style, ms=2,
                     label=f"{name}: MDI = {result.factor:.3f} x HMI (+-{result.factor_std:.3f})")
    axes[0].axline((0, 0), slope=1, color="k", ls=":", lw=1, label="identity")
    axes[0].set_xlabel("HMI pixel quantile on MDI's grid (G), median over pairs")
    axes[0].set_ylabel("MDI pixel quantile (G)")
    axes[0].legend(frameon=False, fontsize=SMALLEST_PT)
    for ax, name in zip(axes[1:], results):
        ax.imshow(resize(np.nan_to_num(to_mdi_grid(field, "SHARP", name)), size), origin="lower", cmap="gray", vmin=-500, vmax=500)
        ax.set_title(f"CNN input ({size} px) by {name}")
        ax.set_xticks([]), ax.set_yticks([])
    caption_title(fig, caption)
    return fig
