"""Which ONNX ops multiply by a constant weight, and which input holds it."""

# op -> index of its constant weight input. Int8 quantization converts every one of them.
WEIGHT_INPUT = {"MatMul": 1, "Gemm": 1, "Attention": 1}
# Smoothing scales the rows of a weight laid out [in, out]. Gemm may store its weight
# transposed (transB=1: [out, in]), where those rows are outputs, so Gemm is not smoothed.
SMOOTHABLE = {op: k for op, k in WEIGHT_INPUT.items() if op != "Gemm"}
