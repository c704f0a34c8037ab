#!/usr/bin/python3
"""Build tiny random-weight ONNX classifiers and their autograd Grad-CAM.

Run from anywhere with Debian's python3-torch and python3-onnx:

    /usr/bin/python3 inference/testdata/make_gradcam_fixtures.py

For every model it writes gradcam/NAME.onnx, a manifest gradcam/NAME.json and
the reference gradcam/NAME.ref.json: for a few inputs and classes, the class
probabilities and the raw Grad-CAM map computed by torch autograd,

    weights_k = mean over (y, x) of d logit_c / d A[k, y, x]
    map       = ReLU(sum over k of weights_k * A_k)

where A is the activation that feeds the last global pooling. The inputs are
not stored: they come from a small integer generator that the Go tests repeat
(see fixture_input below and fixtureInput in gradcam_fixture_test.go).
"""

import io
import json
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "gradcam")
SIZE = 32
CLASSES = 5
SEEDS = [1, 2]


def fixture_input(seed, count):
    """Values in [-2, 2] from a 32-bit LCG, exact in float32 in any language."""
    state = seed
    values = []
    for _ in range(count):
        state = (state * 1664525 + 1013904223) % (1 << 32)
        values.append(((state >> 8) % 2001 - 1000) / 500.0)
    return np.array(values, dtype=np.float32)


class Backbone(torch.nn.Module):
    """Two strided convolutions: 3x32x32 -> 12x8x8, NCHW."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 12, 3, stride=2, padding=1)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))


class Classifier(torch.nn.Module):
    """Backbone, global average pooling, then a head module."""

    def __init__(self, head):
        super().__init__()
        self.backbone = Backbone()
        self.head = head

    def forward(self, x):
        a = self.backbone(x)
        p = torch.nn.functional.adaptive_avg_pool2d(a, 1).flatten(1)
        return self.head(p)

    def activation_and_logits(self, x):
        a = self.backbone(x)
        a.retain_grad()
        p = a.mean(dim=(2, 3))
        return a, self.head(p)


class MultiLabel(Classifier):
    """A Classifier whose output is a Sigmoid per class (multi-label), so the
    exported graph ends in Sigmoid; Grad-CAM explains the logit before it."""

    def forward(self, x):
        return torch.sigmoid(super().forward(x))


def softmax_rows(logits):
    return torch.softmax(logits, dim=1)


class Sine(torch.nn.Module):
    """An activation DermQ's head replay does not know (ONNX Sin)."""

    def forward(self, x):
        return torch.sin(x)


def sig(v):
    """v to 7 significant digits, enough for float32 results."""
    return float(f"{v:.7g}")


def reference_cam(a, logits, cls, channel_axis):
    """Raw Grad-CAM by autograd, as rows of columns."""
    if a.grad is not None:
        a.grad.zero_()
    logits[0, cls].backward(retain_graph=True)
    grad = a.grad[0]
    act = a[0].detach()
    if channel_axis == 3:
        grad = grad.permute(2, 0, 1)
        act = act.permute(2, 0, 1)
    weights = grad.mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * act).sum(dim=0))
    return cam.tolist()


def cases(forward, shape, channel_axis, to_probabilities=softmax_rows):
    """Reference probabilities and maps for every seed, top class and class 2.
    to_probabilities turns the logits into the model's output."""
    out = []
    for seed in SEEDS:
        x = torch.from_numpy(fixture_input(seed, int(np.prod(shape)))).reshape(shape)
        a, logits = forward(x)
        probs = to_probabilities(logits)[0]
        top = int(torch.argmax(probs))
        for cls in sorted({top, 2}):
            out.append({
                "seed": seed,
                "class": cls,
                "top": top,
                "probabilities": [sig(v) for v in probs.tolist()],
                "cam": [[sig(v) for v in row] for row in
                        reference_cam(a, logits, cls, channel_axis)],
            })
    return out


def export_torch(model, name, opset, dynamic_size=False, output="logits"):
    """Export a Classifier with the stock torch exporter; returns the model.
    With dynamic_size the input's height and width are symbolic too."""
    buf = io.BytesIO()
    x = torch.zeros(1, 3, SIZE, SIZE)
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    torch.onnx.export(model, x, buf, opset_version=opset, input_names=["input"],
                      output_names=[output],
                      dynamic_axes={"input": axes, output: {0: "batch"}})
    return onnx.load_from_string(buf.getvalue())


def insert_dropout(proto):
    """Put a Dropout after the GlobalAveragePool, as a dropout layer exports in
    training-preserving mode, so the head reads pool, dropout, linear."""
    graph = proto.graph
    for i, node in enumerate(graph.node):
        if node.op_type == "GlobalAveragePool":
            pooled = node.output[0]
            node.output[0] = pooled + "_pre_dropout"
            drop = helper.make_node("Dropout", [node.output[0]], [pooled],
                                    name="head_dropout")
            graph.node.insert(i + 1, drop)
            return proto
    raise RuntimeError("no GlobalAveragePool to follow")


def save(name, proto, manifest, ref):
    os.makedirs(OUT, exist_ok=True)
    onnx.save(proto, os.path.join(OUT, name + ".onnx"))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    with open(os.path.join(OUT, name + ".ref.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")


def torch_fixture(name, head, opset, note, gradcam=True, dropout=False,
                  manifest=None, multi_label=False):
    model = (MultiLabel(head) if multi_label else Classifier(head)).eval()
    proto = export_torch(model, name, opset, dynamic_size=manifest is not None,
                         output="probabilities" if multi_label else "logits")
    if dropout:
        proto = insert_dropout(proto)
    ref = {
        "note": note,
        "shape": [1, 3, SIZE, SIZE],
        "gradcam": gradcam,
        "cases": cases(model.activation_and_logits, (1, 3, SIZE, SIZE), 1,
                       torch.sigmoid if multi_label else softmax_rows),
    }
    save(name, proto, manifest or {"name": name, "version": "1"}, ref)


class KerasStyle(torch.nn.Module):
    """The torch twin of the NHWC graph built by keras_graph."""

    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.dense = torch.nn.Linear(12, CLASSES)

    def activation_and_logits(self, x_nhwc):
        a = self.backbone(x_nhwc.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        a.retain_grad()
        return a, self.dense(a.mean(dim=(1, 2)))


def init(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def keras_graph(model, opset, quantized=False):
    """An NHWC graph in the shape tf2onnx gives a Keras model: Transpose in,
    convolutions, Transpose out, ReduceMean over axes 1 and 2, MatMul, Add,
    Softmax. From opset 18 ReduceMean takes its axes as an input."""
    b = model.backbone
    w = model.dense.weight.detach().numpy().T
    inits = [
        init("conv1/kernel", b.conv1.weight.detach().numpy()),
        init("conv1/bias", b.conv1.bias.detach().numpy()),
        init("conv2/kernel", b.conv2.weight.detach().numpy()),
        init("conv2/bias", b.conv2.bias.detach().numpy()),
        init("dense/bias", model.dense.bias.detach().numpy()),
    ]
    conv = dict(pads=[1, 1, 1, 1], strides=[2, 2], kernel_shape=[3, 3])
    nodes = [
        helper.make_node("Transpose", ["input_1"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv1/kernel", "conv1/bias"], ["c1"], **conv),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "conv2/kernel", "conv2/bias"], ["c2"], **conv),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Transpose", ["r2"], ["top_activation"], perm=[0, 2, 3, 1]),
    ]
    if opset >= 18:
        inits.append(init("pool/axes", [1, 2], np.int64))
        inits.append(init("pool/squeeze", [1, 2], np.int64))
        nodes.append(helper.make_node("ReduceMean", ["top_activation", "pool/axes"],
                                      ["pool_keep"], keepdims=1))
        nodes.append(helper.make_node("Squeeze", ["pool_keep", "pool/squeeze"], ["pool"]))
    else:
        nodes.append(helper.make_node("ReduceMean", ["top_activation"], ["pool"],
                                      axes=[1, 2], keepdims=0))
    if quantized:
        scale = float(np.abs(w).max() / 127)
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        inits += [init("dense/kernel_q", q, np.int8), init("dense/scale", scale),
                  init("dense/zero", 0, np.int8)]
        nodes.append(helper.make_node("DequantizeLinear",
                                      ["dense/kernel_q", "dense/scale", "dense/zero"],
                                      ["dense/kernel"]))
        with torch.no_grad():
            model.dense.weight.copy_(torch.from_numpy((q.astype(np.float32) * scale).T))
    else:
        inits.append(init("dense/kernel", w))
    nodes += [
        helper.make_node("MatMul", ["pool", "dense/kernel"], ["dense_mm"]),
        helper.make_node("Add", ["dense_mm", "dense/bias"], ["dense_logits"]),
        helper.make_node("Softmax", ["dense_logits"], ["dense"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "keras_style",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT,
                                       ["unk__1", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("dense", TensorProto.FLOAT, ["unk__2", CLASSES])],
        inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tf2onnx-style fixture")
    proto.ir_version = 8
    return proto


def keras_fixture(name, opset, note, quantized=False, manifest=None):
    model = KerasStyle().eval()
    proto = keras_graph(model, opset, quantized)
    ref = {
        "note": note,
        "shape": [1, SIZE, SIZE, 3],
        "gradcam": not quantized,
        "cases": cases(model.activation_and_logits, (1, SIZE, SIZE, 3), 3),
    }
    save(name, proto, manifest if manifest is not None else {"name": name}, ref)


def main():
    torch.manual_seed(0)
    torch_fixture(
        "nchw_pool_dropout_linear",
        torch.nn.Linear(12, CLASSES), 13,
        "PyTorch style: GlobalAveragePool, Dropout, Flatten, Gemm; logits out",
        dropout=True)
    torch_fixture(
        "nchw_pool_linear_hardswish_linear",
        torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.Hardswish(),
                            torch.nn.Linear(16, CLASSES)), 14,
        "PyTorch style: GlobalAveragePool, Gemm, HardSwish, Gemm")
    torch_fixture(
        "nchw_pool_silu_gelu",
        torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.SiLU(),
                            torch.nn.Linear(16, 16), torch.nn.GELU(),
                            torch.nn.Linear(16, CLASSES)), 13,
        "PyTorch style: Gemm, SiLU as x*Sigmoid(x), Gemm, GELU built from Erf, Gemm")
    torch_fixture(
        "nchw_unsupported_head",
        torch.nn.Sequential(torch.nn.Linear(12, 16), Sine(),
                            torch.nn.Linear(16, CLASSES)), 13,
        "a head with Sin, which the replay does not support: gradcam_error",
        gradcam=False)
    keras_fixture("nhwc_reducemean_softmax", 13,
                  "Keras via tf2onnx style, opset 13: ReduceMean axes attribute, "
                  "MatMul, Add, Softmax")
    keras_fixture("nhwc_reducemean_axes_input", 18,
                  "Keras via tf2onnx style, opset 18: ReduceMean axes input, Squeeze",
                  manifest={})
    keras_fixture("nhwc_quantized_dense", 13,
                  "a dense layer with int8 weights (DequantizeLinear): gradcam_error",
                  quantized=True)
    torch_fixture(
        "nchw_dynamic_size",
        torch.nn.Linear(12, CLASSES), 13,
        "PyTorch export with dynamic height and width: the manifest gives the size",
        manifest={"name": "nchw_dynamic_size", "input": {"size": [SIZE, SIZE]}})
    sigmoid_fixture()


def sigmoid_fixture():
    """Seeded on its own, so it can be made without the others."""
    torch.manual_seed(11)
    torch_fixture(
        "nchw_pool_linear_sigmoid",
        torch.nn.Linear(12, CLASSES), 13,
        "multi-label: Gemm then Sigmoid, no output.kind; probabilities are the "
        "sigmoids, Grad-CAM explains the logit before the Sigmoid",
        multi_label=True)


if __name__ == "__main__":
    main()
