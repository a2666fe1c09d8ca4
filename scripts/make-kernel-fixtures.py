#!/usr/bin/env python3
"""Writes the kernel test fixtures from an independent reference: the `gguf` PyPI package's
numpy (de)quantizers (pip install gguf numpy). Run once; the outputs are committed.

Tests/ForgeKernelsTests/Fixtures/
  dequantize/TYPE.blocks   random encoded blocks (scales kept finite)
  dequantize/TYPE.f32      gguf.quants.dequantize of them, little-endian float32
  quantize/TYPE.input.f32  float32 inputs with awkward values (zeros, ties, tiny, huge)
  quantize/TYPE.blocks     gguf.quants.quantize of them
"""
import pathlib
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/ForgeKernelsTests/Fixtures"
rng = np.random.default_rng(20261122)

# Byte offsets of the f16 scale fields inside one block, which must hold finite values.
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.IQ4_NL: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
BLOCKS = {T.F16: 1024, T.BF16: 1024}  # element counts for the unblocked types


def random_halves(count):
    return (rng.standard_normal(count) * 0.05).astype(np.float16).view(np.uint8).reshape(count, 2)


def write_dequantize_fixtures():
    folder = OUT / "dequantize"
    folder.mkdir(parents=True, exist_ok=True)
    for qtype, fields in HALF_FIELDS.items():
        block_size, type_size = quants.GGML_QUANT_SIZES[qtype]
        block_count = 64 if block_size == 32 else 12
        data = rng.integers(0, 256, size=(block_count, type_size), dtype=np.uint8)
        for offset in fields:
            data[:, offset:offset + 2] = random_halves(block_count)
        values = quants.dequantize(data.reshape(-1), qtype).astype(np.float32)
        assert values.size == block_count * block_size
        (folder / f"{qtype.name}.blocks").write_bytes(data.tobytes())
        (folder / f"{qtype.name}.f32").write_bytes(values.astype("<f4").tobytes())
    # F16 and BF16: every bit pattern class, including subnormals, infinities and NaNs.
    halves = rng.integers(0, 1 << 16, size=BLOCKS[T.F16], dtype=np.uint16)
    (folder / "F16.blocks").write_bytes(halves.astype("<u2").tobytes())
    (folder / "F16.f32").write_bytes(quants.dequantize(halves.view(np.uint8), T.F16).astype("<f4").tobytes())
    brains = rng.integers(0, 1 << 16, size=BLOCKS[T.BF16], dtype=np.uint16)
    (folder / "BF16.blocks").write_bytes(brains.astype("<u2").tobytes())
    (folder / "BF16.f32").write_bytes(quants.dequantize(brains.view(np.uint8), T.BF16).astype("<f4").tobytes())


def awkward_inputs(count):
    values = rng.standard_normal(count).astype(np.float32) * np.float32(0.7)
    values[:32] = 0                                      # an all-zero block
    values[32:64] = np.arange(32, dtype=np.float32) - 16  # exact halves after scaling
    values[64:96] = rng.standard_normal(32).astype(np.float32) * np.float32(1e-6)
    values[96:128] = rng.standard_normal(32).astype(np.float32) * np.float32(3e4)
    values[128:160] = -np.abs(values[128:160])           # largest magnitude negative
    values[160:192] = np.float32(0.25)                   # constant block
    return values


def write_quantize_fixtures():
    folder = OUT / "quantize"
    folder.mkdir(parents=True, exist_ok=True)
    for qtype in [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]:
        values = awkward_inputs(32 * 96)
        (folder / f"{qtype.name}.input.f32").write_bytes(values.astype("<f4").tobytes())
        (folder / f"{qtype.name}.blocks").write_bytes(quants.quantize(values, qtype).tobytes())
    # F16 / BF16 rounding: random magnitudes across the whole range, plus exact ties.
    exponents = rng.uniform(-30, 20, size=4096)
    values = (rng.choice([-1.0, 1.0], size=4096) * np.exp2(exponents)).astype(np.float32)
    ties = (np.arange(1, 513, dtype=np.uint32) << 13 | 0x1000 | 0x3f800000).view(np.float32)
    bf_ties = (np.arange(1, 513, dtype=np.uint32) << 16 | 0x8000 | 0x3f800000).view(np.float32)
    values = np.concatenate([values, ties, bf_ties, np.float32([0, -0.0, 65504, 65519, 65520, 1e9, -1e9,
                                                               np.inf, -np.inf, 5.96e-8, 2.98e-8, 3e-8])])
    values = values.astype(np.float32)
    for qtype in [T.F16, T.BF16]:
        (folder / f"{qtype.name}.input.f32").write_bytes(values.astype("<f4").tobytes())
        encoded = values.astype(np.float16) if qtype == T.F16 else quants.quantize(values, qtype)
        (folder / f"{qtype.name}.blocks").write_bytes(np.ascontiguousarray(encoded).view(np.uint8).tobytes())


if __name__ == "__main__":
    write_dequantize_fixtures()
    write_quantize_fixtures()
