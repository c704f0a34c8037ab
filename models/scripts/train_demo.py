"""Train DermQ's demo model on synthetic lesions and export it to ONNX.

Run from the repository root with Debian's python3-torch:

    nice /usr/bin/python3 models/scripts/train_demo.py

It trains, prints accuracy and Grad-CAM localisation on a validation set
(its own seed, used to choose the recipe) and writes models/demo.onnx,
models/demo.json and a checkpoint. With --final it also prints the figures
on the held-out set that the model card quotes and writes the held-out
localisation set in inference/testdata/localise/; --load skips training and
uses a checkpoint. Everything is seeded, so a rerun on the same torch build
gives the same model. CPU only, one thread unless --threads (or
DERMQ_TRAIN_THREADS) says otherwise; see models/MODEL_CARD.md for the time.
"""

import argparse
import json
import os
import tempfile
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
TRAIN_SEED, VAL_SEED, TEST_SEED, LOCALISE_SEED = 20261203, 99, 7, 424242
LOCALISE_WEIGHT = 1.0
PEAK_WEIGHT = 1.0
PEAK_SHARPNESS = 8.0
CELL = 16


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
    """Flip and turn images and masks at random (classes have no orientation)."""
    if torch.rand(1, generator=gen).item() < 0.5:
        x, m = x.flip(3), m.flip(3)
    if torch.rand(1, generator=gen).item() < 0.5:
        x, m = x.flip(2), m.flip(2)
    if torch.rand(1, generator=gen).item() < 0.5:
        x, m = x.transpose(2, 3), m.transpose(2, 3)
    return x, m


def cell_centres(m):
    """Return the lesion cover at the centre of each feature cell (N,1,h,w).

    Upsampled bilinearly, a map peaks next to the centre of its largest
    cell, so these are the cells whose peak would land on the lesion.
    """
    half = CELL // 2
    return (m[:, :, half - 1::CELL, half - 1::CELL] + m[:, :, half::CELL, half - 1::CELL]
            + m[:, :, half - 1::CELL, half::CELL] + m[:, :, half::CELL, half::CELL]) / 4


def outside_share(model, acts, masks):
    """Return the mean share of each class activation map outside the lesion.

    The map of class c is ReLU(sum_k w_ck A_k), which for this head is what
    Grad-CAM computes up to a constant. masks is the lesion cover of each
    feature cell (N,1,h,w), 0..1.
    """
    cams = F.relu(torch.einsum("ck,nkhw->nchw", model.fc.weight, acts))
    mass = cams.sum((2, 3)) + 1e-6
    return ((cams * (1 - masks)).sum((2, 3)) / mass).mean()


def class_cams(model, acts, classes):
    """Return the class activation map of each image's given class (N,h,w)."""
    return F.relu(torch.einsum("nk,nkhw->nhw", model.fc.weight[classes], acts))


def outside_peak(model, acts, classes, centres):
    """Return the mean weight of a soft peak of the true class's map off the lesion.

    The map is turned into a distribution over cells that concentrates on
    its largest cells (softmax of the map over its own maximum, times
    PEAK_SHARPNESS); the loss is the share of that distribution on cells
    whose centre lies off the lesion, so it pulls the peak itself inside.
    """
    cams = class_cams(model, acts, classes).flatten(1)
    scale = cams.max(1, keepdim=True).values.detach() + 1e-6
    weights = torch.softmax(PEAK_SHARPNESS * cams / scale, 1)
    return (weights * (1 - centres.flatten(1))).sum(1).mean()


def train(model, data, val, epochs, batch, lr):
    """Train with AdamW and a one-cycle schedule; return seconds taken.

    The loss is cross-entropy plus LOCALISE_WEIGHT times outside_share plus
    PEAK_WEIGHT times outside_peak: the lesion masks teach the network to
    keep its class evidence, and above all its strongest evidence, on the
    lesion. After each epoch it prints the figures on the validation set.
    """
    images, labels, masks = data
    gen = torch.Generator().manual_seed(TRAIN_SEED)
    steps = epochs * (len(images) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    y = torch.from_numpy(labels).long()
    start = time.time()
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=gen)
        model.train()
        ce_sum = out_sum = peak_sum = 0.0
        for i in range(len(images) // batch):
            idx = order[i * batch:(i + 1) * batch].numpy()
            m = torch.from_numpy(masks[idx]).float()[:, None]
            x, m = augment(to_tensor(images[idx]), m, gen)
            acts = model.features(x)
            logits = model.fc(model.dropout(model.pool(acts).flatten(1)))
            ce = F.cross_entropy(logits, y[idx])
            out = outside_share(model, acts, F.adaptive_avg_pool2d(m, acts.shape[2:]))
            off_peak = outside_peak(model, acts, y[idx], cell_centres(m))
            opt.zero_grad()
            (ce + LOCALISE_WEIGHT * out + PEAK_WEIGHT * off_peak).backward()
            opt.step()
            sched.step()
            ce_sum += ce.item()
            out_sum += out.item()
            peak_sum += off_peak.item()
        print(f"epoch {epoch + 1}/{epochs} cross-entropy {ce_sum / (i + 1):.3f} "
              f"outside share {out_sum / (i + 1):.3f} "
              f"peak outside {peak_sum / (i + 1):.3f} ({time.time() - start:.0f}s)",
              flush=True)
        report(model, "validation", *val)
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
    """Return how often the Grad-CAM peak of the top class is in the lesion.

    For a global average pool and a linear layer the Grad-CAM channel
    weights are the class's linear weights divided by the map's cell count,
    so the map is computed directly; its peak is taken after the same
    bilinear upsampling DermQ uses.
    """
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(images), 64):
            acts = model.features(to_tensor(images[i:i + 64]))
            top = model.fc(model.pool(acts).flatten(1)).argmax(1)
            cams = class_cams(model, acts, top)[:, None]
            up = F.interpolate(cams, size=masks.shape[1:], mode="bilinear",
                               align_corners=False).flatten(1)
            flat = torch.from_numpy(masks[i:i + 64].reshape(len(up), -1))
            hits += int(flat.gather(1, up.argmax(1, keepdim=True)).sum())
    return hits / len(images)


def report(model, name, images, labels, masks):
    """Print top-1, per-class accuracy and Grad-CAM localisation on a set."""
    top1, per_class = accuracy(model, images, labels)
    hits = gradcam_hits(model, images, masks)
    classes = ", ".join(f"{k} {v:.2f}" for k, v in per_class.items())
    print(f"{name}: top-1 {top1:.3f} ({classes}); "
          f"grad-cam peak inside the lesion {hits:.3f}", flush=True)


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
        "version": "3",
        "input": {"name": "input", "layout": "NCHW", "size": [224, 224],
                  "color": "RGB", "scale": 255, "mean": MEAN, "std": STD,
                  "resize": "bilinear"},
        "output": {"name": "logits", "kind": "logits"},
        "labels": lesions.LABELS,
        "label_names": lesions.LABEL_NAMES,
        "gradcam": {"target": "features"},
    }
    fields = [f'  "{key}": {json.dumps(value)}' for key, value in doc.items()]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(fields) + "\n}\n")


def localisation_set(folder, count):
    """Write count held-out images (JPEG) and lesion masks (1-bit PNG)."""
    os.makedirs(folder, exist_ok=True)
    for old in os.listdir(folder):
        if old.endswith((".jpg", ".mask.png")):
            os.remove(os.path.join(folder, old))
    images, labels, masks = lesions.dataset(LOCALISE_SEED, count)
    for i, (img, k, mask) in enumerate(zip(images, labels, masks)):
        stem = os.path.join(folder, f"{i:03d}_{lesions.LABELS[k]}")
        Image.fromarray(img).save(stem + ".jpg", quality=70, optimize=True)
        Image.fromarray(mask).convert("1").save(stem + ".mask.png", optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=5600, help="training images")
    parser.add_argument("--val", type=int, default=700, help="validation images")
    parser.add_argument("--test", type=int, default=700, help="held-out images")
    parser.add_argument("--localise", type=int, default=100,
                        help="held-out localisation images to write")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--threads", type=int,
                        default=int(os.environ.get("DERMQ_TRAIN_THREADS", "1")))
    parser.add_argument("--out", default="models")
    parser.add_argument("--checkpoint",
                        default=os.path.join(tempfile.gettempdir(), "dermq-demo.pt"),
                        help="where to save the trained weights")
    parser.add_argument("--load", help="use this checkpoint instead of training")
    parser.add_argument("--final", action="store_true",
                        help="evaluate on the held-out sets and write the localisation set")
    parser.add_argument("--localise-dir", default="inference/testdata/localise")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(TRAIN_SEED)

    start = time.time()
    val = lesions.dataset(VAL_SEED, args.val)
    model = DemoNet(len(lesions.LABELS))
    if args.load:
        model.load_state_dict(torch.load(args.load))
        report(model, "validation", *val)
    else:
        data = lesions.dataset(TRAIN_SEED, args.train)
        print(f"drew {args.train}+{args.val} images in {time.time() - start:.0f}s",
              flush=True)
        seconds = train(model, data, val, args.epochs, 32, args.lr)
        print(f"trained in {seconds:.0f}s with {args.threads} thread(s)", flush=True)
        torch.save(model.state_dict(), args.checkpoint)

    os.makedirs(args.out, exist_ok=True)
    export(model, os.path.join(args.out, "demo.onnx"))
    manifest(os.path.join(args.out, "demo.json"))
    if args.final:
        report(model, "held-out", *lesions.dataset(TEST_SEED, args.test))
        localisation_set(args.localise_dir, args.localise)
        report(model, "localisation set", *lesions.dataset(LOCALISE_SEED, args.localise))


if __name__ == "__main__":
    main()
