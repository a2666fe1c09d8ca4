// Scalar dot products: one weight row against one activation row in the weight type's
// activation format. The integer sums are formed exactly as ggml's scalar ggml_vec_dot_*
// kernels form them; only the float accumulation order may differ from llama.cpp's SIMD code.
#include "formats.h"

float forge_dot_f32_generic(int64_t count, const void *weights, const void *activations) {
    const float *w = weights, *a = activations;
    float sums[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        for (int l = 0; l < 8; ++l) sums[l] += w[i + l] * a[i + l];
    }
    for (; i < count; ++i) sums[0] += w[i] * a[i];
    float sum = 0;
    for (int l = 0; l < 8; ++l) sum += sums[l];
    return sum;
}

float forge_dot_f16_generic(int64_t count, const void *weights, const void *activations) {
    const uint16_t *w = weights, *a = activations;
    float sum = 0;
    for (int64_t i = 0; i < count; ++i) sum += f16_to_f32(w[i]) * f16_to_f32(a[i]);
    return sum;
}

float forge_dot_bf16_generic(int64_t count, const void *weights, const void *activations) {
    const uint16_t *w = weights, *a = activations;
    float sum = 0;
    for (int64_t i = 0; i < count; ++i) sum += bf16_to_f32(w[i]) * bf16_to_f32(a[i]);
    return sum;
}

float forge_dot_q4_0_generic(int64_t count, const void *weights, const void *activations) {
    const block_q4_0 *w = weights;
    const block_q8_0 *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        int block_sum = 0;
        for (int j = 0; j < QK / 2; ++j) {
            block_sum += ((w[b].qs[j] & 0x0f) - 8) * a[b].qs[j];
            block_sum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + QK / 2];
        }
        sum += (float)block_sum * f16_to_f32(w[b].d) * f16_to_f32(a[b].d);
    }
    return sum;
}

float forge_dot_q4_1_generic(int64_t count, const void *weights, const void *activations) {
    const block_q4_1 *w = weights;
    const block_q8_1 *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        int block_sum = 0;
        for (int j = 0; j < QK / 2; ++j) {
            block_sum += (w[b].qs[j] & 0x0f) * a[b].qs[j];
            block_sum += (w[b].qs[j] >> 4) * a[b].qs[j + QK / 2];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)block_sum + f16_to_f32(w[b].m) * f16_to_f32(a[b].s);
    }
    return sum;
}

float forge_dot_q5_0_generic(int64_t count, const void *weights, const void *activations) {
    const block_q5_0 *w = weights;
    const block_q8_0 *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        const uint32_t high = q5_high_bits(w[b].qh);
        int block_sum = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int low_value = ((w[b].qs[j] & 0x0f) | (((high >> j) & 1) << 4)) - 16;
            const int high_value = ((w[b].qs[j] >> 4) | (((high >> (j + 16)) & 1) << 4)) - 16;
            block_sum += low_value * a[b].qs[j] + high_value * a[b].qs[j + QK / 2];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)block_sum;
    }
    return sum;
}

float forge_dot_q5_1_generic(int64_t count, const void *weights, const void *activations) {
    const block_q5_1 *w = weights;
    const block_q8_1 *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        const uint32_t high = q5_high_bits(w[b].qh);
        int block_sum = 0;
        for (int j = 0; j < QK / 2; ++j) {
            const int low_value = (w[b].qs[j] & 0x0f) | (((high >> j) & 1) << 4);
            const int high_value = (w[b].qs[j] >> 4) | (((high >> (j + 16)) & 1) << 4);
            block_sum += low_value * a[b].qs[j] + high_value * a[b].qs[j + QK / 2];
        }
        sum += f16_to_f32(w[b].d) * f16_to_f32(a[b].d) * (float)block_sum + f16_to_f32(w[b].m) * f16_to_f32(a[b].s);
    }
    return sum;
}

float forge_dot_q8_0_generic(int64_t count, const void *weights, const void *activations) {
    const block_q8_0 *w = weights;
    const block_q8_0 *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        int block_sum = 0;
        for (int j = 0; j < QK; ++j) block_sum += w[b].qs[j] * a[b].qs[j];
        sum += (float)block_sum * (f16_to_f32(w[b].d) * f16_to_f32(a[b].d));
    }
    return sum;
}

float forge_dot_iq4_nl_generic(int64_t count, const void *weights, const void *activations) {
    const block_iq4_nl *w = weights;
    const block_q8_0 *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        int block_sum = 0;
        for (int j = 0; j < QK / 2; ++j) {
            block_sum += kvalues_iq4nl[w[b].qs[j] & 0x0f] * a[b].qs[j];
            block_sum += kvalues_iq4nl[w[b].qs[j] >> 4] * a[b].qs[j + QK / 2];
        }
        sum += f16_to_f32(a[b].d) * f16_to_f32(w[b].d) * (float)block_sum;
    }
    return sum;
}

// Σ over the 16 sub-blocks of bsums · min: the K formats subtract dmin·min per sub-block, which
// against Q8_K activations is dmin · d_a · Σ_sub min_sub · Σ q_a.
float forge_dot_q2_K_generic(int64_t count, const void *weights, const void *activations) {
    const block_q2_K *w = weights;
    const block_q8_K *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK_K; ++b) {
        int min_sum = 0;
        for (int sub = 0; sub < 16; ++sub) min_sum += a[b].bsums[sub] * (w[b].scales[sub] >> 4);
        const int8_t *q8 = a[b].qs;
        const uint8_t *q2 = w[b].qs;
        int scaled_sum = 0, sub = 0;
        for (int half = 0; half < 2; ++half, q2 += 32) {
            for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
                for (int part = 0; part < 2; ++part, ++sub) {
                    int partial = 0;
                    for (int l = 16 * part; l < 16 * part + 16; ++l) partial += q8[l] * ((q2[l] >> shift) & 3);
                    scaled_sum += (w[b].scales[sub] & 0x0f) * partial;
                }
            }
        }
        const float d = a[b].d * f16_to_f32(w[b].d), dmin = a[b].d * f16_to_f32(w[b].dmin);
        sum += d * (float)scaled_sum - dmin * (float)min_sum;
    }
    return sum;
}

float forge_dot_q3_K_generic(int64_t count, const void *weights, const void *activations) {
    const block_q3_K *w = weights;
    const block_q8_K *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK_K; ++b) {
        int8_t scales[16];
        q3k_scales(w[b].scales, scales);
        const int8_t *q8 = a[b].qs;
        const uint8_t *q3 = w[b].qs;
        int total = 0, sub = 0;
        uint8_t mask = 1;
        for (int half = 0; half < 2; ++half, q3 += 32) {
            for (int shift = 0; shift < 8; shift += 2, mask <<= 1, q8 += 32) {
                for (int part = 0; part < 2; ++part, ++sub) {
                    int partial = 0;
                    for (int l = 16 * part; l < 16 * part + 16; ++l) {
                        const int value = ((q3[l] >> shift) & 3) - ((w[b].hmask[l] & mask) ? 0 : 4);
                        partial += q8[l] * value;
                    }
                    total += (scales[sub] - 32) * partial;
                }
            }
        }
        sum += f16_to_f32(w[b].d) * a[b].d * (float)total;
    }
    return sum;
}

// Q4_K and Q5_K share everything but Q5_K's 32 bytes of fifth bits ahead of the nibbles.
static float dot_k4_k5(int64_t count, size_t block_bytes, int is_q5, const void *weights, const void *activations) {
    const uint8_t *bytes = weights;
    const block_q8_K *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK_K; ++b, bytes += block_bytes) {
        const uint16_t d_bits = (uint16_t)(bytes[0] | (bytes[1] << 8)), dmin_bits = (uint16_t)(bytes[2] | (bytes[3] << 8));
        const uint8_t *packed_scales = bytes + 4;
        const uint8_t *high = is_q5 ? bytes + 16 : NULL;
        const uint8_t *q4 = bytes + 16 + (is_q5 ? 32 : 0);
        const int8_t *q8 = a[b].qs;
        int scaled_sum = 0, min_sum = 0;
        for (int sub = 0; sub < 8; ++sub) {
            uint8_t scale, min;
            k4_scale_min(sub, packed_scales, &scale, &min);
            min_sum += min * (a[b].bsums[2 * sub] + a[b].bsums[2 * sub + 1]);
            const uint8_t *nibbles = q4 + 32 * (sub / 2);
            const int shift = 4 * (sub % 2);
            int partial = 0;
            for (int l = 0; l < 32; ++l) {
                int value = (nibbles[l] >> shift) & 0x0f;
                if (high && (high[l] >> sub) & 1) value += 16;
                partial += q8[32 * sub + l] * value;
            }
            scaled_sum += scale * partial;
        }
        const float d = f16_to_f32(d_bits) * a[b].d, dmin = f16_to_f32(dmin_bits) * a[b].d;
        sum += d * (float)scaled_sum - dmin * (float)min_sum;
    }
    return sum;
}

float forge_dot_q4_K_generic(int64_t count, const void *weights, const void *activations) {
    return dot_k4_k5(count, sizeof(block_q4_K), 0, weights, activations);
}

float forge_dot_q5_K_generic(int64_t count, const void *weights, const void *activations) {
    return dot_k4_k5(count, sizeof(block_q5_K), 1, weights, activations);
}

float forge_dot_q6_K_generic(int64_t count, const void *weights, const void *activations) {
    const block_q6_K *w = weights;
    const block_q8_K *a = activations;
    float sum = 0;
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const uint8_t *ql = w[b].ql, *qh = w[b].qh;
        const int8_t *q8 = a[b].qs;
        int total = 0;
        for (int half = 0; half < 2; ++half, ql += 64, qh += 32, q8 += 128) {
            for (int l = 0; l < 32; ++l) {
                const int sub = 8 * half + l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                total += w[b].scales[sub] * q1 * q8[l] + w[b].scales[sub + 2] * q2 * q8[l + 32] +
                         w[b].scales[sub + 4] * q3 * q8[l + 64] + w[b].scales[sub + 6] * q4 * q8[l + 96];
            }
        }
        sum += f16_to_f32(w[b].d) * a[b].d * (float)total;
    }
    return sum;
}

// MARK: - SwiGLU in llama.cpp's float order

// llama.cpp's CPU SwiGLU runs 16 values at a time through its own exp approximation (a
// Cody–Waite reduction by ln 2 and a degree-5 polynomial, every step a fused multiply-add, the
// result scaled by 2^n), and only a row's last width % 16 values through libm's expf. The
// variants below compute those same floats.
float forge_llama_expf(float x) {
    const float shifter = 0x1.8p23f;
    const float z = __builtin_fmaf(x, 0x1.715476p+0f, shifter);
    const float n = z - shifter;
    const float b = __builtin_fmaf(-n, 0x1.7f7d1cp-20f, __builtin_fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = __builtin_fmaf(__builtin_fmaf(__builtin_fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                                  __builtin_fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                                   u, __builtin_fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (__builtin_fabsf(n) > 192) return n <= 0 ? 0.0f : __builtin_inff();
    return __builtin_ldexpf(j, (int)n);
}

static void swiglu_generic(int64_t width, int64_t begin, float *gate, const float *up) {
    for (int64_t i = begin; i < width; ++i) {
        const float x = gate[i];
        const float silu = i < width / 16 * 16 ? x / (1.0f + forge_llama_expf(0.0f - x)) : x / (1.0f + __builtin_expf(-x));
        gate[i] = silu * up[i];
    }
}

#if defined(__x86_64__)
int64_t forge_avx512_swiglu(int64_t width, float *gate, const float *up);
int64_t forge_avx2_swiglu(int64_t width, float *gate, const float *up);
#endif

void forge_swiglu(forge_isa isa, int64_t rows, int64_t width, float *gate, const float *up) {
    for (int64_t r = 0; r < rows; ++r, gate += width, up += width) {
        int64_t done = 0;
#if defined(__x86_64__)
        if (isa == FORGE_ISA_AVX512) done = forge_avx512_swiglu(width, gate, up);
        else if (isa == FORGE_ISA_AVX2) done = forge_avx2_swiglu(width, gate, up);
#else
        (void)isa;
#endif
        swiglu_generic(width, done, gate, up);
    }
}
