"""``pinchpoint tls init`` and ``pinchpoint vapid init|show``: key material for delivering
alerts on the closed network (entry point ``delivery`` in ``pinchpoint.commands``).

Default locations are under the configured data directory (``--config``; ``var`` when there
is no config file): ``<data_dir>/tls`` and ``<data_dir>/keys``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kernel import tls
from kernel.cli.common import add_config_option, load_config
from kernel.delivery import vapid


def _data_dir(args: argparse.Namespace) -> Path:
    config_path: Path | None = getattr(args, "config_path", None)
    if config_path is None or not config_path.exists():
        return Path("var")
    return load_config(args).data_dir


def _cmd_tls_init(args: argparse.Namespace) -> int:
    directory: Path = args.dir or _data_dir(args) / "tls"
    try:
        files = tls.init_tls(directory, args.host, args.ip, days=args.days, force=args.force)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if files.created:
        print(f"TLS files written to {directory}:")
    else:
        print(f"TLS files already in {directory}; nothing changed (use --force to re-issue "
              "the server certificate)")
    print(f"  CA certificate (install on officers' devices): {files.ca_cert}")
    print(f"  server certificate chain: {files.server_cert}")
    print(f"  server key (0600):        {files.server_key}")
    return 0


def _keys_dir(args: argparse.Namespace) -> Path:
    return Path(args.keys_dir) if args.keys_dir else _data_dir(args) / "keys"


def _cmd_vapid_init(args: argparse.Namespace) -> int:
    keys_dir = _keys_dir(args)
    existed = (keys_dir / vapid.PRIVATE_FILE).exists()
    keys = vapid.load_or_create(keys_dir, force=args.force)
    state = "replaced (devices must subscribe again)" if existed and args.force else (
        "kept" if existed else "created")
    print(f"VAPID key {state}: {keys.private_path}")
    print(f"applicationServerKey: {keys.public_key_b64url}")
    return 0


def _cmd_vapid_show(args: argparse.Namespace) -> int:
    path = _keys_dir(args) / vapid.PUBLIC_FILE
    if not path.exists():
        print(f"no VAPID key in {path.parent}; run `pinchpoint vapid init`", file=sys.stderr)
        return 1
    print(path.read_text().strip())
    return 0


def register(subparsers: Any) -> None:
    """Add the ``tls`` and ``vapid`` command groups."""
    tls_parser = subparsers.add_parser("tls", help="local CA and server certificate (R23)")
    tls_sub = tls_parser.add_subparsers(dest="tls_command", metavar="ACTION", required=True)
    init = tls_sub.add_parser("init", help="make a local CA and a server certificate")
    add_config_option(init)
    init.add_argument("--dir", type=Path, default=None,
                      help="where to write the files (default: <data_dir>/tls)")
    init.add_argument("--host", action="append", default=[], metavar="NAME",
                      help="DNS name devices use for the server (repeatable)")
    init.add_argument("--ip", action="append", default=[], metavar="ADDR",
                      help="IP address devices use for the server (repeatable)")
    init.add_argument("--days", type=int, default=825,
                      help="server certificate validity (default 825)")
    init.add_argument("--force", action="store_true",
                      help="re-issue the server certificate (the CA is kept)")
    init.set_defaults(handler=_cmd_tls_init)

    vapid_parser = subparsers.add_parser("vapid", help="Web Push (VAPID) server key")
    vapid_sub = vapid_parser.add_subparsers(dest="vapid_command", metavar="ACTION",
                                            required=True)
    vinit = vapid_sub.add_parser("init", help="make the VAPID key pair if absent")
    vshow = vapid_sub.add_parser("show", help="print the applicationServerKey")
    for p in (vinit, vshow):
        add_config_option(p)
        p.add_argument("--keys-dir", default=None,
                       help="key directory (default: <data_dir>/keys)")
    vinit.add_argument("--force", action="store_true",
                       help="replace an existing key (every device must subscribe again)")
    vinit.set_defaults(handler=_cmd_vapid_init)
    vshow.set_defaults(handler=_cmd_vapid_show)
