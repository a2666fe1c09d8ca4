// Dequantizers and quantizers. Dequantization follows ggml's dequantize_row_* value for value;
// the reference quantizers follow quantize_row_*_ref byte for byte (including their rounding
// quirks: truncating casts after +0.5 offsets, roundf, or round-half-even via a magic add).
#include <float.h>
#include <math.h>
#include "formats.h"

const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// MARK: - Dequantization

static void dequantize_q4_0(const block_q4_0 *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < QK / 2; ++j) {
            out[j] = (float)((blocks[b].qs[j] & 0x0f) - 8) * d;
            out[j + QK / 2] = (float)((blocks[b].qs[j] >> 4) - 8) * d;
        }
    }
}

static void dequantize_q4_1(const block_q4_1 *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d), m = f16_to_f32(blocks[b].m);
        for (int j = 0; j < QK / 2; ++j) {
            out[j] = (float)(blocks[b].qs[j] & 0x0f) * d + m;
            out[j + QK / 2] = (float)(blocks[b].qs[j] >> 4) * d + m;
        }
    }
}

static void dequantize_q5_0(const block_q5_0 *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d);
        const uint32_t high = q5_high_bits(blocks[b].qh);
        for (int j = 0; j < QK / 2; ++j) {
            const int low_value = (blocks[b].qs[j] & 0x0f) | (((high >> j) & 1) << 4);
            const int high_value = (blocks[b].qs[j] >> 4) | (((high >> (j + 16)) & 1) << 4);
            out[j] = (float)(low_value - 16) * d;
            out[j + QK / 2] = (float)(high_value - 16) * d;
        }
    }
}

static void dequantize_q5_1(const block_q5_1 *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d), m = f16_to_f32(blocks[b].m);
        const uint32_t high = q5_high_bits(blocks[b].qh);
        for (int j = 0; j < QK / 2; ++j) {
            const int low_value = (blocks[b].qs[j] & 0x0f) | (((high >> j) & 1) << 4);
            const int high_value = (blocks[b].qs[j] >> 4) | (((high >> (j + 16)) & 1) << 4);
            out[j] = (float)low_value * d + m;
            out[j + QK / 2] = (float)high_value * d + m;
        }
    }
}

static void dequantize_q8_0(const block_q8_0 *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < QK; ++j) out[j] = (float)blocks[b].qs[j] * d;
    }
}

static void dequantize_q8_1(const block_q8_1 *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < QK; ++j) out[j] = (float)blocks[b].qs[j] * d;
    }
}

static void dequantize_iq4_nl(const block_iq4_nl *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, out += QK) {
        const float d = f16_to_f32(blocks[b].d);
        for (int j = 0; j < QK / 2; ++j) {
            out[j] = d * (float)kvalues_iq4nl[blocks[b].qs[j] & 0x0f];
            out[j + QK / 2] = d * (float)kvalues_iq4nl[blocks[b].qs[j] >> 4];
        }
    }
}

static void dequantize_q2_K(const block_q2_K *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const float d = f16_to_f32(blocks[b].d), dmin = f16_to_f32(blocks[b].dmin);
        const uint8_t *q = blocks[b].qs;
        int sub = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; ++part, ++sub) {
                    const uint8_t packed = blocks[b].scales[sub];
                    const float scale = d * (float)(packed & 0x0f), min = dmin * (float)(packed >> 4);
                    for (int l = 0; l < 16; ++l) *out++ = scale * (float)((q[l + 16 * part] >> shift) & 3) - min;
                }
            }
        }
    }
}

static void dequantize_q3_K(const block_q3_K *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const float d = f16_to_f32(blocks[b].d);
        int8_t scales[16];
        q3k_scales(blocks[b].scales, scales);
        const uint8_t *q = blocks[b].qs;
        uint8_t mask = 1;
        int sub = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, mask <<= 1) {
                for (int part = 0; part < 2; ++part, ++sub) {
                    const float scale = d * (float)(scales[sub] - 32);
                    for (int l = 16 * part; l < 16 * part + 16; ++l) {
                        const int value = ((q[l] >> shift) & 3) - ((blocks[b].hmask[l] & mask) ? 0 : 4);
                        *out++ = scale * (float)value;
                    }
                }
            }
        }
    }
}

static void dequantize_q4_K(const block_q4_K *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const float d = f16_to_f32(blocks[b].d), dmin = f16_to_f32(blocks[b].dmin);
        const uint8_t *q = blocks[b].qs;
        for (int sub = 0; sub < 8; sub += 2, q += 32) {
            uint8_t scale, min;
            k4_scale_min(sub, blocks[b].scales, &scale, &min);
            const float d1 = d * scale, m1 = dmin * min;
            k4_scale_min(sub + 1, blocks[b].scales, &scale, &min);
            const float d2 = d * scale, m2 = dmin * min;
            for (int l = 0; l < 32; ++l) *out++ = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; ++l) *out++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

static void dequantize_q5_K(const block_q5_K *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const float d = f16_to_f32(blocks[b].d), dmin = f16_to_f32(blocks[b].dmin);
        const uint8_t *q = blocks[b].qs, *qh = blocks[b].qh;
        for (int sub = 0; sub < 8; sub += 2, q += 32) {
            uint8_t scale, min;
            k4_scale_min(sub, blocks[b].scales, &scale, &min);
            const float d1 = d * scale, m1 = dmin * min;
            k4_scale_min(sub + 1, blocks[b].scales, &scale, &min);
            const float d2 = d * scale, m2 = dmin * min;
            const uint8_t bit1 = (uint8_t)(1u << sub), bit2 = (uint8_t)(2u << sub);
            for (int l = 0; l < 32; ++l) *out++ = d1 * (float)((q[l] & 0x0f) + ((qh[l] & bit1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *out++ = d2 * (float)((q[l] >> 4) + ((qh[l] & bit2) ? 16 : 0)) - m2;
        }
    }
}

static void dequantize_q6_K(const block_q6_K *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const float d = f16_to_f32(blocks[b].d);
        const uint8_t *ql = blocks[b].ql, *qh = blocks[b].qh;
        const int8_t *scales = blocks[b].scales;
        for (int half = 0; half < 2; ++half, ql += 64, qh += 32, scales += 8, out += 128) {
            for (int l = 0; l < 32; ++l) {
                const int sub = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                out[l] = d * (float)scales[sub] * (float)q1;
                out[l + 32] = d * (float)scales[sub + 2] * (float)q2;
                out[l + 64] = d * (float)scales[sub + 4] * (float)q3;
                out[l + 96] = d * (float)scales[sub + 6] * (float)q4;
            }
        }
    }
}

static void dequantize_q8_K(const block_q8_K *blocks, float *out, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b, out += QK_K) {
        for (int j = 0; j < QK_K; ++j) out[j] = blocks[b].d * (float)blocks[b].qs[j];
    }
}

int forge_dequantize(uint32_t type, const void *source, float *destination, int64_t count) {
    const uint16_t *halves = source;
    switch (type) {
    case FORGE_TYPE_F32: memmove(destination, source, (size_t)count * sizeof(float)); return 0;
    case FORGE_TYPE_F16: for (int64_t i = 0; i < count; ++i) destination[i] = f16_to_f32(halves[i]); return 0;
    case FORGE_TYPE_BF16: for (int64_t i = 0; i < count; ++i) destination[i] = bf16_to_f32(halves[i]); return 0;
    case FORGE_TYPE_Q4_0: dequantize_q4_0(source, destination, count); return 0;
    case FORGE_TYPE_Q4_1: dequantize_q4_1(source, destination, count); return 0;
    case FORGE_TYPE_Q5_0: dequantize_q5_0(source, destination, count); return 0;
    case FORGE_TYPE_Q5_1: dequantize_q5_1(source, destination, count); return 0;
    case FORGE_TYPE_Q8_0: dequantize_q8_0(source, destination, count); return 0;
    case FORGE_TYPE_Q8_1: dequantize_q8_1(source, destination, count); return 0;
    case FORGE_TYPE_Q2_K: dequantize_q2_K(source, destination, count); return 0;
    case FORGE_TYPE_Q3_K: dequantize_q3_K(source, destination, count); return 0;
    case FORGE_TYPE_Q4_K: dequantize_q4_K(source, destination, count); return 0;
    case FORGE_TYPE_Q5_K: dequantize_q5_K(source, destination, count); return 0;
    case FORGE_TYPE_Q6_K: dequantize_q6_K(source, destination, count); return 0;
    case FORGE_TYPE_Q8_K: dequantize_q8_K(source, destination, count); return 0;
    case FORGE_TYPE_IQ4_NL: dequantize_iq4_nl(source, destination, count); return 0;
    default: return -1;
    }
}

// MARK: - Reference quantizers

static float block_absolute_max(const float *x, int count) {
    float amax = 0;
    for (int j = 0; j < count; ++j) amax = fmaxf(amax, fabsf(x[j]));
    return amax;
}

// The value of largest magnitude, sign kept (the first one on ties), as Q4_0/Q5_0 scale by it.
static float block_signed_max(const float *x, int count) {
    float amax = 0, max = 0;
    for (int j = 0; j < count; ++j) {
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    }
    return max;
}

static void block_range(const float *x, int count, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < count; ++j) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

// 5-bit values j and j + QK/2: low nibbles share byte j, fifth bits go to bits j and j + QK/2.
static void pack_q5_pair(uint8_t *qs, uint32_t *high_bits, int j, int low, int high) {
    qs[j] = (uint8_t)((low & 0x0f) | ((high & 0x0f) << 4));
    *high_bits |= (uint32_t)((low >> 4) & 1) << j;
    *high_bits |= (uint32_t)((high >> 4) & 1) << (j + QK / 2);
}

static void quantize_q8_0_reference(const float *x, block_q8_0 *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float d = block_absolute_max(x, QK) / 127;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < QK; ++j) blocks[b].qs[j] = (int8_t)roundf(x[j] * inverse);
    }
}

static void quantize_q8_1_reference(const float *x, block_q8_1 *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float d = block_absolute_max(x, QK) / 127;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK; ++j) {
            blocks[b].qs[j] = (int8_t)roundf(x[j] * inverse);
            sum += blocks[b].qs[j];
        }
        blocks[b].d = f32_to_f16(d);
        blocks[b].s = f32_to_f16((float)sum * d);
    }
}

static void quantize_q4_0_reference(const float *x, block_q4_0 *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float d = block_signed_max(x, QK) / -8;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        for (int j = 0; j < QK / 2; ++j) {
            const int low = (int8_t)(x[j] * inverse + 8.5f), high = (int8_t)(x[j + QK / 2] * inverse + 8.5f);
            blocks[b].qs[j] = (uint8_t)((low < 15 ? low : 15) | ((high < 15 ? high : 15) << 4));
        }
    }
}

static void quantize_q4_1_reference(const float *x, block_q4_1 *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        float min, max;
        block_range(x, QK, &min, &max);
        const float d = (max - min) / 15;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        blocks[b].m = f32_to_f16(min);
        for (int j = 0; j < QK / 2; ++j) {
            const int low = (int8_t)((x[j] - min) * inverse + 0.5f);
            const int high = (int8_t)((x[j + QK / 2] - min) * inverse + 0.5f);
            blocks[b].qs[j] = (uint8_t)((low < 15 ? low : 15) | ((high < 15 ? high : 15) << 4));
        }
    }
}

static void quantize_q5_0_reference(const float *x, block_q5_0 *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float d = block_signed_max(x, QK) / -16;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        uint32_t high_bits = 0;
        for (int j = 0; j < QK / 2; ++j) {
            int low = (int8_t)(x[j] * inverse + 16.5f), high = (int8_t)(x[j + QK / 2] * inverse + 16.5f);
            low = low < 31 ? low : 31;
            high = high < 31 ? high : 31;
            pack_q5_pair(blocks[b].qs, &high_bits, j, low, high);
        }
        for (int i = 0; i < 4; ++i) blocks[b].qh[i] = (uint8_t)(high_bits >> (8 * i));
    }
}

static void quantize_q5_1_reference(const float *x, block_q5_1 *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        float min, max;
        block_range(x, QK, &min, &max);
        const float d = (max - min) / 31;
        const float inverse = d != 0 ? 1.0f / d : 0.0f;
        blocks[b].d = f32_to_f16(d);
        blocks[b].m = f32_to_f16(min);
        uint32_t high_bits = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int low = (int8_t)((x[j] - min) * inverse + 0.5f);
            const int high = (int8_t)((x[j + QK / 2] - min) * inverse + 0.5f);
            pack_q5_pair(blocks[b].qs, &high_bits, j, low, high);
        }
        for (int i = 0; i < 4; ++i) blocks[b].qh[i] = (uint8_t)(high_bits >> (8 * i));
    }
}

// Round half to even through the float mantissa, as ggml's nearest_int (|value| < 2^22).
static inline int nearest_int(float value) {
    const uint32_t bits = float_bits(value + 12582912.f);
    return (int)(bits & 0x007fffff) - 0x00400000;
}

// Also what llama.cpp's CPU backend uses for activations (there is no x86-specific Q8_K path).
static void quantize_q8_K_reference(const float *x, block_q8_K *blocks, int64_t count) {
    for (int64_t b = 0; b < count / QK_K; ++b, x += QK_K) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK_K; ++j) {
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        }
        if (amax == 0) {
            memset(&blocks[b], 0, sizeof(block_q8_K));
            continue;
        }
        // -127/max rather than 127/amax: the sign of the largest value decides, as in ggml.
        const float inverse_scale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) {
            const int value = nearest_int(inverse_scale * x[j]);
            blocks[b].qs[j] = (int8_t)(value < 127 ? value : 127);
        }
        for (int sub = 0; sub < QK_K / 16; ++sub) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += blocks[b].qs[16 * sub + l];
            blocks[b].bsums[sub] = (int16_t)sum;
        }
        blocks[b].d = 1 / inverse_scale;
    }
}

int forge_quantize_reference(uint32_t type, const float *source, void *destination, int64_t count) {
    uint16_t *halves = destination;
    switch (type) {
    case FORGE_TYPE_F32: memmove(destination, source, (size_t)count * sizeof(float)); return 0;
    case FORGE_TYPE_F16: for (int64_t i = 0; i < count; ++i) halves[i] = f32_to_f16(source[i]); return 0;
    case FORGE_TYPE_BF16: for (int64_t i = 0; i < count; ++i) halves[i] = f32_to_bf16(source[i]); return 0;
    case FORGE_TYPE_Q4_0: quantize_q4_0_reference(source, destination, count); return 0;
    case FORGE_TYPE_Q4_1: quantize_q4_1_reference(source, destination, count); return 0;
    case FORGE_TYPE_Q5_0: quantize_q5_0_reference(source, destination, count); return 0;
    case FORGE_TYPE_Q5_1: quantize_q5_1_reference(source, destination, count); return 0;
    case FORGE_TYPE_Q8_0: quantize_q8_0_reference(source, destination, count); return 0;
    case FORGE_TYPE_Q8_1: quantize_q8_1_reference(source, destination, count); return 0;
    case FORGE_TYPE_Q8_K: quantize_q8_K_reference(source, destination, count); return 0;
    default: return -1;
    }
}

// MARK: - Activation quantizers (generic variants)

// llama.cpp's x86 build quantizes Q8_0/Q8_1 activations with 127/amax and round-half-even
// (its AVX path), not with the reference's 1/d and roundf; matching it keeps ties identical.
static void quantize_q8_0_activations(const float *x, void *destination, int64_t count) {
    block_q8_0 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = block_absolute_max(x, QK);
        const float inverse = amax != 0 ? 127.f / amax : 0.0f;
        blocks[b].d = f32_to_f16(amax / 127.f);
        for (int j = 0; j < QK; ++j) blocks[b].qs[j] = (int8_t)nearest_int(x[j] * inverse);
    }
}

static void quantize_q8_1_activations(const float *x, void *destination, int64_t count) {
    block_q8_1 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = block_absolute_max(x, QK);
        const float d = amax / 127.f;
        const float inverse = amax != 0 ? 127.f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK; ++j) {
            blocks[b].qs[j] = (int8_t)nearest_int(x[j] * inverse);
            sum += blocks[b].qs[j];
        }
        blocks[b].d = f32_to_f16(d);
        blocks[b].s = f32_to_f16(d * (float)sum);
    }
}

static void quantize_q8_K_activations(const float *x, void *destination, int64_t count) {
    quantize_q8_K_reference(x, destination, count);
}

static void convert_f16_activations(const float *x, void *destination, int64_t count) {
    uint16_t *halves = destination;
    for (int64_t i = 0; i < count; ++i) halves[i] = f32_to_f16(x[i]);
}

static void convert_bf16_activations(const float *x, void *destination, int64_t count) {
    uint16_t *halves = destination;
    for (int64_t i = 0; i < count; ++i) halves[i] = f32_to_bf16(x[i]);
}

static void copy_f32_activations(const float *x, void *destination, int64_t count) {
    memcpy(destination, x, (size_t)count * sizeof(float));
}

// The dot products of the generic table live in dot_generic.c.
float forge_dot_f32_generic(int64_t, const void *, const void *);
float forge_dot_f16_generic(int64_t, const void *, const void *);
float forge_dot_bf16_generic(int64_t, const void *, const void *);
float forge_dot_q4_0_generic(int64_t, const void *, const void *);
float forge_dot_q4_1_generic(int64_t, const void *, const void *);
float forge_dot_q5_0_generic(int64_t, const void *, const void *);
float forge_dot_q5_1_generic(int64_t, const void *, const void *);
float forge_dot_q8_0_generic(int64_t, const void *, const void *);
float forge_dot_iq4_nl_generic(int64_t, const void *, const void *);
float forge_dot_q2_K_generic(int64_t, const void *, const void *);
float forge_dot_q3_K_generic(int64_t, const void *, const void *);
float forge_dot_q4_K_generic(int64_t, const void *, const void *);
float forge_dot_q5_K_generic(int64_t, const void *, const void *);
float forge_dot_q6_K_generic(int64_t, const void *, const void *);

const forge_kernel_table forge_generic_kernels = {
    .dot = {
        [FORGE_TYPE_F32] = forge_dot_f32_generic,
        [FORGE_TYPE_F16] = forge_dot_f16_generic,
        [FORGE_TYPE_BF16] = forge_dot_bf16_generic,
        [FORGE_TYPE_Q4_0] = forge_dot_q4_0_generic,
        [FORGE_TYPE_Q4_1] = forge_dot_q4_1_generic,
        [FORGE_TYPE_Q5_0] = forge_dot_q5_0_generic,
        [FORGE_TYPE_Q5_1] = forge_dot_q5_1_generic,
        [FORGE_TYPE_Q8_0] = forge_dot_q8_0_generic,
        [FORGE_TYPE_IQ4_NL] = forge_dot_iq4_nl_generic,
        [FORGE_TYPE_Q2_K] = forge_dot_q2_K_generic,
        [FORGE_TYPE_Q3_K] = forge_dot_q3_K_generic,
        [FORGE_TYPE_Q4_K] = forge_dot_q4_K_generic,
        [FORGE_TYPE_Q5_K] = forge_dot_q5_K_generic,
        [FORGE_TYPE_Q6_K] = forge_dot_q6_K_generic,
    },
    .quantize = {
        [FORGE_TYPE_F32] = copy_f32_activations,
        [FORGE_TYPE_F16] = convert_f16_activations,
        [FORGE_TYPE_BF16] = convert_bf16_activations,
        [FORGE_TYPE_Q8_0] = quantize_q8_0_activations,
        [FORGE_TYPE_Q8_1] = quantize_q8_1_activations,
        [FORGE_TYPE_Q8_K] = quantize_q8_K_activations,
    },
};
