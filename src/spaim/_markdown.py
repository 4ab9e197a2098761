"""Tables as GitHub markdown, for the reports the package writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Heading from which a generated report's text is written by hand and kept on rewrites.
FINDINGS = "\n## Findings\n"


def _cell(value) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.3f}"
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    """``df`` as a markdown table without its index; floats to 3 decimals, NaN left blank."""
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def write_keeping_findings(path: Path, generated: str) -> None:
    """Write ``generated`` to ``path``, keeping the hand-written part (from :data:`FINDINGS` on) of the file there."""
    findings = path.read_text().partition(FINDINGS)[2] if path.exists() else ""
    path.write_text(generated + (FINDINGS + findings if findings else ""))
