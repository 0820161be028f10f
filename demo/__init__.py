"""The demo bundle: a generated walk-past clip and the ``pinchpoint demo`` command.

Not an adapter kind: it composes the real adapters (file camera, ONNX engine, SQLite store)
into a one-command demonstration on a fresh machine.
"""
