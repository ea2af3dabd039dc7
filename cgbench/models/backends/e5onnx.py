"""multilingual-e5-small in ONNX Runtime, from the same Q4_0 weights as the torch engine (``e5torch``).

The encoder layers are written as a plain ONNX graph (MatMul, Softmax, LayerNormalization, Gelu) from
the dequantized tensors; the token, position and type embeddings and their layer norm are computed in
numpy in front of it, so the graph holds only the 12 layers. ``int8`` quantizes the graph's weight
matrices per output channel with ONNX Runtime's dynamic quantization (activations are quantized per
tensor at run time); ``fp32`` runs the graph as it is. Tokenization and windowing are the torch
engine's. Each window runs alone (a batch of one): a dynamically quantized activation's scale is taken
over the whole tensor, so a shared batch would make a text's vector depend on its neighbours.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from cgbench.models.backends.e5torch import QK, ModelFile, Tokenizer, WindowedE5, bundled_model

PRECISIONS = ("q4", "int8", "fp32")  # q4: the file's own 4-bit weights, int8 activations
OPSET = 20  # Gelu is an ONNX op from opset 20


def _threads() -> int:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else 0  # 0: ONNX Runtime picks the cores


def q4_matmul_weights(raw: bytes, out: int, inp: int) -> tuple[np.ndarray, np.ndarray]:
    """A Q4_0 tensor (out, in) as ``MatMulNBits`` wants it: codes packed two per byte (element 2i in the low
    nibble of byte i) in blocks of 32 along ``in``, one fp32 scale per block; the zero point is 8 in both."""
    blocks = np.frombuffer(raw, dtype=np.uint8, count=out * inp // QK * 18).reshape(out, inp // QK, 18)
    scales = blocks[..., :2].copy().view(np.float16).astype(np.float32).reshape(-1)
    qs = blocks[..., 2:]
    codes = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # Q4_0: element j low nibble, j + 16 high nibble
    packed = (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)
    return packed, scales


def build_graph(model: ModelFile, q4: bool = False):
    """The encoder layers as an ONNX model: ``hidden`` (1, L, H) after the embedding layer norm -> ``pooled`` (1, H).

    With ``q4`` the weight matrices stay the file's own Q4_0 blocks, in ``MatMulNBits`` nodes that quantize
    each row of activations to int8 per block of 32 (``accuracy_level`` 4) and accumulate in int32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF = model.H, model.NH, model.FF
    D = H // NH
    t = model.tensors
    nodes, weights = [], []

    def const(name: str, array: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def linear(x: str, prefix: str, out: int, inp: int, name: str) -> str:
        b = const(f"{name}.b", t[f"{prefix}.b"])
        if q4:
            packed, scales = q4_matmul_weights(model.q4_blocks[f"{prefix}.w"], out, inp)
            weights.append(numpy_helper.from_array(packed, f"{name}.q4"))
            s = const(f"{name}.scales", scales)
            nodes.append(
                helper.make_node(
                    "MatMulNBits", [x, f"{name}.q4", s], [f"{name}.mm"], name=f"{name}.matmul", domain="com.microsoft",
                    K=inp, N=out, bits=4, block_size=QK, accuracy_level=4,
                )
            )  # fmt: skip
        else:
            w = const(f"{name}.w", t[f"{prefix}.w"].reshape(out, inp).T)
            nodes.append(helper.make_node("MatMul", [x, w], [f"{name}.mm"], name=f"{name}.matmul"))
        nodes.append(helper.make_node("Add", [f"{name}.mm", b], [f"{name}.out"], name=f"{name}.bias"))
        return f"{name}.out"

    def layer_norm(x: str, prefix: str, name: str) -> str:
        w, b = const(f"{name}.g", t[f"{prefix}.w"]), const(f"{name}.beta", t[f"{prefix}.b"])
        nodes.append(helper.make_node("LayerNormalization", [x, w, b], [name], epsilon=model.eps, axis=-1, name=name))
        return name

    def shape(name: str, values: list[int]) -> str:
        weights.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    heads_shape, merge_shape = shape("heads_shape", [0, 0, NH, D]), shape("merge_shape", [0, 0, H])
    scale = const("scale", np.array(1.0 / np.sqrt(D)))
    x = "hidden"
    for i in range(model.NL):
        p = f"l{i}"
        heads = {}
        for part, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            projected = linear(x, f"{p}.{part}", H, H, f"{p}.{part}")
            nodes.append(helper.make_node("Reshape", [projected, heads_shape], [f"{p}.{part}.heads"]))
            nodes.append(helper.make_node("Transpose", [f"{p}.{part}.heads"], [f"{p}.{part}.t"], perm=perm))
            heads[part] = f"{p}.{part}.t"
        nodes += [
            helper.make_node("MatMul", [heads["q"], heads["k"]], [f"{p}.qk"]),
            helper.make_node("Mul", [f"{p}.qk", scale], [f"{p}.logits"]),
            helper.make_node("Softmax", [f"{p}.logits"], [f"{p}.probs"], axis=-1),
            helper.make_node("MatMul", [f"{p}.probs", heads["v"]], [f"{p}.ctx"]),
            helper.make_node("Transpose", [f"{p}.ctx"], [f"{p}.ctx.t"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [f"{p}.ctx.t", merge_shape], [f"{p}.ctx.m"]),
        ]
        attended = linear(f"{p}.ctx.m", f"{p}.ao", H, H, f"{p}.ao")
        nodes.append(helper.make_node("Add", [x, attended], [f"{p}.res1"]))
        x = layer_norm(f"{p}.res1", f"{p}.aln", f"{p}.aln")
        mid = linear(x, f"{p}.fi", FF, H, f"{p}.fi")
        nodes.append(helper.make_node("Gelu", [mid], [f"{p}.gelu"]))
        out = linear(f"{p}.gelu", f"{p}.fo", H, FF, f"{p}.fo")
        nodes.append(helper.make_node("Add", [x, out], [f"{p}.res2"]))
        x = layer_norm(f"{p}.res2", f"{p}.oln", f"{p}.oln")
    nodes.append(helper.make_node("ReduceMean", [x, shape("pool_axes", [1])], ["pooled"], keepdims=0))
    graph = helper.make_graph(
        nodes,
        "e5-small-encoder",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [1, "length", H])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [1, H])],
        weights,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    onnx_model = helper.make_model(graph, opset_imports=opsets)
    onnx_model.ir_version = 9
    if not q4:  # the checker does not know com.microsoft's ops
        onnx.checker.check_model(onnx_model)
    return onnx_model


def session_bytes(model: ModelFile, precision: str) -> bytes:
    """The serialized ONNX model the session runs: the graph as built, or its int8 weight-quantized form."""
    onnx_model = build_graph(model, q4=precision == "q4")
    if precision in ("fp32", "q4"):
        return onnx_model.SerializeToString()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "int8.onnx"
        quantize_dynamic(
            onnx_model, out, per_channel=True, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"]
        )
        return out.read_bytes()


class OnnxE5(WindowedE5):
    """L2-normalised e5 query embeddings from ONNX Runtime, one window at a time."""

    def __init__(self, path: str | Path | None = None, *, precision: str = "q4", window: int = 512) -> None:
        import onnxruntime as ort

        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} for the onnx engine: choose {', '.join(PRECISIONS)}")
        model = ModelFile(path or bundled_model())
        if not 3 <= window <= model.MAXP:
            raise ValueError(f"window must be between 3 and {model.MAXP} tokens, got {window}")
        self.precision = precision
        self.tokenizer = Tokenizer(model)
        self.window = window - 2
        self.cfg = model
        H = model.H
        self.word = model.tensors["emb.word"].reshape(model.VOC, H)
        self.pos = model.tensors["emb.pos"].reshape(-1, H)
        self.type = model.tensors["emb.type"].reshape(-1, H)[0]
        self.eln = (model.tensors["emb.ln.w"], model.tensors["emb.ln.b"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            session_bytes(model, precision), options, providers=["CPUExecutionProvider"]
        )

    def _forward(self, window: list[int]) -> np.ndarray:
        x = self.word[window] + self.pos[: len(window)] + self.type
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        x = (x - mean) / np.sqrt(var + self.cfg.eps) * self.eln[0] + self.eln[1]
        (pooled,) = self.session.run(["pooled"], {"hidden": x[None].astype(np.float32)})
        return pooled[0].astype(np.float64)
