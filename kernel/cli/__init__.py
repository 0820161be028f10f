"""The ``pinchpoint`` command line.

Core commands live here; adapter packages add their own command groups through the
``pinchpoint.commands`` entry-point group: the entry point names a function
``register(subparsers) -> None`` that adds an ``argparse`` sub-parser and sets its
``handler`` default to a callable ``handler(args) -> int`` (an ``async def`` is awaited).
``args.config_path`` holds the ``--config`` path; :func:`kernel.cli.common.load_config`
reads it with the user-facing error handling.
"""
