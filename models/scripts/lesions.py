"""Synthetic skin-lesion images for DermQ's demo model.

Each image is a patch of skin (varied tone, lighting gradient, mottling, noise,
sometimes hair and a ruler mark) with one lesion on it. The lesion's class sets
the statistics of its size, outline, border sharpness, colours and inner
pattern, so a small CNN can learn the classes and, with them, where the lesion
is. Everything is drawn with numpy from one RandomState, so a seed fixes the
whole set.
"""

import numpy as np

SIZE = 224

LABELS = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]

# What each label stands for, shown with it in results (HAM10000's classes).
LABEL_NAMES = {
    "akiec": "Actinic keratosis or intraepithelial carcinoma",
    "bcc": "Basal cell carcinoma",
    "bkl": "Benign keratosis",
    "df": "Dermatofibroma",
    "mel": "Melanoma",
    "nv": "Melanocytic nevus",
    "vasc": "Vascular lesion",
}

# Skin tones from light to dark (RGB); a background mixes two neighbours.
SKIN_TONES = np.array([
    [241, 214, 196],
    [228, 190, 165],
    [205, 160, 128],
    [176, 124, 92],
    [132, 88, 62],
    [96, 62, 44],
], dtype=np.float32)

# Per class: radius range in pixels, outline irregularity, border softness
# (pixels), elongation range, and the palette the lesion's colours come from.
CLASSES = {
    "akiec": dict(radius=(22, 44), wobble=0.16, edge=(3, 7), stretch=(1.0, 1.5),
                  palette=[(201, 92, 88), (222, 130, 120), (186, 70, 72)]),
    "bcc": dict(radius=(20, 42), wobble=0.08, edge=(2, 4), stretch=(1.0, 1.3),
                palette=[(232, 178, 176), (219, 158, 160), (240, 196, 190)]),
    "bkl": dict(radius=(24, 50), wobble=0.10, edge=(1, 3), stretch=(1.1, 1.7),
                palette=[(168, 120, 72), (146, 102, 60), (184, 140, 92)]),
    "df": dict(radius=(12, 24), wobble=0.05, edge=(3, 6), stretch=(1.0, 1.2),
               palette=[(122, 78, 56), (140, 92, 66), (108, 68, 50)]),
    "mel": dict(radius=(30, 60), wobble=0.28, edge=(2, 8), stretch=(1.0, 1.6),
                palette=[(52, 30, 24), (92, 54, 36), (66, 72, 98), (24, 16, 16),
                         (150, 70, 60)]),
    "nv": dict(radius=(16, 38), wobble=0.04, edge=(1, 3), stretch=(1.0, 1.25),
               palette=[(112, 70, 44), (96, 60, 40), (128, 84, 54)]),
    "vasc": dict(radius=(14, 30), wobble=0.06, edge=(1, 2), stretch=(1.0, 1.3),
                 palette=[(160, 30, 52), (120, 24, 60), (184, 44, 64)]),
}


def grid():
    """Return pixel-centre coordinate arrays (y, x) of the image."""
    return np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


YY, XX = grid()


def smooth_noise(rng, cells):
    """Return low-frequency noise in 0..1: a coarse random grid, upsampled."""
    coarse = rng.rand(cells + 1, cells + 1).astype(np.float32)
    pos = np.linspace(0, cells, SIZE, dtype=np.float32)
    i = np.minimum(pos.astype(int), cells - 1)
    f = pos - i
    rows = coarse[i] * (1 - f)[:, None] + coarse[i + 1] * f[:, None]
    return rows[:, i] * (1 - f) + rows[:, i + 1] * f


def skin(rng):
    """Return a skin background as float32 HxWx3 in 0..255."""
    k = rng.randint(len(SKIN_TONES) - 1)
    t = rng.rand()
    tone = SKIN_TONES[k] * (1 - t) + SKIN_TONES[k + 1] * t
    img = np.broadcast_to(tone, (SIZE, SIZE, 3)).astype(np.float32).copy()

    angle = rng.rand() * 2 * np.pi
    ramp = (np.cos(angle) * (XX - SIZE / 2) + np.sin(angle) * (YY - SIZE / 2)) / SIZE
    img *= (1 + rng.uniform(0.1, 0.45) * ramp)[..., None]

    mottle = smooth_noise(rng, rng.randint(3, 8)) - 0.5
    img += mottle[..., None] * np.array([18, 4, 2], np.float32) * rng.uniform(0.5, 1.5)
    return img


def outline(rng, spec):
    """Return the lesion's soft mask (0..1) and its centre and radius."""
    radius = rng.uniform(*spec["radius"])
    cx = rng.uniform(radius + 6, SIZE - radius - 6)
    cy = rng.uniform(radius + 6, SIZE - radius - 6)
    stretch = rng.uniform(*spec["stretch"])
    turn = rng.rand() * np.pi

    dx, dy = XX - cx, YY - cy
    u = (np.cos(turn) * dx + np.sin(turn) * dy) / stretch
    v = -np.sin(turn) * dx + np.cos(turn) * dy
    dist = np.hypot(u, v)
    theta = np.arctan2(v, u)

    edge = radius * np.ones_like(dist)
    for k in range(2, 7):
        amp = spec["wobble"] * rng.uniform(0.3, 1.0) / (k - 1) ** 0.5
        edge *= 1 + amp * np.cos(k * theta + rng.rand() * 2 * np.pi)

    soft = rng.uniform(*spec["edge"])
    alpha = np.clip((edge - dist) / soft + 0.5, 0, 1)
    return alpha, dist / np.maximum(edge, 1), (cx, cy, radius)


def pick(rng, palette):
    """Return one palette colour with a little random variation."""
    colour = np.array(palette[rng.randint(len(palette))], np.float32)
    return colour * rng.uniform(0.88, 1.12)


def paint(rng, label, spec, rel):
    """Return the lesion's colour field (HxWx3) for its class.

    rel is the distance from the centre relative to the outline (1 at the
    border), used for rings and darker centres.
    """
    base = pick(rng, spec["palette"])
    col = np.broadcast_to(base, (SIZE, SIZE, 3)).astype(np.float32).copy()
    if label == "mel":
        for _ in range(rng.randint(2, 4)):
            blot = smooth_noise(rng, rng.randint(4, 9))
            blot = np.clip((blot - 0.55) * 5, 0, 1)[..., None]
            col = col * (1 - blot) + pick(rng, spec["palette"]) * blot
    elif label == "nv":
        col *= (1.0 - 0.18 * np.clip(1 - rel, 0, 1))[..., None]
    elif label == "df":
        centre = np.clip((0.55 - rel) * 4, 0, 1)[..., None]
        col = col * (1 - centre) + np.array([236, 222, 208], np.float32) * centre
    elif label == "bcc":
        col = vessels(rng, col, rel)
    elif label == "akiec":
        scale = (rng.rand(SIZE, SIZE) > 0.82).astype(np.float32)[..., None]
        col = col * (1 - 0.5 * scale) + np.array([245, 235, 225], np.float32) * 0.5 * scale
    elif label == "bkl":
        dots = (rng.rand(SIZE, SIZE) > 0.93).astype(np.float32)[..., None]
        col = col * (1 - 0.45 * dots)
        col *= (0.9 + 0.2 * smooth_noise(rng, 12))[..., None]
    elif label == "vasc":
        lobes = smooth_noise(rng, 10)[..., None]
        col = col * (0.75 + 0.5 * lobes)
    return col


def vessels(rng, col, rel):
    """Draw thin branching red lines inside a bcc lesion."""
    red = np.array([178, 36, 48], np.float32)
    for _ in range(rng.randint(3, 7)):
        y0, x0 = np.argwhere(rel < 0.8)[rng.randint(np.count_nonzero(rel < 0.8))]
        angle = rng.rand() * 2 * np.pi
        bend = rng.uniform(-0.05, 0.05)
        y, x = float(y0), float(x0)
        for _ in range(40):
            iy, ix = int(round(y)), int(round(x))
            if not (0 <= iy < SIZE and 0 <= ix < SIZE) or rel[iy, ix] > 0.9:
                break
            col[iy, ix] = red
            angle += bend
            y += np.sin(angle)
            x += np.cos(angle)
    return col


def hair(rng, img):
    """Draw 0..8 dark curved hair strands across the image."""
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
        p = rng.uniform(-20, SIZE + 20, size=(3, 2))
        shade = rng.uniform(20, 70)
        width = rng.choice([0, 1])
        for t in np.linspace(0, 1, 400):
            q = (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t ** 2 * p[2]
            y, x = int(q[0]), int(q[1])
            y0, y1 = max(y - width, 0), min(y + width + 1, SIZE)
            x0, x1 = max(x - width, 0), min(x + width + 1, SIZE)
            if y0 < y1 and x0 < x1:
                img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * 0.3 + shade * 0.7
    return img


def ruler(rng, img):
    """Sometimes draw a row of ruler ticks along one edge."""
    if rng.rand() > 0.2:
        return img
    at = rng.randint(4, 14)
    for i, x in enumerate(range(rng.randint(2, 10), SIZE, 9)):
        length = 12 if i % 5 == 0 else 6
        img[at:at + length, x:x + 1] = 40
    if rng.rand() < 0.5:
        img = img.transpose(1, 0, 2).copy()
    return img


def draw(rng, label):
    """Return one image (uint8 HxWx3) of a lesion of class label and its mask."""
    spec = CLASSES[label]
    img = skin(rng)
    alpha, rel, _ = outline(rng, spec)
    col = paint(rng, label, spec, rel)
    opacity = rng.uniform(0.75, 0.95)
    a = (alpha * opacity)[..., None]
    img = img * (1 - a) + col * a

    img = hair(rng, img)
    img = ruler(rng, img)
    img += rng.normal(0, rng.uniform(2, 7), img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return img, alpha > 0.5


def dataset(seed, count):
    """Return count images (N,H,W,3 uint8), labels (N,) and masks (N,H,W)."""
    rng = np.random.RandomState(seed)
    images = np.empty((count, SIZE, SIZE, 3), np.uint8)
    masks = np.empty((count, SIZE, SIZE), bool)
    labels = np.arange(count) % len(LABELS)
    rng.shuffle(labels)
    for i, k in enumerate(labels):
        images[i], masks[i] = draw(rng, LABELS[k])
    return images, labels, masks
