"""Train DermQ's demo model on synthetic lesions and export it to ONNX.

Run from the repository root with Debian's python3-torch:

    nice /usr/bin/python3 models/scripts/train_demo.py

It writes models/demo.onnx, models/demo.json, the held-out localisation set
in inference/testdata/localise/ and prints the figures the model card quotes.
Everything is seeded, so a rerun on the same torch build gives the same model.
CPU only; about five minutes on two cores.
"""

import argparse
import json
import os
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

import lesions

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
TRAIN_SEED, TEST_SEED, LOCALISE_SEED = 20261203, 7, 424242
LOCALISE_WEIGHT = 1.0


def conv(cin, cout, stride):
    """Return a 3x3 convolution, batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DemoNet(nn.Module):
    """A small CNN: stride-16 features, global average pool, dropout, linear."""

    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(
            conv(3, 16, 2), conv(16, 24, 2), conv(24, 24, 1),
            conv(24, 48, 2), conv(48, 48, 1),
            conv(48, 96, 2), conv(96, 96, 1), conv(96, 96, 1),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(96, classes)

    def forward(self, x):
        x = self.pool(self.features(x)).flatten(1)
        return self.fc(self.dropout(x))


def to_tensor(images):
    """Return normalised NCHW float tensors for uint8 NHWC images."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(x, m, gen):
    """Flip images and masks at random (classes do not depend on orientation)."""
    if torch.rand(1, generator=gen).item() < 0.5:
        x, m = x.flip(3), m.flip(3)
    if torch.rand(1, generator=gen).item() < 0.5:
        x, m = x.flip(2), m.flip(2)
    return x, m


def outside_share(model, acts, masks):
    """Return the mean share of each class activation map outside the lesion.

    The map of class c is ReLU(sum_k w_ck A_k), which for this head is what
    Grad-CAM computes up to a constant. masks is the lesion cover of each
    feature cell (N,1,h,w), 0..1.
    """
    cams = F.relu(torch.einsum("ck,nkhw->nchw", model.fc.weight, acts))
    mass = cams.sum((2, 3)) + 1e-6
    return ((cams * (1 - masks)).sum((2, 3)) / mass).mean()


def train(model, images, labels, masks, epochs, batch):
    """Train with AdamW and a one-cycle schedule; return seconds taken.

    The loss is cross-entropy plus LOCALISE_WEIGHT times outside_share: the
    lesion masks teach the network to keep its class evidence on the lesion.
    """
    gen = torch.Generator().manual_seed(TRAIN_SEED)
    steps = epochs * (len(images) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    y = torch.from_numpy(labels).long()
    start = time.time()
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=gen)
        ce_sum = out_sum = 0.0
        for i in range(len(images) // batch):
            idx = order[i * batch:(i + 1) * batch].numpy()
            m = torch.from_numpy(masks[idx]).float()[:, None]
            x, m = augment(to_tensor(images[idx]), m, gen)
            acts = model.features(x)
            logits = model.fc(model.dropout(model.pool(acts).flatten(1)))
            ce = F.cross_entropy(logits, y[idx])
            out = outside_share(model, acts, F.adaptive_avg_pool2d(m, acts.shape[2:]))
            opt.zero_grad()
            (ce + LOCALISE_WEIGHT * out).backward()
            opt.step()
            sched.step()
            ce_sum += ce.item()
            out_sum += out.item()
        print(f"epoch {epoch + 1}/{epochs} cross-entropy {ce_sum / (i + 1):.3f} "
              f"outside share {out_sum / (i + 1):.3f} ({time.time() - start:.0f}s)",
              flush=True)
    return time.time() - start


def accuracy(model, images, labels):
    """Return the top-1 accuracy and the per-class accuracy on a set."""
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(to_tensor(images[i:i + 64])).argmax(1)
                          for i in range(0, len(images), 64)]).numpy()
    per_class = {lesions.LABELS[k]: float((pred[labels == k] == k).mean())
                 for k in range(len(lesions.LABELS))}
    return float((pred == labels).mean()), per_class


def gradcam_hits(model, images, masks):
    """Return how often the Grad-CAM peak of the top class is in the lesion."""
    model.eval()
    hits = 0
    for img, mask in zip(images, masks):
        acts = model.features(to_tensor(img[None]))
        acts.retain_grad()
        logits = model.fc(model.pool(acts).flatten(1))
        logits[0, logits.argmax()].backward()
        weights = acts.grad.mean((2, 3), keepdim=True)
        cam = F.relu((weights * acts).sum(1, keepdim=True))
        up = F.interpolate(cam, size=mask.shape, mode="bilinear", align_corners=False)
        hits += int(mask.flat[up.flatten().argmax().item()])
    return hits / len(images)


def export(model, path):
    """Export to ONNX and name the Grad-CAM target tensor "features"."""
    model.eval()
    dummy = torch.zeros(1, 3, lesions.SIZE, lesions.SIZE)
    torch.onnx.export(model, dummy, path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    graph = onnx.load(path)
    pool = next(n for n in graph.graph.node if n.op_type == "GlobalAveragePool")
    old = pool.input[0]
    for node in graph.graph.node:
        node.input[:] = ["features" if n == old else n for n in node.input]
        node.output[:] = ["features" if n == old else n for n in node.output]
    graph.producer_name = "dermq train_demo.py"
    onnx.checker.check_model(graph)
    onnx.save(graph, path)


def manifest(path):
    """Write the model's manifest."""
    doc = {
        "name": "demo",
        "version": "2",
        "input": {"name": "input", "layout": "NCHW", "size": [224, 224],
                  "color": "RGB", "scale": 255, "mean": MEAN, "std": STD,
                  "resize": "bilinear"},
        "output": {"name": "logits", "kind": "logits"},
        "labels": lesions.LABELS,
        "gradcam": {"target": "features"},
    }
    fields = [f'  "{key}": {json.dumps(value)}' for key, value in doc.items()]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(fields) + "\n}\n")


def localisation_set(folder, count):
    """Write count held-out images (JPEG) and lesion masks (1-bit PNG)."""
    os.makedirs(folder, exist_ok=True)
    images, labels, masks = lesions.dataset(LOCALISE_SEED, count)
    for i, (img, k, mask) in enumerate(zip(images, labels, masks)):
        stem = os.path.join(folder, f"{i:02d}_{lesions.LABELS[k]}")
        Image.fromarray(img).save(stem + ".jpg", quality=70, optimize=True)
        Image.fromarray(mask).convert("1").save(stem + ".mask.png", optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2800, help="training images")
    parser.add_argument("--test", type=int, default=700, help="held-out images")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="models")
    parser.add_argument("--localise", default="inference/testdata/localise")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(TRAIN_SEED)

    start = time.time()
    train_x, train_y, train_masks = lesions.dataset(TRAIN_SEED, args.train)
    test_x, test_y, test_masks = lesions.dataset(TEST_SEED, args.test)
    print(f"drew {args.train}+{args.test} images in {time.time() - start:.0f}s")

    model = DemoNet(len(lesions.LABELS))
    seconds = train(model, train_x, train_y, train_masks, args.epochs, batch=32)
    top1, per_class = accuracy(model, test_x, test_y)
    print(f"trained in {seconds:.0f}s; held-out top-1 {top1:.3f}")
    print("per class:", json.dumps(per_class))
    hits = gradcam_hits(model, test_x, test_masks)
    print(f"grad-cam peak inside the lesion on {hits:.3f} of held-out images")

    os.makedirs(args.out, exist_ok=True)
    export(model, os.path.join(args.out, "demo.onnx"))
    manifest(os.path.join(args.out, "demo.json"))
    localisation_set(args.localise, 60)


if __name__ == "__main__":
    main()
