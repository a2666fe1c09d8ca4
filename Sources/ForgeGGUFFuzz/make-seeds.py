#!/usr/bin/env python3
"""Writes the fuzzer's seed files into the directory given: small valid GGUF files that use every value type,
nested arrays, a non-default alignment and several tensor types."""
import struct, sys, os

def string(s):
    b = s.encode()
    return struct.pack('<Q', len(b)) + b

def value(t, v):
    fmt = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<B', 10: '<Q', 11: '<q', 12: '<d'}
    if t == 8:
        return string(v)
    if t == 9:
        et, items = v
        return struct.pack('<IQ', et, len(items)) + b''.join(value(et, x) for x in items)
    return struct.pack(fmt[t], v)

def gguf(kvs, tensors, alignment=32):
    out = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += string(k) + struct.pack('<I', t) + value(t, v)
    offset, blobs = 0, []
    for name, ggml_type, shape, data in tensors:
        out += string(name) + struct.pack('<I', len(shape)) + b''.join(struct.pack('<Q', d) for d in shape)
        out += struct.pack('<IQ', ggml_type, offset)
        blobs.append((offset, data))
        offset += (len(data) + alignment - 1) // alignment * alignment
    out += b'\0' * (-len(out) % alignment)
    data_start = len(out)
    for offset, data in blobs:
        out += b'\0' * (data_start + offset - len(out)) + data
    return out

directory = sys.argv[1]
every_type = [
    ('general.architecture', 8, 'llama'), ('llama.block_count', 4, 2), ('test.u8', 0, 200), ('test.i8', 1, -3),
    ('test.u16', 2, 60000), ('test.i16', 3, -300), ('test.i32', 5, -70000), ('test.f32', 6, 0.5),
    ('test.bool', 7, 1), ('test.u64', 10, 1 << 40), ('test.i64', 11, -(1 << 40)), ('test.f64', 12, 1e-5),
    ('tokenizer.ggml.tokens', 9, (8, ['a', 'b', 'ab', '<s>'])), ('tokenizer.ggml.scores', 9, (6, [0.0, -1.0, -2.0, -3.0])),
    ('test.nested', 9, (9, [(0, [1, 2]), (8, ['x'])])),
]
tensors = [('token_embd.weight', 0, [4, 4], bytes(range(64))), ('blk.0.attn_q.weight', 8, [32, 2], bytes(68)),
           ('blk.0.ffn_down.weight', 12, [256], bytes(144))]
with open(os.path.join(directory, 'every-type.seed'), 'wb') as f:
    f.write(gguf(every_type, tensors))
with open(os.path.join(directory, 'aligned-64.seed'), 'wb') as f:
    f.write(gguf([('general.alignment', 4, 64)], [('a', 1, [3], bytes(6)), ('b', 30, [5], bytes(10))], alignment=64))
