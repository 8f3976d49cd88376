"""Writes the fixed-weight graphs of the tiny bundle the eval and bench tests run.

denoiser.onnx: eps = 0.5*(x_t - y) + 0*t   (inputs x_t [1,1,n], y [1,1,n], t [1])
prior.onnx:    sigma = 0*y + 1             (input y [1,1,n])
Not a denoiser: it only gives the sampler, the engine and the runner real graphs to call.
Run with /usr/bin/python3 from this folder.
"""
import onnx
from onnx import TensorProto, helper


def save(nodes, name, inputs, outputs, inits):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, name + ".onnx")


def sig(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])

save([
    helper.make_node("Sub", ["x_t", "y"], ["d"]),
    helper.make_node("Mul", ["d", "half"], ["e0"]),
    helper.make_node("Mul", ["t", "zero"], ["t0"]),
    helper.make_node("Add", ["e0", "t0"], ["eps"]),
], "denoiser", [sig("x_t", [1, 1, "n"]), sig("y", [1, 1, "n"]), sig("t", [1])], [sig("eps", [1, 1, "n"])], [half, zero])

save([
    helper.make_node("Mul", ["y", "zero"], ["z"]),
    helper.make_node("Add", ["z", "one"], ["sigma"]),
], "prior", [sig("y", [1, 1, "n"])], [sig("sigma", [1, 1, "n"])], [zero, one])
