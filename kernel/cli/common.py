"""What every command shares: the ``--config`` option and user-facing config loading."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kernel import config as config_module
from kernel.config import Config

DEFAULT_CONFIG = "config.toml"


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
