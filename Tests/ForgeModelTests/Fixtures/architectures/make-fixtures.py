#!/usr/bin/env python3
"""Writes the tiny random-weight Qwen3 and Gemma 3 GGUF files of ArchitectureFixtureTests, runs
llama.cpp on them and stores its logits here as fixtures (docs/architectures.md has the recipe).

Usage: make-fixtures.py DUMP_LOGITS [OUT_DIR]
  DUMP_LOGITS  a program linked against libllama, called as
               DUMP_LOGITS MODEL.gguf OUT.f32 BATCH UBATCH N_CTX TOKEN...
               that decodes the first BATCH tokens in one batch (logits for every row), then one
               token per decode, and writes every row's logits as little-endian f32.
Needs the `gguf` and `numpy` Python packages. The weights come from a SplitMix64 stream in the
order the tensors are listed below; the Swift test draws the same numbers in the same order.
"""
import json
import os
import subprocess
import sys

import numpy as np
import gguf

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        """In [-0.5, 0.5), exact in float32."""
        return (self.next() >> 41) / float(1 << 23) - 0.5


# name, architecture, hyperparameters; the Swift test holds the same table.
MODELS = [
    dict(name="tiny-qwen3", arch="qwen3", layers=2, dim=32, ffn=48, heads=4, kv_heads=2, head_dim=16,
         vocab=258, rope_base=1000000.0, eps=1e-6, seed=3, window=None),
    dict(name="tiny-gemma3", arch="gemma3", layers=6, dim=32, ffn=48, heads=4, kv_heads=1, head_dim=16,
         vocab=258, rope_base=100000.0, eps=1e-6, seed=7, window=4),
]
TOKENS = [2, 71, 104, 33, 200, 5, 18, 99, 256, 140, 77, 12, 250, 3, 64, 129, 31, 8, 190, 45]
BATCH, UBATCH, N_CTX = 8, 8, 64


def tensors(m):
    """(name, numpy shape as rows × columns, kind) in drawing order."""
    dim, ffn, hd = m["dim"], m["ffn"], m["head_dim"]
    q, kv = m["heads"] * hd, m["kv_heads"] * hd
    out = [("token_embd.weight", (m["vocab"], dim), "matrix")]
    for i in range(m["layers"]):
        p = f"blk.{i}."
        out += [(p + "attn_norm.weight", (dim,), "norm"),
                (p + "attn_q.weight", (q, dim), "matrix"),
                (p + "attn_k.weight", (kv, dim), "matrix"),
                (p + "attn_v.weight", (kv, dim), "matrix"),
                (p + "attn_q_norm.weight", (hd,), "norm"),
                (p + "attn_k_norm.weight", (hd,), "norm"),
                (p + "attn_output.weight", (dim, q), "matrix")]
        if m["arch"] == "gemma3":
            out.append((p + "post_attention_norm.weight", (dim,), "norm"))
        out += [(p + "ffn_norm.weight", (dim,), "norm"),
                (p + "ffn_gate.weight", (ffn, dim), "matrix"),
                (p + "ffn_up.weight", (ffn, dim), "matrix"),
                (p + "ffn_down.weight", (dim, ffn), "matrix")]
        if m["arch"] == "gemma3":
            out.append((p + "post_ffw_norm.weight", (dim,), "norm"))
    out.append(("output_norm.weight", (dim,), "norm"))
    return out


def byte_tokens():
    """GPT-2's byte-to-unicode table: the 256 byte-level tokens, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def write(m, path):
    rng = SplitMix64(m["seed"])
    w = gguf.GGUFWriter(path, m["arch"])
    a = m["arch"]
    w.add_uint32(f"{a}.block_count", m["layers"])
    w.add_uint32(f"{a}.context_length", 128)
    w.add_uint32(f"{a}.embedding_length", m["dim"])
    w.add_uint32(f"{a}.feed_forward_length", m["ffn"])
    w.add_uint32(f"{a}.attention.head_count", m["heads"])
    w.add_uint32(f"{a}.attention.head_count_kv", m["kv_heads"])
    w.add_uint32(f"{a}.attention.key_length", m["head_dim"])
    w.add_uint32(f"{a}.attention.value_length", m["head_dim"])
    w.add_float32(f"{a}.attention.layer_norm_rms_epsilon", m["eps"])
    w.add_float32(f"{a}.rope.freq_base", m["rope_base"])
    if m["window"]:
        w.add_uint32(f"{a}.attention.sliding_window", m["window"])
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_array("tokenizer.ggml.tokens", byte_tokens() + ["<|bos|>", "<|eos|>"])
    w.add_array("tokenizer.ggml.merges", ["Ġ Ġ"])  # llama.cpp requires merges; none are used
    w.add_uint32("tokenizer.ggml.bos_token_id", 256)
    w.add_uint32("tokenizer.ggml.eos_token_id", 257)
    for name, shape, kind in tensors(m):
        count = int(np.prod(shape))
        if kind == "norm":
            values = [1.0 + 0.5 * rng.uniform() for _ in range(count)]
        else:
            values = [0.5 * rng.uniform() for _ in range(count)]
        w.add_tensor(name, np.array(values, dtype=np.float64).astype(np.float32).reshape(shape))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    dump = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    index = {"generator": "llama.cpp 0c1e57098 (CPU, 2 threads, F16 KV cache, flash attention auto) via make-fixtures.py",
             "tokens": TOKENS, "batch": BATCH, "ubatch": UBATCH, "n_ctx": N_CTX, "models": MODELS}
    for m in MODELS:
        path = os.path.join(out, m["name"] + ".gguf")
        write(m, path)
        logits = os.path.join(out, m["name"] + ".f32")
        subprocess.run([dump, path, logits, str(BATCH), str(UBATCH), str(N_CTX)] + [str(t) for t in TOKENS], check=True)
        os.remove(path)
    with open(os.path.join(out, "fixtures.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
