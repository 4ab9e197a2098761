"""Tables as GitHub markdown, for the reports the package writes."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
