#version 450
// output[t, r] = Σ_c W[r, c] · input[t, c] for a part of W's rows (a binding holds whole rows;
// matrices larger than maxStorageBufferRange come in several parts). A workgroup takes one row
// and TOKENS tokens: its invocations share the row's 32-value units, each dequantizes a unit
// once into registers and multiplies it with every token (TOKENS = 1 for decode, 8 for
// prefill), then the partial sums meet through subgroupAdd and shared memory.
// Compiled once per weight format: -DWEIGHT_<type> -DTOKENS=<n>.
#include "common.glsl"

layout(binding = 0) readonly buffer Weights { uint weights[]; };
layout(binding = 1) readonly buffer Input { float input_values[]; };
layout(binding = 2) writeonly buffer Output { float output_values[]; };

layout(push_constant) uniform Parameters {
    uint columns;
    uint rows;          // rows in this part
    uint row_bytes;
    uint tokens;
    uint input_offset;  // floats before the first token's input row
    uint input_stride;  // floats between tokens' input rows
    uint output_stride; // floats between tokens' output rows
    uint first_row;     // this part's first row in the output
} p;

// Bytes of a weight row, read as the 32-bit words the binding holds (no 8/16-bit storage needed).
uint word_at(uint offset) {
    uint shift = (offset & 3u) * 8u;
    uint low = weights[offset >> 2];
    return shift == 0u ? low : (low >> shift) | (weights[(offset >> 2) + 1u] << (32u - shift));
}
uint byte_at(uint offset) { return (weights[offset >> 2] >> ((offset & 3u) * 8u)) & 0xffu; }
// Halves sit at even offsets: every block size and row size of these formats is even.
float half_at(uint offset) { return unpackHalf2x16(weights[offset >> 2] >> ((offset & 2u) * 8u)).x; }
int signed_byte(uint word, uint index) { return bitfieldExtract(int(word), int(index * 8u), 8); }

// The values of the row's unit u (values 32u ... 32u + 31) starting at byte `row`; values past
// the row's end (float formats of any length) are 0.
void dequantize_unit(uint row, uint u, out float v[32]) {
#if defined(WEIGHT_F32)
    for (uint j = 0u; j < 32u; ++j) {
        uint c = 32u * u + j;
        v[j] = c < p.columns ? uintBitsToFloat(weights[(row >> 2) + c]) : 0.0;
    }
#elif defined(WEIGHT_F16)
    for (uint j = 0u; j < 32u; ++j) {
        uint c = 32u * u + j;
        v[j] = c < p.columns ? half_at(row + 2u * c) : 0.0;
    }
#elif defined(WEIGHT_Q4_0) || defined(WEIGHT_Q4_1)
    // d, (m,) 16 bytes: byte j holds value j (low nibble) and value j + 16 (high).
#if defined(WEIGHT_Q4_0)
    uint block = row + u * 18u;
    float d = half_at(block), m = -8.0 * d;
    uint qs = block + 2u;
#else
    uint block = row + u * 20u;
    float d = half_at(block), m = half_at(block + 2u);
    uint qs = block + 4u;
#endif
    for (uint i = 0u; i < 4u; ++i) {
        uint word = word_at(qs + 4u * i);
        for (uint k = 0u; k < 4u; ++k) {
            uint q = (word >> (8u * k)) & 0xffu;
            v[4u * i + k] = float(q & 15u) * d + m;
            v[4u * i + k + 16u] = float(q >> 4) * d + m;
        }
    }
#elif defined(WEIGHT_Q5_0) || defined(WEIGHT_Q5_1)
    // As Q4_0/Q4_1 plus a fifth bit per value: bit j of the little-endian word qh.
#if defined(WEIGHT_Q5_0)
    uint block = row + u * 22u;
    float d = half_at(block), m = -16.0 * d;
    uint high = word_at(block + 2u);
    uint qs = block + 6u;
#else
    uint block = row + u * 24u;
    float d = half_at(block), m = half_at(block + 2u);
    uint high = word_at(block + 4u);
    uint qs = block + 8u;
#endif
    for (uint i = 0u; i < 4u; ++i) {
        uint word = word_at(qs + 4u * i);
        for (uint k = 0u; k < 4u; ++k) {
            uint j = 4u * i + k;
            uint q = (word >> (8u * k)) & 0xffu;
            v[j] = float((q & 15u) | (((high >> j) & 1u) << 4)) * d + m;
            v[j + 16u] = float((q >> 4) | (((high >> (j + 16u)) & 1u) << 4)) * d + m;
        }
    }
#elif defined(WEIGHT_Q8_0)
    uint block = row + u * 34u;
    float d = half_at(block);
    for (uint i = 0u; i < 8u; ++i) {
        uint word = word_at(block + 2u + 4u * i);
        for (uint k = 0u; k < 4u; ++k) v[4u * i + k] = float(signed_byte(word, k)) * d;
    }
#elif defined(WEIGHT_Q4_K) || defined(WEIGHT_Q5_K)
    // Super-blocks of 8 sub-blocks of 32; sub-block s has a 6-bit scale and min packed in 12 bytes.
    // Each 32 bytes of qs hold two sub-blocks: the even one in the low nibbles, the odd in the high.
#if defined(WEIGHT_Q4_K)
    uint block = row + (u / 8u) * 144u;
    uint qs = block + 16u;
#else
    uint block = row + (u / 8u) * 176u;
    uint qh = block + 16u;
    uint qs = block + 48u;
#endif
    uint s = u % 8u;
    float d = half_at(block), dmin = half_at(block + 2u);
    uint packed = block + 4u;
    uint scale, minimum;
    if (s < 4u) {
        scale = byte_at(packed + s) & 63u;
        minimum = byte_at(packed + s + 4u) & 63u;
    } else {
        scale = (byte_at(packed + s + 4u) & 15u) | ((byte_at(packed + s - 4u) >> 6) << 4);
        minimum = (byte_at(packed + s + 4u) >> 4) | ((byte_at(packed + s) >> 6) << 4);
    }
    float sd = d * float(scale), sm = dmin * float(minimum);
    uint shift = (s & 1u) * 4u;
    for (uint i = 0u; i < 8u; ++i) {
        uint word = word_at(qs + (s / 2u) * 32u + 4u * i);
#if defined(WEIGHT_Q5_K)
        uint high = word_at(qh + 4u * i);
#endif
        for (uint k = 0u; k < 4u; ++k) {
            uint q = (word >> (8u * k + shift)) & 15u;
#if defined(WEIGHT_Q5_K)
            q |= ((high >> (8u * k + s)) & 1u) << 4;
#endif
            v[4u * i + k] = sd * float(q) - sm;
        }
    }
#elif defined(WEIGHT_Q6_K)
    // 256 values in two halves of 128; unit k (0..3) of a half takes low (k = 0, 1) or high
    // (k = 2, 3) nibbles of ql bytes 0..31 (k even) or 32..63 (k odd), bits 2k, 2k+1 of qh, and
    // the signed scales 2k and 2k + 1 (one per 16 values).
    uint block = row + (u / 8u) * 210u;
    uint half_index = (u % 8u) / 4u, k = u % 4u;
    uint ql = block + half_index * 64u + (k & 1u) * 32u;
    uint qh = block + 128u + half_index * 32u;
    uint scales = block + 192u + half_index * 8u + 2u * k;
    float d = half_at(block + 208u);
    float scale0 = d * float(bitfieldExtract(int(byte_at(scales)), 0, 8));
    float scale1 = d * float(bitfieldExtract(int(byte_at(scales + 1u)), 0, 8));
    for (uint i = 0u; i < 8u; ++i) {
        uint low = word_at(ql + 4u * i), high = word_at(qh + 4u * i);
        for (uint b = 0u; b < 4u; ++b) {
            uint l = 4u * i + b;
            int q = int(((low >> (8u * b + (k / 2u) * 4u)) & 15u) | (((high >> (8u * b + 2u * k)) & 3u) << 4)) - 32;
            v[l] = (l < 16u ? scale0 : scale1) * float(q);
        }
    }
#else
#error "no weight format defined"
#endif
}

shared float token_partials[TOKENS][MAX_SUBGROUPS];

void main() {
    uint r = group_index();
    // One workgroup per row: a workgroup past the last row leaves as a whole, before any barrier.
    if (r >= p.rows) return;
    uint first_token = gl_WorkGroupID.z * TOKENS;
    uint token_count = min(TOKENS, p.tokens - first_token);
    uint row = r * p.row_bytes;
    uint units = (p.columns + 31u) / 32u;
    float sums[TOKENS];
    for (uint t = 0u; t < TOKENS; ++t) sums[t] = 0.0;
    for (uint u = gl_LocalInvocationID.x; u < units; u += gl_WorkGroupSize.x) {
        float v[32];
        dequantize_unit(row, u, v);
        uint count = min(32u, p.columns - 32u * u);
        for (uint t = 0u; t < token_count; ++t) {
            uint x = p.input_offset + (first_token + t) * p.input_stride + 32u * u;
            float sum = 0.0;
            for (uint j = 0u; j < count; ++j) sum += v[j] * input_values[x + j];
            sums[t] += sum;
        }
    }
    for (uint t = 0u; t < TOKENS; ++t) {
        float sum = subgroupAdd(sums[t]);
        if (subgroupElect()) token_partials[t][gl_SubgroupID] = sum;
    }
    barrier();
    uint t = gl_LocalInvocationID.x;
    if (t < token_count) {
        float total = 0.0;
        for (uint i = 0u; i < gl_NumSubgroups; ++i) total += token_partials[t][i];
        output_values[(first_token + t) * p.output_stride + p.first_row + r] = total;
    }
}
