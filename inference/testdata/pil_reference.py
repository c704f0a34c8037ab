"""Write the RGB bytes a PIL training pipeline makes of an image to stdout.

Usage: pil_reference.py IMAGE WIDTH HEIGHT [FILTER]

The image is opened, turned upright by its EXIF orientation, converted to
RGB and resized to WIDTH x HEIGHT with FILTER: bilinear (the default),
bicubic or lanczos. A WIDTH of 0
skips the resize, to compare full-size decoding. The output is raw 8-bit
RGB, row by row, with no header. DermQ's parity test compares its own
decoding and resizing with these bytes.
"""

import sys

from PIL import Image, ImageOps


FILTERS = {
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}


def main():
    path, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    resample = FILTERS[sys.argv[4] if len(sys.argv) > 4 else "bilinear"]
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        if width > 0:
            im = im.resize((width, height), resample)
        sys.stdout.buffer.write(im.tobytes())


if __name__ == "__main__":
    main()
