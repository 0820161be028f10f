"""Draw the PWA's icons (192 and 512 px PNG, plus a maskable 512) with Pillow.

Run once after changing the design: ``python scripts/pwa_icons.py``; the PNGs are committed
under ``pwa/icons/``. A navy square with a white pinch-point chevron: readable at 48 px and
in a maskable safe zone (the drawing stays inside the central 80 %).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "pwa" / "icons"
NAVY = (11, 31, 58, 255)
AMBER = (255, 193, 7, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int, maskable: bool = False) -> Image.Image:
    """One icon of ``size`` px: full-bleed background when maskable, rounded otherwise."""
    scale = 4  # draw large, then downsample: smooth edges without an antialiasing API
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle((0, 0, s, s), fill=NAVY)
    else:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 6, fill=NAVY)
    inset = s * (0.2 if maskable else 0.14)
    left, right, top, bottom = inset, s - inset, inset, s - inset
    mid = s / 2
    w = s * 0.09
    # two walls narrowing to a gap: the pinch point
    d.polygon([(left, top), (mid - w, mid), (left, bottom)], fill=WHITE)
    d.polygon([(right, top), (mid + w, mid), (right, bottom)], fill=WHITE)
    r = s * 0.075
    d.ellipse((mid - r, mid - r, mid + r, mid + r), fill=AMBER)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
