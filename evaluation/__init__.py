"""Offline evaluation of the face engine: LFW verification, open-set watch-list identification,
threshold calibration (R22) and the ``face_recognition`` baseline.

Only aggregate figures, curves and reports are ever written (R3): embeddings live in memory for
the length of a run and are dropped with it.
"""
