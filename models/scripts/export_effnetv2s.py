"""Export an EfficientNetV2-S sized model for DermQ's benchmarks.

torchvision's efficientnet_v2_s architecture with random weights (nothing is
downloaded) and a 7-class head, exported to ONNX with a DermQ manifest in a
cache folder outside the repository. The benchmarks in inference/ use it to
measure DermQ on a production-sized network; its predictions mean nothing.

    nice /usr/bin/python3 models/scripts/export_effnetv2s.py

Writes ~/.cache/dermq/models/effnetv2s.onnx and effnetv2s.json (about 80 MB;
never commit them). Pass --out to choose another folder.
"""

import argparse
import json
import os

import torch
import torchvision

LABELS = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
SEED = 20261203


def build():
    """Return the network with random weights and settled batch-norm statistics.

    Freshly initialised batch-norm layers hold mean 0 and variance 1, which
    lets activations grow layer by layer; a few training-mode passes on noise
    give them realistic statistics so the exported model yields finite logits.
    """
    torch.manual_seed(SEED)
    model = torchvision.models.efficientnet_v2_s(weights=None, num_classes=len(LABELS))
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 224, 224))
    return model.eval()


def manifest(path):
    """Write the model's manifest; the Grad-CAM target is found in the graph."""
    doc = {
        "name": "effnetv2s-random",
        "version": "1",
        "input": {"name": "input", "layout": "NCHW", "size": [224, 224],
                  "color": "RGB", "scale": 255, "mean": [0.485, 0.456, 0.406],
                  "std": [0.229, 0.224, 0.225], "resize": "bilinear"},
        "output": {"name": "logits", "kind": "logits"},
        "labels": LABELS,
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.path.join(os.path.expanduser("~"), ".cache", "dermq", "models")
    parser.add_argument("--out", default=default, help="output folder")
    args = parser.parse_args()

    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    model = build()
    onnx_path = os.path.join(args.out, "effnetv2s.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), onnx_path,
                      opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    manifest(os.path.join(args.out, "effnetv2s.json"))
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
