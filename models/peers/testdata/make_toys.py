"""Writes the tiny graphs the peers tests run without ../shared (run here with /usr/bin/python3):

toy_gtcrn.onnx, toy_ulunas.onnx: the I/O of each streaming peer format; enh = 0.5*mix and
    every cache_out = cache + 1, so a test can check the gain, the alignment and that the
    host feeds each run's caches to the next.
unknown.onnx: out = 2*x, a graph of no peer format.
"""
import onnx
from onnx import TensorProto, helper

FORMATS = {
    "gtcrn": [("conv_cache", [2, 1, 16, 16, 33]), ("tra_cache", [2, 3, 1, 1, 16]), ("inter_cache", [2, 1, 33, 16])],
    "ulunas": [("conv_cache", [1, 5358]), ("tfa_cache", [1, 402]), ("inter_cache", [1, 1056])],
}


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


for name, caches in FORMATS.items():
    inputs = [f32("mix", [1, 257, 1, 2])] + [f32(c, s) for c, s in caches]
    outputs = [f32("enh", [1, 257, 1, 2])] + [f32(c + "_out", s) for c, s in caches]
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    nodes = [helper.make_node("Mul", ["mix", "half"], ["enh"])]
    nodes += [helper.make_node("Add", [c, "one"], [c + "_out"]) for c, _ in caches]
    save(helper.make_graph(nodes, "toy_" + name, inputs, outputs, initializer=[half, one]), "toy_" + name + ".onnx")

two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
save(helper.make_graph([helper.make_node("Mul", ["x", "two"], ["out"])], "unknown",
                       [f32("x", [1, "n"])], [f32("out", [1, "n"])], initializer=[two]), "unknown.onnx")
