# Writes reference_logits.json for ReferenceLogitsTests: an independent NumPy forward pass of the
# `llama` architecture (as llama.cpp computes it: RoPE NORM pairs, GQA head h -> KV head h / (H/KV))
# over parameters p[k] = 0.3 * sin(0.37 * k) laid out as ParameterLayout lays them out.
# Run from this directory: python3 reference_logits.py
import json, numpy as np
V, L, d, H, KV, F, eps, base = 258, 2, 16, 4, 2, 24, 1e-5, 10000.0
hd = d // H
shapes = [('token_embd', (V, d))]
for l in range(L):
    shapes += [(f'{l}.attn_norm', (d,)), (f'{l}.q', (d, d)), (f'{l}.k', (KV * hd, d)), (f'{l}.v', (KV * hd, d)),
               (f'{l}.o', (d, d)), (f'{l}.ffn_norm', (d,)), (f'{l}.gate', (F, d)), (f'{l}.up', (F, d)), (f'{l}.down', (d, F))]
shapes += [('output_norm', (d,)), ('output', (V, d))]
total = sum(int(np.prod(s)) for _, s in shapes)
flat = 0.3 * np.sin(0.37 * np.arange(total))
W, offset = {}, 0
for name, s in shapes:
    n = int(np.prod(s)); W[name] = flat[offset:offset + n].reshape(s); offset += n
def rms(x, g): return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g
def rope(x):
    T = x.shape[0]; i = np.arange(hd // 2)
    theta = np.arange(T)[:, None] * base ** (-2 * i / hd)
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2] = x[..., 0::2] * c - x[..., 1::2] * s
    out[..., 1::2] = x[..., 0::2] * s + x[..., 1::2] * c
    return out
tokens = [256] + list(b"The k")
T = len(tokens)
x = W['token_embd'][tokens]
for l in range(L):
    h = rms(x, W[f'{l}.attn_norm'])
    q = rope((h @ W[f'{l}.q'].T).reshape(T, H, hd)); k = rope((h @ W[f'{l}.k'].T).reshape(T, KV, hd))
    v = (h @ W[f'{l}.v'].T).reshape(T, KV, hd)
    out = np.zeros((T, H, hd))
    for head in range(H):
        g = head // (H // KV)
        sc = q[:, head] @ k[:, g].T / np.sqrt(hd) + np.triu(np.full((T, T), -np.inf), 1)
        pr = np.exp(sc - sc.max(-1, keepdims=True)); pr /= pr.sum(-1, keepdims=True)
        out[:, head] = pr @ v[:, g]
    x = x + out.reshape(T, d) @ W[f'{l}.o'].T
    h = rms(x, W[f'{l}.ffn_norm']); gate = h @ W[f'{l}.gate'].T
    x = x + ((gate / (1 + np.exp(-gate))) * (h @ W[f'{l}.up'].T)) @ W[f'{l}.down'].T
logits = rms(x, W['output_norm']) @ W['output'].T
json.dump({"tokens": tokens, "parameter_count": total, "logits": [float(v) for v in logits.reshape(-1)]},
          open('reference_logits.json', 'w'))
print(total, logits.shape, logits[0][:3])
