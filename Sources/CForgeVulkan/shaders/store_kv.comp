#version 450
// Writes a batch's keys and values into one layer's f16 cache at their tokens' rows: the first
// row of the token's slot plus its position. Cache rows are kv_width halves, two to a 32-bit
// word; one invocation per word of K and V.
#include "common.glsl"

layout(binding = 0) readonly buffer Keys { float keys[]; };
layout(binding = 1) readonly buffer Values { float values[]; };
layout(binding = 2) writeonly buffer KeyCache { uint key_cache[]; };
layout(binding = 3) writeonly buffer ValueCache { uint value_cache[]; };
layout(binding = 4) readonly buffer TokenRows { uint token_rows[]; }; // (tokens): slot's first row, position

layout(push_constant) uniform Parameters {
    uint tokens;
    uint kv_width; // even
} p;

void main() {
    uint words = p.kv_width / 2u;
    uint index = invocation_index();
    if (index >= p.tokens * words) return;
    uint token = index / words, word = index % words;
    uint source = token * p.kv_width + 2u * word;
    uint destination = (token_rows[2u * token] + token_rows[2u * token + 1u]) * words + word;
    key_cache[destination] = packHalf2x16(vec2(keys[source], keys[source + 1u]));
    value_cache[destination] = packHalf2x16(vec2(values[source], values[source + 1u]));
}
