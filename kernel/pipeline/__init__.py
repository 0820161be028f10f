"""The live pipeline: frames → faces → tracks → watch-list search → candidates (R2–R4).

Everything about a face lives in memory until the matcher finds it on a watch list; a track
that ends without a match is dropped whole (R3). Only per-minute counts survive.
"""
