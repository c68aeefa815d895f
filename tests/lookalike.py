"""JSOC and HEK look-alikes on loopback, for the `jsoc` source end to end.

The servers answer in the services' real formats: JSOC's `jsoc_info?op=series_struct|rs_list`,
`jsoc_fetch?op=exp_request|exp_status` and `checkAddress.sh` as JSON, export files under a `/SUM...`
folder, and the HEK's `her?cmd=search` JSON pages. What they serve is a small synthetic world
(`flarelib.world`) observed in May-October 2010, when MDI and HMI overlap. Its cutouts are
written as JSOC writes them: RICE tile-compressed, with header cards that are not FITS-standard
(lower-case exponents, bare `nan` values) and the FITS checksums of the bytes as written. The real drms
and sunpy clients talk to them, nothing is monkeypatched. A file can be cut half-way or served corrupt
once, to exercise resumed and refetched downloads. The servers listen on 127.0.0.1 only and stop with
the test that started them.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pandas as pd

from tests.conftest import LoopbackServer, send_bytes

SERIES = {"hmi.sharp_cea_720s": ("SHARP", "HARPNUM", 0.03), "mdi.smarp_cea_96m": ("SMARP", "TARPNUM", 0.12)}
KEY_FORMATS = {"USFLUXL": "{:.6e}", "MEANGBL": "{:.6f}", "R_VALUE": "{:.6f}", "AREA": "{:.6f}", "LAT_FWT": "{:.6f}",
               "LON_FWT": "{:.6f}"}


def jsoc_time(when: pd.Timestamp) -> str:
    return pd.Timestamp(when).strftime("%Y.%m.%d_%H:%M:%S_TAI")


def parse_jsoc_time(text: str) -> pd.Timestamp:
    return pd.Timestamp(pd.to_datetime(text.replace("_TAI", ""), format="%Y.%m.%d_%H:%M:%S"))


def parse_record_set(ds: str) -> tuple[str, int | None, pd.Timestamp, pd.Timestamp]:
    """`series[arpnum][start-end@96m]{segments}` -> series, arpnum (None for []), start, end."""
    match = re.match(r"^([\w.]+)\[(\d*)\]\[([\d._:]+_TAI)-([\d._:]+_TAI)(?:@\w+)?\]", ds)
    if not match:
        raise ValueError(f"record set not understood: {ds}")
    series, arpnum, start, end = match.groups()
    return series, int(arpnum) if arpnum else None, parse_jsoc_time(start), parse_jsoc_time(end)


def _checksum_string(value: int) -> str:
    """The FITS CHECKSUM encoding of a 32-bit value (astropy's encoder)."""
    from astropy.io import fits

    return fits.PrimaryHDU()._char_encode(value)


def _sum32(raw: bytes) -> int:
    from flarelib.sources.fitsio import ones_complement_sum

    return ones_complement_sum(raw)


def _set_card(raw: bytearray, start: int, end: int, key: str, image: str) -> None:
    for i in range(start, end, 80):
        if raw[i:i + 8].decode("ascii").strip() == key:
            raw[i:i + 80] = image.ljust(80)[:80].encode("ascii")
            return
    raise KeyError(key)


def jsoc_fits(data: np.ndarray, cards: dict[str, object], jsoc_cards: dict[str, str]) -> bytes:
    """A RICE-compressed FITS file as JSOC writes it: `cards` written by astropy, then `jsoc_cards`
    (keyword -> value field exactly as JSOC writes it, e.g. `5.593781e+22` or `nan`) patched into the
    header bytes, and CHECKSUM and DATASUM of each HDU computed on the final bytes."""
    from astropy.io import fits

    hdu = fits.CompImageHDU(np.asarray(data, dtype=np.float32 if data.dtype.kind == "f" else np.int32),
                            compression_type="RICE_1")
    for key, value in cards.items():
        hdu.header[key] = value
    for key in jsoc_cards:
        hdu.header[key] = 0.0  # a placeholder card, rewritten below
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer, checksum=True)
    raw = bytearray(buffer.getvalue())
    with fits.open(io.BytesIO(bytes(raw)), disable_image_compression=True) as hdus:
        extents = [(h.fileinfo()["hdrLoc"], h.fileinfo()["datLoc"], h.fileinfo()["datSpan"]) for h in hdus]
    start, data_start, span = extents[1]
    for key, value in jsoc_cards.items():
        _set_card(raw, start, data_start, key, f"{key:<8}= {value:>20}")
    _set_card(raw, start, data_start, "CHECKSUM", f"CHECKSUM= '{'0' * 16}'")
    _set_card(raw, start, data_start, "CHECKSUM", f"CHECKSUM= '{_checksum_string(~_sum32(bytes(raw[start:data_start + span])) & 0xFFFFFFFF)}'")
    return bytes(raw)


class World:
    """The synthetic world as JSOC and the HEK would hold it: records, cutouts and flares."""

    def __init__(self, folder: Path, seed: int = 3, overlap_regions: int = 6):
        from flarelib.sources.synthetic import build_synthetic

        self.store = build_synthetic(folder / "world", seed, 1, 1, overlap_regions, workers=1)
        self.records = self.store.records
        strong = self._strong_flares()
        own = self.store.flares.flares
        own = own[~own.noaa_ar.isin(strong.noaa_ar)]
        self.flares = pd.concat([own, strong], ignore_index=True)

    def _strong_flares(self) -> pd.DataFrame:
        """One M2.0 flare two-thirds through the life of every region seen in 2010, in place of the
        world's own flares of those regions: every region then has quiet windows before its flare
        and positive ones just before it, so every split of the chapters holds both classes (a
        world this small, left to itself, can give a region that flares all its life, or never)."""
        sharp = self.records[(self.records.SERIES == "SHARP") & (self.records.T_REC < "2010-10-29")
                             & ~self.records.NOAA_ARS.astype(str).isin(["", "nan"])]
        rows = []
        for _, region in sharp.groupby("ARPNUM"):
            times = region.T_REC.sort_values()
            peak = times.iloc[2 * len(times) // 3]
            noaa = int(float(str(region.NOAA_ARS.iloc[0]).split(",")[0]))
            rows.append({"start_time": peak - pd.Timedelta(minutes=10), "peak_time": peak,
                         "end_time": peak + pd.Timedelta(minutes=20), "goes_class": "M2.0", "noaa_ar": noaa})
        return pd.DataFrame(rows).astype({"noaa_ar": "Int64"})

    def rs_list(self, ds: str, keys: list[str]) -> dict:
        name, arpnum, start, end = parse_record_set(ds)
        series, arp_key, _ = SERIES[name]
        rows = self.records[(self.records.SERIES == series) & self.records.T_REC.between(start, end)]
        if arpnum is not None:
            rows = rows[rows.ARPNUM == arpnum]
        rows = rows.sort_values(["ARPNUM", "T_REC"])
        columns = []
        for key in keys:
            if key == "T_REC":
                values = [jsoc_time(t) for t in rows.T_REC]
            elif key == arp_key:
                values = [str(a) for a in rows.ARPNUM]
            elif key == "QUALITY":
                values = [f"0x{int(q):08x}" for q in rows.QUALITY]
            elif key == "NOAA_ARS":
                values = [str(v) if str(v) not in ("nan", "") else "MISSING" for v in rows.NOAA_ARS]
            elif key == "NOAA_NUM":
                values = [str(int(v)) for v in rows.NOAA_NUM]
            else:
                values = ["nan" if not np.isfinite(v) else KEY_FORMATS.get(key, "{}").format(v) for v in rows[key]]
            columns.append({"name": key, "values": values})
        return {"keywords": columns, "count": len(rows), "runtime": 0.01, "status": 0}

    def cutout(self, name: str, arpnum: int, t_rec: pd.Timestamp, segment: str) -> bytes:
        series, arp_key, cdelt = SERIES[name]
        row = self.records[(self.records.SERIES == series) & (self.records.ARPNUM == arpnum) & (self.records.T_REC == t_rec)].iloc[0]
        magnetogram, bitmap = self.store.magnetogram(series, arpnum, t_rec)
        data = magnetogram if segment == "magnetogram" else bitmap.astype(np.int32)
        cards = {"T_REC": jsoc_time(t_rec), arp_key: int(arpnum), "CDELT1": cdelt, "CDELT2": cdelt, "CUNIT1": "degree",
                 "CUNIT2": "degree", "CRPIX1": (data.shape[1] + 1) / 2, "CRPIX2": (data.shape[0] + 1) / 2,
                 "CRVAL1": float(row.LON_FWT), "CRVAL2": float(row.LAT_FWT), "CRLN_OBS": 0.0, "RSUN_REF": 696000000.0,
                 "QUALITY": int(row.QUALITY), "NOAA_ARS": str(row.NOAA_ARS)}
        jsoc_cards = {"R_VALUE": f"{row.R_VALUE:.6e}" if np.isfinite(row.R_VALUE) else "nan",
                      "AREA": f"{row.AREA:.6e}" if np.isfinite(row.AREA) else "nan", "GWILL": "nan", "ERRMSHA": "inf"}
        return jsoc_fits(data, cards, jsoc_cards)

    def hek(self, start: pd.Timestamp, end: pd.Timestamp) -> list[dict]:
        rows = self.flares[(self.flares.peak_time >= start) & (self.flares.peak_time < end)]
        iso = lambda t: pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%S")
        return [{"event_type": "FL", "event_starttime": iso(r.start_time), "event_peaktime": iso(r.peak_time),
                 "event_endtime": iso(r.end_time), "fl_goescls": r.goes_class,
                 "ar_noaanum": int(r.noaa_ar) if pd.notna(r.noaa_ar) else 0, "obs_observatory": "GOES",
                 "obs_instrument": "GOES", "obs_channelid": "1-8 Angstrom", "frm_name": "SWPC", "frm_identifier": "SWPC",
                 "kb_archivid": f"ivo://helio-informatics.org/FL_SWPC_{iso(r.peak_time)}", "event_coordunit": "degrees",
                 "event_coord1": 0.0, "event_coord2": 0.0, "event_coord3": None, "event_coordsys": "UTC-HGS-TOPO",
                 "SOL_standard": f"SOL{iso(r.start_time)}"} for r in rows.itertuples()]


class LookAlike(LoopbackServer):
    """JSOC and the HEK on one loopback port, serving a `World`."""

    def __init__(self, world: World, cut_once: set[str] = frozenset(), corrupt_once: set[str] = frozenset()):
        self.world = world
        self.exports: dict[str, list[dict]] = {}
        self.polls: dict[str, int] = {}
        self.requests: list[dict] = []
        self.cut_once, self.corrupt_once = set(cut_once), set(corrupt_once)
        self.files: dict[str, bytes] = {}
        super().__init__()

    # --- answers -----------------------------------------------------------------------------------

    def _json(self, handler, body: dict) -> None:
        data = json.dumps(body).encode("latin1")
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.requests.append({"path": parts.path, "query": query, "range": handler.headers.get("Range")})
        if parts.path.endswith("/checkAddress.sh"):
            return self._json(handler, {"status": 2, "msg": "Address is valid and registered"})
        if parts.path.endswith("/jsoc_info") and query.get("op") == "series_struct":
            return self._json(handler, self.series_struct(query["ds"]))
        if parts.path.endswith("/jsoc_info") and query.get("op") == "rs_list":
            return self._json(handler, self.world.rs_list(query["ds"], query["key"].split(",")))
        if parts.path.endswith("/jsoc_fetch") and query.get("op") == "exp_request":
            return self._json(handler, self.exp_request(query["ds"]))
        if parts.path.endswith("/jsoc_fetch") and query.get("op") == "exp_status":
            return self._json(handler, self.exp_status(query["requestid"]))
        if parts.path.startswith("/hek/her"):
            start, end = (pd.Timestamp(query[k]) for k in ("event_starttime", "event_endtime"))
            return self._json(handler, {"result": self.world.hek(start, end), "overmax": False})
        if parts.path.startswith("/SUM"):
            return self.serve_file(handler, unquote(parts.path))
        handler.send_error(404)

    def series_struct(self, ds: str) -> dict:
        name = ds.split("[")[0]
        _, arp_key, _ = SERIES[name]
        keywords = [{"name": k, "type": "string" if k in ("T_REC", "NOAA_ARS") else "double", "units": "none", "note": k}
                    for k in ("T_REC", arp_key, "NOAA_ARS", "NOAA_NUM", "LAT_FWT", "LON_FWT", "LON_MIN", "LON_MAX", "QUALITY",
                              "USFLUXL", "MEANGBL", "R_VALUE", "AREA")]
        for entry in keywords:
            if entry["name"] == "T_REC":
                entry["type"] = "time"
            if entry["name"] in (arp_key, "NOAA_NUM", "QUALITY"):
                entry["type"] = "int"
        return {"note": f"{name} (look-alike)", "retention": 10000, "unitsize": 1, "archive": 1, "tapegroup": 1,
                "primekeys": [arp_key, "T_REC"], "dbindex": [arp_key, "T_REC"], "keywords": keywords,
                "segments": [{"name": s, "type": "int", "units": "none", "protocol": "fits", "dims": "VARxVAR", "note": s}
                             for s in ("magnetogram", "bitmap")], "links": [], "status": 0}

    def exp_request(self, ds: str) -> dict:
        name, arpnum, start, end = parse_record_set(ds)
        series, _, _ = SERIES[name]
        records = self.world.records
        times = records[(records.SERIES == series) & (records.ARPNUM == arpnum) & records.T_REC.between(start, end)].T_REC
        requestid = f"JSOC_20261125_{len(self.exports):03d}"
        data = []
        for t in sorted(times):
            for segment in ("magnetogram", "bitmap"):
                filename = f"{name}.{arpnum}.{t:%Y%m%d_%H%M%S}_TAI.{segment}.fits"
                data.append({"record": f"{name}[{arpnum}][{jsoc_time(t)}]{{{segment}}}", "filename": filename,
                             "arpnum": arpnum, "t_rec": t, "segment": segment, "name": name})
        self.exports[requestid] = data
        return {"status": 2, "requestid": requestid, "method": "url", "protocol": "FITS", "wait": 0, "size": 0,
                "count": 0, "rcount": len(data) // 2, "dir": "", "data": None, "error": None}

    def exp_status(self, requestid: str) -> dict:
        self.polls[requestid] = self.polls.get(requestid, 0) + 1
        data = self.exports[requestid]
        if self.polls[requestid] == 1:  # the first poll finds the export still being made, as JSOC's often does
            return {"status": 1, "requestid": requestid, "wait": 0, "method": "url", "protocol": "FITS"}
        directory = f"/SUM42/D{1000 + int(requestid[-3:])}/S00000"
        for item in data:
            self.files.setdefault(f"{directory}/{item['filename']}", b"")
        return {"status": 0, "requestid": requestid, "method": "url", "protocol": "FITS", "wait": 0,
                "size": 1.0, "count": len(data), "rcount": len(data) // 2, "exptime": "2026-11-25 12:00:00",
                "dir": directory, "data": [{"record": d["record"], "filename": d["filename"]} for d in data]}

    def serve_file(self, handler, path: str) -> None:
        filename = path.rsplit("/", 1)[-1]
        item = next((d for items in self.exports.values() for d in items if d["filename"] == filename), None)
        if item is None:
            return handler.send_error(404)
        if not self.files.get(path):
            self.files[path] = self.world.cutout(item["name"], item["arpnum"], item["t_rec"], item["segment"])
        body = self.files[path]
        if filename in self.corrupt_once:  # a download that arrives with zeroed blocks, once
            self.corrupt_once.discard(filename)
            body = bytes(2880 * 2) + body[2880 * 2:]
        cut = filename in self.cut_once  # the connection drops half-way, once
        self.cut_once.discard(filename)
        send_bytes(handler, body, cut)
