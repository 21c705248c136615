"""What every benchmark shares: where the instances are, where results go, how a plot is saved.

The benchmarks import the *installed* ``qopt`` (``make install`` puts it in ``.venv``; ``make bench``
runs them with that interpreter). Nothing here touches ``sys.path``: the source tree's ``python/``
has no compiled ``_core`` on a fresh clone, so putting it first on the import path breaks the import.
This module sits beside the scripts, which Python puts on the path when it runs one of them.
"""
from __future__ import annotations

import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"  # CSVs and PNGs of each run (gitignored)
PLOTS = HERE / "plots"  # the plots the .md files show (committed copies of chosen runs)



def deadline_tolerance(deadline: float) -> float:
    """Seconds past ``deadline`` (seconds) a call may take and still count as on time: max(5%, 0.1 s),
    the deadline rule of issue 11 (answered within max(5%, 100 ms) of ``time_budget``)."""
    return max(0.05 * deadline, 0.1)

def shared_data(arg: pathlib.Path | None = None) -> pathlib.Path | None:
    """The folder with the benchmark instances (gset/, orlib_bqp/, qkp/, tsplib/, best_known.csv).

    Args:
        arg: the folder the caller named (``--data``), if any.

    Returns:
        The first existing folder of ``arg``, ``$QOPT_SHARED_DATA`` and ``../shared/data`` beside the
        repository, or None when there is none (a fresh clone): the benchmarks then run on the few
        instances shipped inside qopt (:func:`shipped_data`).
    """
    candidates = [arg, os.environ.get("QOPT_SHARED_DATA"), REPO.parent / "shared" / "data"]
    for c in candidates:
        if c and pathlib.Path(c).is_dir():
            return pathlib.Path(c)
    return None


def shipped_data() -> pathlib.Path:
    """The instance files installed with qopt (G1, bqp50, gka1a/b, ...; flat, with best_known.csv)."""
    import qopt

    return pathlib.Path(qopt.__file__).resolve().parent / "data" / "instances"


def save_figure(fig, out: pathlib.Path, stem: str) -> pathlib.Path:
    """Write ``fig`` as ``out/stem.png`` (120 dpi) and close it; returns the path."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display), or None with a hint when it is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install '.[bench]'): no plot")
        return None
    return plt


def write_csv(rows: list[dict], path: pathlib.Path) -> pathlib.Path | None:
    """Write ``rows`` as CSV (nested dicts flattened to ``outer_inner`` columns, lists as text); None if empty."""
    import csv

    if not rows:
        return None

    def flat(row: dict, prefix: str = "") -> dict:
        out: dict = {}
        for k, v in row.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}_"))
            else:
                out[f"{prefix}{k}"] = v
        return out

    flat_rows = [flat(r) for r in rows]
    keys = list(dict.fromkeys(k for r in flat_rows for k in r))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(flat_rows)
    print(f"wrote {path}")
    return path
