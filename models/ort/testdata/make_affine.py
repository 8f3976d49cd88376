"""Writes affine.onnx, the tiny fixed-weight graph the ort tests run: out = 2*x + y, dynamic length."""
import onnx
from onnx import TensorProto, helper

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "n"])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "n"])
out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, "n"])
two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
nodes = [
    helper.make_node("Mul", ["x", "two"], ["x2"]),
    helper.make_node("Add", ["x2", "y"], ["out"]),
]
graph = helper.make_graph(nodes, "affine", [x, y], [out], initializer=[two])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, "affine.onnx")
