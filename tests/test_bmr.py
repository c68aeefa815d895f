"""The Yeates (2020) bipole against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from flarelib.world.bipoles import SIZE_FACTOR, bmr_field, peak_field, peak_offset


def test_hand_computed_value():
    # B(phi = rho, s = 0) = -B0 * 1 * exp(-rho^2 / (a rho)^2) = -B0 exp(-1 / a^2)
    b0, rho = 1000.0, 0.05
    assert bmr_field(np.array(rho), np.array(0.0), b0, rho) == pytest.approx(-b0 * np.exp(-1 / 0.56**2))
    # latitude weighs twice: B(phi, lat) = B(phi, 0) exp(-2 lat^2 / (a rho)^2)
    lat = 0.01
    ratio = bmr_field(np.array(0.02), np.array(lat), b0, rho) / bmr_field(np.array(0.02), np.array(0.0), b0, rho)
    assert ratio == pytest.approx(np.exp(-2 * lat**2 / (SIZE_FACTOR * rho) ** 2))


def test_antisymmetric_in_phi_and_flux_balanced():
    phi, lat = np.meshgrid(np.linspace(-0.3, 0.3, 301), np.linspace(-0.2, 0.2, 201))
    field = bmr_field(phi, lat, 2000.0, 0.08, tilt=0.0)
    assert np.allclose(field, -field[:, ::-1])
    assert abs(field.sum()) < 1e-9 * np.abs(field).sum()


def test_peak_location_and_value():
    b0, rho = 3000.0, 0.06
    phi = np.linspace(-0.2, 0.2, 40001)
    field = bmr_field(phi, np.zeros_like(phi), b0, rho)
    assert phi[np.argmin(field)] == pytest.approx(peak_offset(rho), abs=1e-5)  # leading pole at +phi is negative
    assert phi[np.argmax(field)] == pytest.approx(-peak_offset(rho), abs=1e-5)
    assert field.max() == pytest.approx(peak_field(b0), rel=1e-6)
    assert peak_field(b0) == pytest.approx(b0 * 0.56 / np.sqrt(2) * np.exp(-0.5))


def test_tilt_rotates_the_axis():
    b0, rho, tilt = 3000.0, 0.06, np.deg2rad(30)
    d = peak_offset(rho)
    at = bmr_field(np.array(d * np.cos(tilt)), np.array(d * np.sin(tilt)), b0, rho, tilt)
    assert at == pytest.approx(-peak_field(b0), rel=1e-9)
