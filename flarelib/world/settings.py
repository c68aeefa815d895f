"""The teaching world's size, seed and constants (`WorldSettings`), and what each instrument's optics and
detector do to the field (`Optics`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Optics:
    """An instrument's point-spread, noise and calibration in a world (`WorldSettings.optics`)."""

    psf_sigma_px: float  # Gaussian point-spread, sigma in the instrument's pixels
    noise_gauss: float
    gain: float  # calibration relative to the true field
    gain_scatter: float  # record-to-record calibration scatter (sd of ln gain)
    noise_scatter: float  # record-to-record scatter of the noise (sd of its ln): exposures averaged differ


@dataclass(frozen=True)
class WorldSettings:
    """The size and seed of a world, and its constants.

    The constants were fitted to the study authors' window tables (`flarelib.world.calibration`,
    the book's page "The synthetic world"): keyword distributions per instrument, event rates,
    and the share of regions that ever flare. Nothing here is tuned to make a conclusion of the
    study come out."""

    seed: int = 0
    regions_cycle23: int = 120
    regions_cycle24: int = 80
    overlap_regions: int = 10  # forced into May-October 2010, seen by both instruments
    # regions: a bipole's half-separation (deg) and amplitude (G), log-normal and correlated
    rho_median_deg: float = 2.05
    rho_sigma: float = 0.5  # of ln rho
    b0_median: float = 4800.0  # at the median separation
    b0_rho_power: float = 0.5  # bigger bipoles are stronger
    b0_sigma: float = 0.3  # of ln B0 at a given separation
    p_complex: float = 0.35  # a second bipole emerges into the region
    p_core: float = 0.25  # a compact sheared core emerges at the inversion line
    core_relaxes: bool = False  # the first M1.0+ flare spends the core (off: a region that forgets its activity
                                # at its first flare cannot have the Sun's persistence, Table 2)
    core_strength: tuple[float, float] = (0.6, 1.2)  # its amplitude relative to the main bipole's
    core_rho_deg: tuple[float, float] = (0.5, 0.9)  # its half-separation
    decay_days: tuple[float, float] = (5.0, 15.0)  # e-folding time of the decay, uniform in this range
    fade: float = 1.6  # a region ends this many decay times after its peak (at 20% of it)
    box_margin_deg: float = 3.0  # the tracked box around the flux
    # the instruments: MDI reads the field `mdi_gain` times as strong as HMI, the world's true factor, which chapter
    # 02 recovers (the study found 1.099 with its histograms, Liu et al. 2012 1.40 pixel to pixel); each record's
    # calibration and noise scatter around its instrument's, fitted to the study's Figure 2 (USFLUXL r = 0.970,
    # MEANGBL r = 0.796). HMI is the reference: its gain is 1.
    mdi_gain: float = 1.10
    mdi_psf_sigma_px: float = 1.0  # a FWHM of 2.4 pixels, about 5": MDI's resolution
    mdi_noise_gauss: float = 15.0  # the quiet Sun's sd in the real SMARP cutout of 2010-07-14 (15.2 G)
    mdi_gain_scatter: float = 0.15
    mdi_noise_scatter: float = 0.50
    hmi_psf_sigma_px: float = 0.9
    hmi_noise_gauss: float = 7.0
    hmi_gain_scatter: float = 0.05
    hmi_noise_scatter: float = 0.4
    # what the instruments see beyond the smooth bipoles: the Sun's fine structure, one for both (it sets the
    # weak field's gradients, MEANGBL's level), relative to the field and absolute (G), as each instrument sees it
    texture_mdi: float = 0.06  # fine structure relative to the field, at each instrument's pixel
    texture_hmi: float = 0.05
    texture_floor_mdi: float = 48.0  # fine structure of the weak field (G)
    texture_floor_hmi: float = 38.0
    texture_sigma_deg: float = 0.045  # the fine structure's correlation length: HMI resolves it, MDI samples it
    patch_threshold: float = 10.0  # the smoothed field that defines the tracked patch (G)
    hmi_patch_threshold: float = 5.0  # HMI's tracker, with a third of MDI's noise, follows weaker field
    patch_scatter: float = 0.6  # record-to-record scatter of the tracker's threshold (sd of its ln)
    patch_dilation: int = 9  # MDI pixels of plage around it
    hmi_patch_dilation: int = 12  # HARPs take in more of the surrounding plage than TARPs (fitted to AREA)
    cycle23_strength: float = 0.969  # cycle 23's bipole amplitudes relative to cycle 24's (MDI sees them 1.1x)
    cycle23_size: float = 1.374  # and separations
    # flares: M1.0+ rate from the inversion-line gradient, the flux, emergence, a hidden shear and bursts
    flare_rate_m: float = 0.0025  # M1.0+ flares per day at the reference gradient and flux
    gradient_ref: float = 160000.0  # G per radian across the steepest inversion line (about 230 G/Mm)
    flux_ref: float = 1e22  # Mx
    gradient_power: float = 8.0
    flux_power: float = 0.0  # the flux adds nothing beyond the gradient (fitted to both instruments' event rates)
    emergence_gain: float = 1.5  # dex of rate per dex of flux growth over 24 h
    shear_sigma: float = 0.25  # dex: a region's hidden shear, seen by no keyword
    burst_sigma: float = 0.25  # dex: activity that comes and goes within a day
    burst_hours: float = 12.0  # the bursts' correlation time
    small_flare_rate: float = 0.15  # B- and C-class flares per day, from any region with flux
    cycle23_flare_rate: float = 0.35  # cycle 23's M1.0+ rate relative to cycle 24's at the same drivers (fitted
                                      # to the event rates: what the drivers miss of the difference between the cycles)
    max_rate_m: float = 0.25  # M1.0+ flares per day at most, from the drivers (excitation adds to it)
    excitation: float = 4.0  # an M1.0+ flare leaves the region more productive: its rate rises by this factor
    excitation_hours: float = 48.0  # and relaxes back with this time constant
    max_excitation: float = 4.0  # at most this factor above the drivers' rate
    m_fraction: float = 0.025  # M1.0+ among B1.0+ flares (N(>F) ~ F^-0.8 over two decades)
    background_flare_rate: float = 5e-4  # flares per day per modelled region, from unmodelled ones (no NOAA number)
    # the share of each GOES class's flares that the catalogue gives no NOAA region (the real NGDC and SWPC
    # catalogues of 1996-2020: B 0.58, C 0.42, M 0.23, X 0.16, background flares of unmodelled regions included)
    p_flare_no_region: tuple[tuple[str, float], ...] = (("B", 0.55), ("C", 0.40), ("M", 0.22), ("X", 0.15))
    # the share of each class's flares that the catalogue lists at all: a B flare is lost when the X-ray background
    # stands above it (the real catalogues attribute 3.0-3.7 B flares per M flare to regions; the flare-size
    # distribution gives about 34)
    catalogued: tuple[tuple[str, float], ...] = (("B", 0.2),)
    p_flare_unknown_class: float = 0.003
    p_no_noaa: float = 0.05
    p_two_noaa: float = 0.06
    p_bad_quality: float = 0.01
    p_nan_pixels: float = 0.005
    p_size_jump: float = 0.005
    p_nan_keyword: float = 0.003
    gaps_per_year: float = 3.0

    def optics(self, instrument: str) -> Optics:
        """The point-spread, noise and calibration of instrument "MDI" or "HMI" in this world."""
        if instrument == "MDI":
            return Optics(self.mdi_psf_sigma_px, self.mdi_noise_gauss, self.mdi_gain, self.mdi_gain_scatter, self.mdi_noise_scatter)
        if instrument == "HMI":
            return Optics(self.hmi_psf_sigma_px, self.hmi_noise_gauss, 1.0, self.hmi_gain_scatter, self.hmi_noise_scatter)
        raise ValueError(f"no instrument {instrument!r} in the teaching world (MDI or HMI)")

    @property
    def true_factor(self) -> float:
        """MDI's field over HMI's for the same Sun: what chapter 02's fusion should recover."""
        return self.optics("MDI").gain / self.optics("HMI").gain
