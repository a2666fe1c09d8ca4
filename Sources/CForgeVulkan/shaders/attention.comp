#version 450
// Grouped-query attention over one layer's f16 KV cache with a causal mask: query head h of a
// token at position p attends to positions 0...p of its slot (the last `window` of them in a
// sliding-window layer) of KV head h / (heads / kv_heads), read in place (no copy per query head). One workgroup per (token, query head); keys go KEY_CHUNK at
// a time: the invocations score the chunk's keys, the chunk's softmax weights rescale the
// running output (online softmax), and each invocation accumulates its own output dimensions.
#include "common.glsl"

#define KEY_CHUNK 128
#define MAX_HEAD_DIM 256

layout(binding = 0) readonly buffer Queries { float queries[]; };     // (tokens, heads, head_dim)
layout(binding = 1) readonly buffer KeyCache { uint key_cache[]; };   // (positions, kv_heads, head_dim) f16
layout(binding = 2) readonly buffer ValueCache { uint value_cache[]; };
layout(binding = 3) readonly buffer TokenRows { uint token_rows[]; }; // (tokens): slot's first row, position
layout(binding = 4) writeonly buffer Output { float output_values[]; }; // (tokens, heads, head_dim)

layout(push_constant) uniform Parameters {
    uint tokens;
    uint heads;
    uint kv_heads;
    uint head_dim; // even, at most MAX_HEAD_DIM
    float scale;
    uint window;   // 0: every earlier position
} p;

shared float query[MAX_HEAD_DIM];
shared float weights[KEY_CHUNK];

void main() {
    uint item = group_index();
    if (item >= p.tokens * p.heads) return;
    uint token = item / p.heads, head = item % p.heads;
    uint kv_head = head / (p.heads / p.kv_heads);
    uint position = token_rows[2u * token + 1u];
    uint first = p.window == 0u || position < p.window ? 0u : position + 1u - p.window;
    uint length = position + 1u - first;
    uint slot_row = token_rows[2u * token] + first;
    uint row_words = p.kv_heads * p.head_dim / 2u;
    uint head_words = kv_head * p.head_dim / 2u;
    uint lane = gl_LocalInvocationID.x, lanes = gl_WorkGroupSize.x;

    uint q = item * p.head_dim;
    for (uint d = lane; d < p.head_dim; d += lanes) query[d] = queries[q + d] * p.scale;
    barrier();

    // This invocation's output dimensions are lane, lane + lanes, ... (at most MAX_HEAD_DIM / 32
    // of them: the host dispatches at least 32 invocations).
    float accumulated[MAX_HEAD_DIM / 32];
    for (uint i = 0u; i < MAX_HEAD_DIM / 32u; ++i) accumulated[i] = 0.0;
    float running_max = -1.0 / 0.0, running_sum = 0.0;

    for (uint start = 0u; start < length; start += KEY_CHUNK) {
        uint count = min(KEY_CHUNK, length - start);
        float chunk_max = -1.0 / 0.0;
        for (uint j = lane; j < count; j += lanes) {
            uint key = (slot_row + start + j) * row_words + head_words;
            float score = 0.0;
            for (uint d = 0u; d < p.head_dim; d += 2u) {
                vec2 k = unpackHalf2x16(key_cache[key + d / 2u]);
                score += query[d] * k.x + query[d + 1u] * k.y;
            }
            weights[j] = score;
            chunk_max = max(chunk_max, score);
        }
        float new_max = max(running_max, workgroup_max(chunk_max));
        float rescale = exp(running_max - new_max);
        float chunk_sum = 0.0;
        for (uint j = lane; j < count; j += lanes) {
            float weight = exp(weights[j] - new_max);
            weights[j] = weight;
            chunk_sum += weight;
        }
        running_sum = running_sum * rescale + workgroup_sum(chunk_sum); // its barriers publish the weights
        running_max = new_max;
        for (uint i = 0u, d = lane; d < p.head_dim; ++i, d += lanes) {
            float sum = 0.0;
            for (uint j = 0u; j < count; ++j) {
                vec2 pair = unpackHalf2x16(value_cache[(slot_row + start + j) * row_words + head_words + d / 2u]);
                sum += weights[j] * ((d & 1u) == 0u ? pair.x : pair.y);
            }
            accumulated[i] = accumulated[i] * rescale + sum;
        }
        barrier(); // every invocation is done with this chunk's weights
    }
    for (uint i = 0u, d = lane; d < p.head_dim; ++i, d += lanes) {
        output_values[q + d] = accumulated[i] / running_sum;
    }
}
