"""Agreement between coders who coded the same sources, per code, with characters as units.

For each code, every character of every source that two or more coders coded is one unit, coded
1 by a coder when it lies inside one of that coder's segments carrying the code, else 0.
Percent agreement = (both + neither) / all (two coders); Cohen's kappa uses the expected agreement
from both coders' marginals, (A*B + notA*notB) / N^2; Krippendorff's alpha (nominal) comes from the
``krippendorff`` package and works for any number of coders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .coding import CodedData, split_codes

RELIABLE, TENTATIVE = 0.800, 0.667  # Krippendorff (2004)


def interpretation(alpha: float) -> str:
    if alpha != alpha:
        return "undefined"
    return "reliable" if alpha >= RELIABLE else "tentative" if alpha >= TENTATIVE else "unreliable"


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    n = len(a)
    observed = float(np.mean(a == b))
    pa, pb = a.mean(), b.mean()
    expected = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected) if n else float("nan")


def unit_matrix(data: CodedData, code: str, coders: list[str], lengths: dict[str, int]) -> np.ndarray:
    """coders x characters: 1 where the coder coded that character with ``code``."""
    seg = data.segments
    blocks = []
    for source, length in lengths.items():
        block = np.zeros((len(coders), length), dtype=np.int8)
        rows = seg[(seg["section"] == source) & seg["start"].notna() & seg["end"].notna()]
        for _, r in rows.iterrows():
            if r["coder"] in coders and code in split_codes(r["codes"]):
                block[coders.index(r["coder"]), int(r["start"]) : int(r["end"])] = 1
        blocks.append(block)
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(coders), 0), dtype=np.int8)


def shared_sources(data: CodedData) -> tuple[list[str], dict[str, int]]:
    """Coders, and the sources (with their length in characters) that at least two of them coded."""
    seg = data.segments[data.segments["start"].notna()] if "start" in data.segments else data.segments.iloc[0:0]
    coders = sorted(seg["coder"].dropna().unique())
    by_source = seg.groupby("section")["coder"].nunique()
    shared = [s for s, n in by_source.items() if n >= 2]
    known = dict(zip(data.sources["source"], data.sources["characters"])) if len(data.sources) else {}
    lengths = {}
    for s in shared:
        length = known.get(s)
        if length is None or length != length:
            length = int(seg.loc[seg["section"] == s, "end"].max())
        lengths[s] = int(length)
    return coders, lengths


def agreement_table(data: CodedData, lang: str = "en") -> pd.DataFrame:
    """Per code: units, coders, percent agreement and kappa (two coders), alpha and its reading."""
    import krippendorff

    coders, lengths = shared_sources(data)
    columns = ["code", "label", "units", "coders", "percent_agreement", "kappa", "alpha", "reading"]
    if len(coders) < 2 or not lengths:
        return pd.DataFrame(columns=columns)
    used = sorted({c for cell in data.segments["codes"] for c in split_codes(cell)})
    rows = []
    for code in used:
        units = unit_matrix(data, code, coders, lengths)
        if not units.any():
            continue
        pct = kappa = float("nan")
        if len(coders) == 2:
            pct = float(np.mean(units[0] == units[1]))
            kappa = cohen_kappa(units[0], units[1])
        if len(np.unique(units)) < 2:
            alpha = float("nan")
        else:
            alpha = float(krippendorff.alpha(reliability_data=units.astype(float), level_of_measurement="nominal"))
        rows.append(
            {
                "code": code,
                "label": data.codebook.label(code, lang),
                "units": units.shape[1],
                "coders": len(coders),
                "percent_agreement": pct,
                "kappa": kappa,
                "alpha": alpha,
                "reading": interpretation(alpha),
            }
        )
    return pd.DataFrame(rows, columns=columns)
