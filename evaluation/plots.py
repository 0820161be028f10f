"""PNG curves (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.lfw import LfwResult
from evaluation.watchlist import WatchlistResult


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc_png(results: Sequence[LfwResult], path: Path) -> Path:
    """LFW ROC: TAR against FAR (log scale), one curve per pipeline."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for r in results:
        pts = [(f, t) for f, t in zip(r.roc_far, r.roc_tar, strict=True) if f > 0]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts],
                    label=f"{r.pipeline} (acc {100 * r.accuracy.mean:.2f} %)")
    for far in (0.01, 0.001):
        ax.axvline(far, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0.8, 1.0)
    ax.set_xlabel("False accept rate")
    ax.set_ylabel("True accept rate")
    ax.set_title(f"LFW View 2 ROC ({results[0].pairs if results else 0} pairs)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def det_png(results: Sequence[WatchlistResult], path: Path) -> Path:
    """Open-set DET: FNIR (1 − TPIR) against FPIR, log–log, with the chosen operating points."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    for r in results:
        pts = [(f, n) for f, n in zip(r.det_fpir, r.det_fnir, strict=True) if f > 0 and n > 0]
        if pts:
            line = ax.plot([p[0] for p in pts], [p[1] for p in pts],
                           label=f"{r.pipeline}, impostors: {r.calibrated_on}")[0]
            c = r.chosen_rounded
            if c.fpir > 0:
                ax.plot([c.fpir], [1 - c.tpir], "o", color=line.get_color())
            if r.calibrated_on != "all":
                every = [(f, n) for f, n in zip(r.det_fpir_all, r.det_fnir_all, strict=True)
                         if f > 0 and n > 0]
                ax.plot([p[0] for p in every], [p[1] for p in every], linestyle="--",
                        color=line.get_color(), label=f"{r.pipeline}, impostors: all")
    ax.axvline(results[0].target_fpir if results else 0.001, color="grey", linestyle=":",
               linewidth=0.8, label="target FPIR")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("False positive identification rate (impostors)")
    ax.set_ylabel("False negative identification rate (1 − TPIR)")
    ax.set_title("Watch-list open-set identification (DET)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
