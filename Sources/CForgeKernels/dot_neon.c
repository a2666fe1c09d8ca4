// NEON kernels for arm64, in three tables chosen at run time (forge_isa_supported): plain
// Advanced SIMD, which every arm64 CPU has; + dotprod (SDOT); + i8mm (SMMLA), whose panels take
// two weight rows × two tokens per instruction. The integer sums are the generic ones; the float
// order is this file's own (see dot_neon_integer.h), the same in all three tables, so they agree
// bit for bit with each other and within rounding with the generic C path.
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include <stddef.h>
#include "formats.h"

// GCC wants the architecture level in a function's target; clang takes the feature names.
#if defined(__clang__)
#define NEON_DOTPROD __attribute__((target("dotprod")))
#define NEON_I8MM __attribute__((target("dotprod,i8mm")))
#else
#define NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define NEON_I8MM __attribute__((target("arch=armv8.6-a+i8mm")))
#endif

#define INLINE static inline __attribute__((always_inline))

// MARK: - Block decoding (plain NEON, shared by every variant)

enum block_format { BLOCK_Q4_0, BLOCK_Q4_1, BLOCK_Q5_0, BLOCK_Q5_1, BLOCK_Q8_0, BLOCK_IQ4_NL };

INLINE size_t weight_block_bytes(enum block_format format) {
    switch (format) {
    case BLOCK_Q4_0: return sizeof(block_q4_0);
    case BLOCK_Q4_1: return sizeof(block_q4_1);
    case BLOCK_Q5_0: return sizeof(block_q5_0);
    case BLOCK_Q5_1: return sizeof(block_q5_1);
    case BLOCK_Q8_0: return sizeof(block_q8_0);
    default: return sizeof(block_iq4_nl);
    }
}

// Q4_1/Q5_1 add m·s per block against Q8_1 activations.
INLINE int has_offsets(enum block_format format) { return format == BLOCK_Q4_1 || format == BLOCK_Q5_1; }

INLINE uint16_t half_at(const uint8_t *bytes) {
    uint16_t half;
    memcpy(&half, bytes, 2);
    return half;
}

// The f16 fields of four consecutive blocks `stride` bytes apart, widened exactly.
INLINE float32x4_t halves_at(const uint8_t *first, size_t stride) {
    const uint16_t halves[4] = {half_at(first), half_at(first + stride), half_at(first + 2 * stride), half_at(first + 3 * stride)};
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(halves)));
}

// Low nibbles are values 0..15 of a block, high nibbles values 16..31.
INLINE void unpack_nibbles(const uint8_t *codes, uint8x16_t *low, uint8x16_t *high) {
    const uint8x16_t bytes = vld1q_u8(codes);
    *low = vandq_u8(bytes, vdupq_n_u8(0x0f));
    *high = vshrq_n_u8(bytes, 4);
}

// The Q5 fifth bits (bit j of the little-endian word ↔ value j) as 0x10 in the bytes of values
// 0..15 and 16..31.
INLINE void fifth_bits(const uint8_t qh[4], uint8x16_t *low, uint8x16_t *high) {
    static const uint8_t bit_of_lane[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bits = vld1q_u8(bit_of_lane), fifth = vdupq_n_u8(0x10);
    *low = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[0]), vdup_n_u8(qh[1])), bits), fifth);
    *high = vandq_u8(vtstq_u8(vcombine_u8(vdup_n_u8(qh[2]), vdup_n_u8(qh[3])), bits), fifth);
}

// A block's 32 values as signed bytes: x0 holds values 0..15, x1 values 16..31.
INLINE void decode_block(enum block_format format, const uint8_t *block, int8x16_t *x0, int8x16_t *x1) {
    uint8x16_t low, high, low5, high5;
    switch (format) {
    case BLOCK_Q4_0:
        unpack_nibbles(block + offsetof(block_q4_0, qs), &low, &high);
        *x0 = vsubq_s8(vreinterpretq_s8_u8(low), vdupq_n_s8(8));
        *x1 = vsubq_s8(vreinterpretq_s8_u8(high), vdupq_n_s8(8));
        return;
    case BLOCK_Q4_1:
        unpack_nibbles(block + offsetof(block_q4_1, qs), &low, &high);
        *x0 = vreinterpretq_s8_u8(low);
        *x1 = vreinterpretq_s8_u8(high);
        return;
    case BLOCK_Q5_0:
        unpack_nibbles(block + offsetof(block_q5_0, qs), &low, &high);
        fifth_bits(block + offsetof(block_q5_0, qh), &low5, &high5);
        *x0 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(low, low5)), vdupq_n_s8(16));
        *x1 = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(high, high5)), vdupq_n_s8(16));
        return;
    case BLOCK_Q5_1:
        unpack_nibbles(block + offsetof(block_q5_1, qs), &low, &high);
        fifth_bits(block + offsetof(block_q5_1, qh), &low5, &high5);
        *x0 = vreinterpretq_s8_u8(vorrq_u8(low, low5));
        *x1 = vreinterpretq_s8_u8(vorrq_u8(high, high5));
        return;
    case BLOCK_Q8_0:
        *x0 = vld1q_s8((const int8_t *)(block + offsetof(block_q8_0, qs)));
        *x1 = vld1q_s8((const int8_t *)(block + offsetof(block_q8_0, qs)) + 16);
        return;
    case BLOCK_IQ4_NL: {
        const int8x16_t table = vld1q_s8(kvalues_iq4nl);
        unpack_nibbles(block + offsetof(block_iq4_nl, qs), &low, &high);
        *x0 = vqtbl1q_s8(table, low);
        *x1 = vqtbl1q_s8(table, high);
        return;
    }
    }
}

// MARK: - Integer dot products, once per variant

// Without dotprod: the sixteen products widened to 16 bits (|x·y| ≤ 2^14, no overflow) and added
// pairwise into the lanes.
INLINE int32x4_t idot_plain(int32x4_t acc, int8x16_t x, int8x16_t y) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
    return vpadalq_s16(acc, vmull_high_s8(x, y));
}

#define NEON_NAME(name) name##_neon
#define NEON_TARGET
#define IDOT idot_plain
#include "dot_neon_integer.h"
#undef NEON_NAME
#undef NEON_TARGET
#undef IDOT

#define NEON_NAME(name) name##_dotprod
#define NEON_TARGET NEON_DOTPROD
#define IDOT vdotq_s32
#include "dot_neon_integer.h"
#undef NEON_NAME
#undef NEON_TARGET
#undef IDOT

// MARK: - i8mm panels

// Two weight rows × four tokens (one full tile) of a 32-value format. SMMLA multiplies the two
// rows' eight values by the two tokens' eight values into the four (row, token) sums, lanes
// (r0,t0), (r0,t1), (r1,t0), (r1,t1). Every (row, token) keeps the dot product's four chains and
// the same fused operations, so the results are its bits.
INLINE int8x16_t low_halves(int8x16_t a, int8x16_t b) {
    return vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}
INLINE int8x16_t high_halves(int8x16_t a, int8x16_t b) {
    return vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)));
}

// One block of the row pair against tokens 2p, 2p + 1 into `chain`.
INLINE NEON_I8MM float32x4_t pair_step(enum block_format format, const int8x16_t rows[4], float32x4_t row_d, float32x4_t row_m,
                                        const uint8_t *activations, size_t stride, int p, int64_t b, int64_t blocks,
                                        const float *scales, float32x4_t chain) {
    const int offsets = has_offsets(format);
    const size_t a_bytes = offsets ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t a_codes = offsets ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const int8_t *y0 = (const int8_t *)(activations + (size_t)(2 * p) * stride + (size_t)b * a_bytes + a_codes);
    const int8_t *y1 = y0 + stride;
    const int8x16_t ya = vld1q_s8(y0), yb = vld1q_s8(y0 + 16), za = vld1q_s8(y1), zb = vld1q_s8(y1 + 16);
    int32x4_t sums = vmmlaq_s32(vdupq_n_s32(0), rows[0], low_halves(ya, za));
    sums = vmmlaq_s32(sums, rows[1], high_halves(ya, za));
    sums = vmmlaq_s32(sums, rows[2], low_halves(yb, zb));
    sums = vmmlaq_s32(sums, rows[3], high_halves(yb, zb));
    const float32x2_t token_d = vld1_f32(scales + 4 * b + 2 * p);
    chain = vfmaq_f32(chain, vcvtq_f32_s32(sums), vmulq_f32(row_d, vcombine_f32(token_d, token_d)));
    if (offsets) {
        const float32x2_t token_s = vld1_f32(scales + 4 * blocks + 4 * b + 2 * p);
        chain = vfmaq_f32(chain, row_m, vcombine_f32(token_s, token_s));
    }
    return chain;
}

INLINE NEON_I8MM void panel_pair(enum block_format format, int64_t count, const uint8_t *weights, size_t row_bytes,
                                 const uint8_t *activations, size_t stride, const float *scales, float *out, size_t out_stride) {
    const size_t w_bytes = weight_block_bytes(format);
    const int64_t blocks = count / QK;
    float32x4_t chains[2][4]; // [token pair][block mod 4]
    for (int p = 0; p < 2; ++p)
        for (int k = 0; k < 4; ++k) chains[p][k] = vdupq_n_f32(0);
    for (int64_t start = 0; start < blocks; start += 4) {
        for (int k = 0; k < 4 && start + k < blocks; ++k) {
            const int64_t b = start + k;
            const uint8_t *x0 = weights + b * w_bytes, *x1 = x0 + row_bytes;
            int8x16_t w0[2], w1[2];
            decode_block(format, x0, &w0[0], &w0[1]);
            decode_block(format, x1, &w1[0], &w1[1]);
            const int8x16_t rows[4] = {low_halves(w0[0], w1[0]), high_halves(w0[0], w1[0]), low_halves(w0[1], w1[1]),
                                       high_halves(w0[1], w1[1])};
            const float32x4_t row_d = vcombine_f32(vdup_n_f32(f16_to_f32(half_at(x0))), vdup_n_f32(f16_to_f32(half_at(x1))));
            const float32x4_t row_m = has_offsets(format)
                                          ? vcombine_f32(vdup_n_f32(f16_to_f32(half_at(x0 + 2))), vdup_n_f32(f16_to_f32(half_at(x1 + 2))))
                                          : vdupq_n_f32(0);
            for (int p = 0; p < 2; ++p) {
                chains[p][k] = pair_step(format, rows, row_d, row_m, activations, stride, p, b, blocks, scales, chains[p][k]);
            }
        }
    }
    for (int p = 0; p < 2; ++p) {
        float result[4];
        vst1q_f32(result, vaddq_f32(vaddq_f32(chains[p][0], chains[p][1]), vaddq_f32(chains[p][2], chains[p][3])));
        out[(size_t)(2 * p) * out_stride] = result[0];
        out[(size_t)(2 * p + 1) * out_stride] = result[1];
        out[(size_t)(2 * p) * out_stride + 1] = result[2];
        out[(size_t)(2 * p + 1) * out_stride + 1] = result[3];
    }
}

#define PANEL(name, format)                                                                                              \
    NEON_I8MM static void panel_##name(int64_t count, const void *weights, size_t row_bytes, const void *activations,    \
                                       size_t stride, const float *group_scales, int tokens, float *out, size_t out_stride) { \
        const int64_t group_stride = 2 * (count / QK) * FORGE_TILE_TOKENS;                                               \
        for (int t = 0; t < tokens; t += FORGE_TILE_TOKENS) {                                                            \
            for (int r = 0; r < FORGE_PANEL_ROWS; r += 2) {                                                              \
                panel_pair(format, count, (const uint8_t *)weights + (size_t)r * row_bytes, row_bytes,                  \
                           (const uint8_t *)activations + (size_t)t * stride, stride,                                   \
                           group_scales + (t / FORGE_TILE_TOKENS) * group_stride, out + (size_t)t * out_stride + r, out_stride); \
            }                                                                                                            \
        }                                                                                                                \
    }
PANEL(q4_0, BLOCK_Q4_0)
PANEL(q4_1, BLOCK_Q4_1)
PANEL(q5_0, BLOCK_Q5_0)
PANEL(q5_1, BLOCK_Q5_1)
PANEL(q8_0, BLOCK_Q8_0)
PANEL(iq4_nl, BLOCK_IQ4_NL)

// MARK: - Float dot products (plain NEON, every table)

// Four chains of fused multiply-adds over steps of sixteen values, folded (0 + 1) + (2 + 3) and
// lane by lane (0 + 1) + (2 + 3); the rest one fused product at a time.
INLINE float fold_lanes(float32x4_t acc[4]) {
    const float32x4_t folded = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
    const float32x2_t pairs = vpadd_f32(vget_low_f32(folded), vget_high_f32(folded));
    return vget_lane_f32(pairs, 0) + vget_lane_f32(pairs, 1);
}

INLINE float32x4_t low_f16(uint16x8_t halves) { return vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(halves))); }
INLINE float32x4_t high_f16(uint16x8_t halves) { return vcvt_high_f32_f16(vreinterpretq_f16_u16(halves)); }
INLINE float32x4_t low_bf16(uint16x8_t halves) { return vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(halves), 16)); }
INLINE float32x4_t high_bf16(uint16x8_t halves) { return vreinterpretq_f32_u32(vshll_high_n_u16(halves, 16)); }

static float dot_f32(int64_t count, const void *weights, const void *activations) {
    const float *w = weights, *a = activations;
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        for (int k = 0; k < 4; ++k) acc[k] = vfmaq_f32(acc[k], vld1q_f32(w + i + 4 * k), vld1q_f32(a + i + 4 * k));
    }
    float sum = fold_lanes(acc);
    for (; i < count; ++i) sum = fmaf(w[i], a[i], sum);
    return sum;
}

// F16 and BF16 rows: 16 values a step widened to f32 in four accumulators, the tail in one chain.
#define HALF_DOT(name, low, high, scalar)                                                                  \
    static float name(int64_t count, const void *weights, const void *activations) {                      \
        const uint16_t *w = weights, *a = activations;                                                    \
        float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};             \
        int64_t i = 0;                                                                                    \
        for (; i + 16 <= count; i += 16) {                                                                \
            for (int k = 0; k < 2; ++k) {                                                                 \
                const uint16x8_t x = vld1q_u16(w + i + 8 * k), y = vld1q_u16(a + i + 8 * k);              \
                acc[2 * k] = vfmaq_f32(acc[2 * k], low(x), low(y));                                       \
                acc[2 * k + 1] = vfmaq_f32(acc[2 * k + 1], high(x), high(y));                             \
            }                                                                                             \
        }                                                                                                 \
        float sum = fold_lanes(acc);                                                                      \
        for (; i < count; ++i) sum = fmaf(scalar(w[i]), scalar(a[i]), sum);                               \
        return sum;                                                                                       \
    }
HALF_DOT(dot_f16, low_f16, high_f16, f16_to_f32)
HALF_DOT(dot_bf16, low_bf16, high_bf16, bf16_to_f32)

// MARK: - Activation quantizers (plain NEON, every table): the generic encoders' bytes

// ggml's nearest_int in four lanes, the same float-mantissa rounding (so the same bits for any input).
INLINE int32x4_t nearest_ints(float32x4_t values) {
    const int32x4_t bits = vreinterpretq_s32_f32(vaddq_f32(values, vdupq_n_f32(12582912.f)));
    return vsubq_s32(vandq_s32(bits, vdupq_n_s32(0x007fffff)), vdupq_n_s32(0x00400000));
}

// Sixteen lanes of 32-bit integers truncated to bytes, as the C conversion to int8_t does.
INLINE int8x16_t narrow_to_bytes(const int32x4_t q[4]) {
    const int16x8_t low = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
    const int16x8_t high = vcombine_s16(vmovn_s32(q[2]), vmovn_s32(q[3]));
    return vcombine_s8(vmovn_s16(low), vmovn_s16(high));
}

// 32 values' largest magnitude (NaN ignored, as fmaxf does).
INLINE float absolute_max_32(const float *x) {
    float32x4_t m = vabsq_f32(vld1q_f32(x));
    for (int k = 1; k < 8; ++k) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + 4 * k)));
    return vmaxnmvq_f32(m);
}

// 32 values times `multiplier`, rounded as nearest_int, stored as bytes; returns their sum.
INLINE int quantize_32(const float *x, float multiplier, int8_t *out) {
    for (int half = 0; half < 2; ++half) {
        int32x4_t q[4];
        for (int k = 0; k < 4; ++k) q[k] = nearest_ints(vmulq_n_f32(vld1q_f32(x + 16 * half + 4 * k), multiplier));
        vst1q_s8(out + 16 * half, narrow_to_bytes(q));
    }
    return vaddlvq_s8(vld1q_s8(out)) + vaddlvq_s8(vld1q_s8(out + 16));
}

static void quantize_q8_0(const float *x, void *destination, int64_t count) {
    block_q8_0 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = absolute_max_32(x);
        blocks[b].d = f32_to_f16(amax / 127.f);
        quantize_32(x, amax != 0 ? 127.f / amax : 0.0f, blocks[b].qs);
    }
}

static void quantize_q8_1(const float *x, void *destination, int64_t count) {
    block_q8_1 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = absolute_max_32(x);
        const float d = amax / 127.f;
        const int sum = quantize_32(x, amax != 0 ? 127.f / amax : 0.0f, blocks[b].qs);
        blocks[b].d = f32_to_f16(d);
        blocks[b].s = f32_to_f16(d * (float)sum);
    }
}

static void quantize_q8_K(const float *x, void *destination, int64_t count) {
    block_q8_K *blocks = destination;
    for (int64_t b = 0; b < count / QK_K; ++b, x += QK_K) {
        float amax = 0;
        for (int k = 0; k < QK_K / 32; ++k) amax = fmaxf(amax, absolute_max_32(x + 32 * k));
        if (amax == 0) {
            memset(&blocks[b], 0, sizeof(block_q8_K));
            continue;
        }
        int first = 0;
        while (fabsf(x[first]) != amax) ++first; // the first value of largest magnitude decides the sign
        const float inverse_scale = -127.f / x[first];
        for (int k = 0; k < QK_K / 16; ++k) {
            int32x4_t q[4];
            for (int l = 0; l < 4; ++l) {
                q[l] = vminq_s32(nearest_ints(vmulq_n_f32(vld1q_f32(x + 16 * k + 4 * l), inverse_scale)), vdupq_n_s32(127));
            }
            const int8x16_t bytes = narrow_to_bytes(q);
            vst1q_s8(blocks[b].qs + 16 * k, bytes);
            blocks[b].bsums[k] = vaddlvq_s8(bytes);
        }
        blocks[b].d = 1 / inverse_scale;
    }
}

static void convert_f16(const float *x, void *destination, int64_t count) {
    uint16_t *halves = destination;
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) vst1_u16(halves + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < count; ++i) halves[i] = f32_to_f16(x[i]);
}

// f32_to_bf16 in four lanes: round to nearest even on the bit pattern, NaN made quiet.
static void convert_bf16(const float *x, void *destination, int64_t count) {
    uint16_t *halves = destination;
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const uint32x4_t bits = vreinterpretq_u32_f32(vld1q_f32(x + i));
        const uint32x4_t odd = vandq_u32(vshrq_n_u32(bits, 16), vdupq_n_u32(1));
        const uint32x4_t rounded = vshrq_n_u32(vaddq_u32(vaddq_u32(bits, vdupq_n_u32(0x7fff)), odd), 16);
        const uint32x4_t quiet = vorrq_u32(vshrq_n_u32(bits, 16), vdupq_n_u32(64));
        const uint32x4_t nan = vcgtq_u32(vandq_u32(bits, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
        vst1_u16(halves + i, vmovn_u32(vbslq_u32(nan, quiet, rounded)));
    }
    for (; i < count; ++i) halves[i] = f32_to_bf16(x[i]);
}

// MARK: - Tables

#define NEON_DOTS(suffix)                                                                                             \
    {                                                                                                                \
        [FORGE_TYPE_F32] = dot_f32, [FORGE_TYPE_F16] = dot_f16, [FORGE_TYPE_BF16] = dot_bf16,                        \
        [FORGE_TYPE_Q4_0] = dot_q4_0_##suffix, [FORGE_TYPE_Q4_1] = dot_q4_1_##suffix,                                \
        [FORGE_TYPE_Q5_0] = dot_q5_0_##suffix, [FORGE_TYPE_Q5_1] = dot_q5_1_##suffix,                                \
        [FORGE_TYPE_Q8_0] = dot_q8_0_##suffix, [FORGE_TYPE_IQ4_NL] = dot_iq4_nl_##suffix,                            \
        [FORGE_TYPE_Q4_K] = dot_q4_K_##suffix, [FORGE_TYPE_Q5_K] = dot_q5_K_##suffix,                                \
        [FORGE_TYPE_Q6_K] = dot_q6_K_##suffix,                                                                       \
    }

#define NEON_TILES(suffix)                                                                                            \
    {                                                                                                                \
        [FORGE_TYPE_Q4_0] = tile_q4_0_##suffix, [FORGE_TYPE_Q4_1] = tile_q4_1_##suffix,                              \
        [FORGE_TYPE_Q5_0] = tile_q5_0_##suffix, [FORGE_TYPE_Q5_1] = tile_q5_1_##suffix,                              \
        [FORGE_TYPE_Q8_0] = tile_q8_0_##suffix, [FORGE_TYPE_IQ4_NL] = tile_iq4_nl_##suffix,                          \
        [FORGE_TYPE_Q4_K] = tile_q4_K_##suffix, [FORGE_TYPE_Q5_K] = tile_q5_K_##suffix,                              \
        [FORGE_TYPE_Q6_K] = tile_q6_K_##suffix,                                                                      \
    }

// The dotprod and i8mm tables take these quantizers through the fallback (dispatch.c).
const forge_kernel_table forge_neon_kernels = {
    .dot = NEON_DOTS(neon),
    .tile = NEON_TILES(neon),
    .quantize = {
        [FORGE_TYPE_F16] = convert_f16, [FORGE_TYPE_BF16] = convert_bf16, [FORGE_TYPE_Q8_0] = quantize_q8_0,
        [FORGE_TYPE_Q8_1] = quantize_q8_1, [FORGE_TYPE_Q8_K] = quantize_q8_K,
    },
};

const forge_kernel_table forge_neon_dotprod_kernels = {
    .dot = NEON_DOTS(dotprod),
    .tile = NEON_TILES(dotprod),
};

// The dotprod dot products and tiles again: a panel is only taken beside a dot product of its own table.
const forge_kernel_table forge_neon_i8mm_kernels = {
    .dot = NEON_DOTS(dotprod),
    .tile = NEON_TILES(dotprod),
    .panel = {
        [FORGE_TYPE_Q4_0] = panel_q4_0,
        [FORGE_TYPE_Q4_1] = panel_q4_1,
        [FORGE_TYPE_Q5_0] = panel_q5_0,
        [FORGE_TYPE_Q5_1] = panel_q5_1,
        [FORGE_TYPE_Q8_0] = panel_q8_0,
        [FORGE_TYPE_IQ4_NL] = panel_iq4_nl,
    },
};

#endif
