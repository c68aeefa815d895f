"""The teaching world: an embedded, seeded model of active regions, two instruments and their flares.

A world to teach and test on, not the Sun. Its regions are built from Yeates (2020) bipoles that
emerge, separate, decay and sometimes collide; an MDI-like and an HMI-like instrument observe them
on the study's 96-minute cadence during their real mission spans (so May-October 2010 has
co-temporal pairs); M1.0+ flares come from what makes real regions flare, only part of which the
study's four keywords see. Its constants were fitted to the study authors' window tables. The
imperfections the study's rules exist for are injected on purpose: bad quality, NaN pixels, boxes
that change size, missing keywords, data gaps, regions with no or two NOAA numbers, flares with no
region or an unknown class. Everything is a deterministic function of the settings: a record's
magnetogram is re-rendered on demand and is identical to the one its keywords were computed from.

Where each part lives:

- `settings`: the world's size, seed and constants (`WorldSettings`).
- `instruments`: MDI and HMI (series, pixel, mission span), the time axis, a record's noise.
- `bipoles`: the Yeates (2020) bipolar magnetic region, Eq. 18, the world's building block.
- `regions`: the regions, their bipoles and cores, rotation and NOAA numbers.
- `canvas`: a region's pixel grid through each instrument, and the Sun's fine structure over it.
- `render`: a record's magnetogram and keywords, one record or a chunk of a region's records.
- `records`: which records each instrument takes, and the world's record table.
- `flares`: the flare catalogue (every class) from each region's drivers.
- `calibration`: the world's windows beside the real tables' (the statistics it was fitted to).

The world imports nothing from `flarelib.sources`: the synthetic source
(`flarelib.sources.synthetic`) builds a store from it, as the other sources build theirs from JSOC or
the published tables.
"""
