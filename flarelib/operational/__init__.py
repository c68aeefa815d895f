"""Operational forecasts (chapter 09, beyond the study): the sweep's models at the real event rate
(`real_rate`), prior correction and recalibration (`calibration`), out-of-sample full-disk forecasts
(`full_disk`) and cross-cycle transfer (`transfer`)."""
