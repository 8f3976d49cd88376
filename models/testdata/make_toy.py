"""Writes toy/denoiser.onnx and toy/prior.onnx: fixed-weight graphs with the bundle contract's
inputs and outputs (models/BUNDLE.md), for Go tests of the plumbing without a trained model.

denoiser: eps = 0.5 * (x_t - y) + 0 * t      prior: sigma = 0.5 + 0.5 * |y| (with a 3-tap smoothing)
"""
import onnx
from onnx import TensorProto, helper


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


dyn = [1, 1, "n"]
x = helper.make_tensor_value_info("x_t", TensorProto.FLOAT, dyn)
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, dyn)
t = helper.make_tensor_value_info("t", TensorProto.FLOAT, [1])
eps = helper.make_tensor_value_info("eps", TensorProto.FLOAT, dyn)
half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
save(helper.make_graph([
    helper.make_node("Sub", ["x_t", "y"], ["d"]),
    helper.make_node("Mul", ["d", "half"], ["hd"]),
    helper.make_node("Mul", ["t", "zero"], ["t0"]),
    helper.make_node("Add", ["hd", "t0"], ["eps"]),
], "toy_denoiser", [x, y, t], [eps], initializer=[half, zero]), "toy/denoiser.onnx")

sigma = helper.make_tensor_value_info("sigma", TensorProto.FLOAT, dyn)
w = helper.make_tensor("w", TensorProto.FLOAT, [1, 1, 3], [1 / 3, 1 / 3, 1 / 3])
save(helper.make_graph([
    helper.make_node("Abs", ["y"], ["a"]),
    helper.make_node("Conv", ["a", "w"], ["s"], pads=[1, 1]),
    helper.make_node("Mul", ["s", "half"], ["hs"]),
    helper.make_node("Add", ["hs", "half"], ["sigma"]),
], "toy_prior", [y], [sigma], initializer=[w, half]), "toy/prior.onnx")
