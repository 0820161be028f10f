"""What every command shares: the ``--config`` option, user-facing config loading, and the
data folder of the tool commands (``eval``, ``demo``, ``models build --check-dlib``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kernel import config as config_module
from kernel.config import Config

DEFAULT_CONFIG = "config.toml"
DATA_ENV = "PINCHPOINT_DATA"
#: Where the tools look for data sets when neither ``--data`` nor ``$PINCHPOINT_DATA`` says.
DEFAULT_DATA = Path("data")


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        dest="config_path",
        type=Path,
        default=Path(os.environ.get("PINCHPOINT_CONFIG", DEFAULT_CONFIG)),
        help="configuration file (default: $PINCHPOINT_CONFIG or ./config.toml)",
    )


def load_config(args: argparse.Namespace) -> Config:
    """Read the config named by ``--config``; errors are ConfigError (exit 2, no traceback)."""
    path: Path = getattr(args, "config_path", None) or Path(DEFAULT_CONFIG)
    return config_module.load(path)


def data_root() -> Path:
    """The folder holding the evaluation and demo data sets (``lfw150/``, ``cfp/``,
    ``utkface-adults/``, ``public-domain/``): ``$PINCHPOINT_DATA``, else ``./data``.

    None of it ships with Pinchpoint (the sets may not be redistributed); the repo's Makefile
    passes the project machines' copy explicitly. ``pinchpoint run`` never reads it.
    """
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


DATA_HELP = f"${DATA_ENV}, else ./{DEFAULT_DATA}"
"""How the ``--data`` defaults are described in ``--help``."""
