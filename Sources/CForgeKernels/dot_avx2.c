// AVX2 + FMA + F16C variants, compiled per function so the target stays baseline x86-64.
// Integer sums are the generic kernels' exactly: products of a weight byte and an activation
// byte go through vpmaddubsw, which saturates only beyond 2·128·127 — out of reach because
// activation bytes stay within ±127 — and are widened to 32 bits before they are summed.
#include <stddef.h>
#include "formats.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float sum_floats(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}

AVX2 static inline int sum_ints(__m256i v) {
    __m128i half = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    half = _mm_add_epi32(half, _mm_shuffle_epi32(half, _MM_SHUFFLE(1, 0, 3, 2)));
    half = _mm_add_epi32(half, _mm_shuffle_epi32(half, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(half);
}

// f16 → f32 with F16C: one instruction, where the branchless software conversion weighs on the panels.
AVX2 static inline float half_to_float(uint16_t half) { return _mm_cvtss_f32(_mm_cvtph_ps(low_lane(half))); }

// f16(x) · f16(y) with one vector conversion (scalar f16 decoding costs more than the block).
AVX2 static inline float half_product(uint16_t x, uint16_t y) {
    const __m128 both = _mm_cvtph_ps(low_lane((uint32_t)x | (uint32_t)y << 16));
    return _mm_cvtss_f32(_mm_mul_ss(both, _mm_movehdup_ps(both)));
}

// llama.cpp's `summs += m·s` for Q4_1/Q5_1, which its compilers contract into one fused multiply-add.
AVX2 static inline float offset_step(float sum, uint16_t m, uint16_t s) {
    const __m128 both = _mm_cvtph_ps(low_lane((uint32_t)m | (uint32_t)s << 16));
    return __builtin_fmaf(_mm_cvtss_f32(both), _mm_cvtss_f32(_mm_movehdup_ps(both)), sum);
}

// 16 bytes of nibbles → 32 bytes in value order: low nibbles (values 0..15), then high nibbles.
AVX2 static inline __m256i unpack_nibbles(const uint8_t *packed) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)packed);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// 32 bits → 32 bytes, 0xFF where the bit is set (byte j ↔ bit j).
AVX2 static inline __m256i expand_bits(uint32_t bits) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}

// Σ over pairs of unsigned × signed bytes, widened to eight 32-bit sums.
AVX2 static inline __m256i dot_unsigned_signed(__m256i unsigned_bytes, __m256i signed_bytes) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned_bytes, signed_bytes), _mm256_set1_epi16(1));
}

// Signed × signed: move x's sign onto y so vpmaddubsw can take |x| as its unsigned operand.
AVX2 static inline __m256i dot_signed_signed(__m256i x, __m256i y) {
    return dot_unsigned_signed(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

AVX2 static float dot_q8_0(int64_t count, const void *weights, const void *activations) {
    const block_q8_0 *w = weights;
    const block_q8_0 *a = activations;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK; ++b) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)w[b].qs);
        const __m256i y = _mm256_loadu_si256((const __m256i *)a[b].qs);
        const __m256 d = _mm256_set1_ps(half_product(w[b].d, a[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_signed_signed(x, y)), acc);
    }
    return sum_floats(acc);
}

AVX2 static float dot_q4_0(int64_t count, const void *weights, const void *activations) {
    const block_q4_0 *w = weights;
    const block_q8_0 *a = activations;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK; ++b) {
        const __m256i x = _mm256_sub_epi8(unpack_nibbles(w[b].qs), _mm256_set1_epi8(8));
        const __m256i y = _mm256_loadu_si256((const __m256i *)a[b].qs);
        const __m256 d = _mm256_set1_ps(half_product(w[b].d, a[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_signed_signed(x, y)), acc);
    }
    return sum_floats(acc);
}

AVX2 static float dot_q4_1(int64_t count, const void *weights, const void *activations) {
    const block_q4_1 *w = weights;
    const block_q8_1 *a = activations;
    __m256 acc = _mm256_setzero_ps();
    float offsets = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        const __m256i y = _mm256_loadu_si256((const __m256i *)a[b].qs);
        const __m256 d = _mm256_set1_ps(half_product(w[b].d, a[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_unsigned_signed(unpack_nibbles(w[b].qs), y)), acc);
        offsets = offset_step(offsets, w[b].m, a[b].s);
    }
    return sum_floats(acc) + offsets;
}

AVX2 static float dot_q5_0(int64_t count, const void *weights, const void *activations) {
    const block_q5_0 *w = weights;
    const block_q8_0 *a = activations;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK; ++b) {
        // q − 16 is the nibble with 0xF0 or-ed in where the fifth bit is clear (two's complement).
        const __m256i clear = _mm256_andnot_si256(expand_bits(q5_high_bits(w[b].qh)), _mm256_set1_epi8((char)0xf0));
        const __m256i x = _mm256_or_si256(unpack_nibbles(w[b].qs), clear);
        const __m256i y = _mm256_loadu_si256((const __m256i *)a[b].qs);
        const __m256 d = _mm256_set1_ps(half_product(w[b].d, a[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_signed_signed(x, y)), acc);
    }
    return sum_floats(acc);
}

AVX2 static float dot_q5_1(int64_t count, const void *weights, const void *activations) {
    const block_q5_1 *w = weights;
    const block_q8_1 *a = activations;
    __m256 acc = _mm256_setzero_ps();
    float offsets = 0;
    for (int64_t b = 0; b < count / QK; ++b) {
        const __m256i fifth = _mm256_and_si256(expand_bits(q5_high_bits(w[b].qh)), _mm256_set1_epi8(0x10));
        const __m256i x = _mm256_or_si256(unpack_nibbles(w[b].qs), fifth);
        const __m256i y = _mm256_loadu_si256((const __m256i *)a[b].qs);
        const __m256 d = _mm256_set1_ps(half_product(w[b].d, a[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_unsigned_signed(x, y)), acc);
        offsets = offset_step(offsets, w[b].m, a[b].s);
    }
    return sum_floats(acc) + offsets;
}

AVX2 static float dot_iq4_nl(int64_t count, const void *weights, const void *activations) {
    const block_iq4_nl *w = weights;
    const block_q8_0 *a = activations;
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK; ++b) {
        const __m256i x = _mm256_shuffle_epi8(table, unpack_nibbles(w[b].qs));
        const __m256i y = _mm256_loadu_si256((const __m256i *)a[b].qs);
        const __m256 d = _mm256_set1_ps(half_product(w[b].d, a[b].d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_signed_signed(x, y)), acc);
    }
    return sum_floats(acc);
}

// Per 64-value group g (sub-blocks 2g, 2g+1): min_2g·Σy_2g + min_2g+1·Σy_2g+1, in lane g.
AVX2 static inline __m128i k4_group_mins(uint64_t mins, const int16_t *bsums) {
    const __m256i sums = _mm256_loadu_si256((const __m256i *)bsums);
    const __m128i sub_block_sums = _mm_hadd_epi16(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
    return _mm_madd_epi16(sub_block_sums, _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mins)));
}

// The values of 64-value group `group` of a Q4_K/Q5_K block: the low nibbles (the first 32) and
// the high ones, each with its fifth bit from `high_bits` (qh) for Q5_K: bit 2·group of qh[l]
// belongs to the low nibble, bit 2·group+1 to the high one.
AVX2 static inline void k4_k5_group(const uint8_t *q4, __m256i high_bits, int is_q5, int group, __m256i *low, __m256i *high) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    const __m256i packed = _mm256_loadu_si256((const __m256i *)(q4 + 32 * group));
    *low = _mm256_and_si256(packed, low_mask);
    *high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
    if (is_q5) {
        const __m256i shifted = _mm256_srl_epi16(high_bits, _mm_cvtsi32_si128(2 * group));
        *low = _mm256_or_si256(*low, _mm256_and_si256(_mm256_slli_epi16(shifted, 4), _mm256_set1_epi8(0x10)));
        *high = _mm256_or_si256(*high, _mm256_and_si256(_mm256_slli_epi16(shifted, 3), _mm256_set1_epi8(0x10)));
    }
}

// Q4_K (no fifth bits) and Q5_K in the float order of llama.cpp's repacked Q4_K kernels, as the
// AVX-512 variant (see k4_k5_tokens there): per-64-value steps for a full tile of tokens
// (`gemm_order`), per-super-block steps otherwise.
AVX2 static inline float dot_k4_k5(int64_t count, size_t block_bytes, int is_q5, int gemm_order, const void *weights,
                                   const void *activations) {
    const uint8_t *bytes = weights;
    const block_q8_K *a = activations;
    float sum = 0, min_total = 0;
    for (int64_t b = 0; b < count / QK_K; ++b, bytes += block_bytes) {
        uint32_t d_pair;
        memcpy(&d_pair, bytes, 4);
        const __m128 weight_d_dmin = _mm_cvtph_ps(low_lane(d_pair));
        const float d = _mm_cvtss_f32(weight_d_dmin) * a[b].d;
        const float dmin = _mm_cvtss_f32(_mm_movehdup_ps(weight_d_dmin)) * a[b].d;
        uint64_t scale_bytes, min_bytes;
        k4_scales_mins(bytes + 4, &scale_bytes, &min_bytes);
        const uint8_t *scales = (const uint8_t *)&scale_bytes;
        const uint8_t *q4 = bytes + 16 + (is_q5 ? 32 : 0);
        const __m256i high_bits = is_q5 ? _mm256_loadu_si256((const __m256i *)(bytes + 16)) : _mm256_setzero_si256();
        int group_totals[4], group_mins[4];
        for (int group = 0; group < 4; ++group) {
            __m256i low, high;
            k4_k5_group(q4, high_bits, is_q5, group, &low, &high);
            const __m256i y_low = _mm256_loadu_si256((const __m256i *)(a[b].qs + 64 * group));
            const __m256i y_high = _mm256_loadu_si256((const __m256i *)(a[b].qs + 64 * group + 32));
            const __m256i p_low = _mm256_madd_epi16(_mm256_maddubs_epi16(low, y_low), _mm256_set1_epi16(scales[2 * group]));
            const __m256i p_high = _mm256_madd_epi16(_mm256_maddubs_epi16(high, y_high), _mm256_set1_epi16(scales[2 * group + 1]));
            group_totals[group] = sum_ints(_mm256_add_epi32(p_low, p_high));
        }
        _mm_storeu_si128((__m128i *)group_mins, k4_group_mins(min_bytes, a[b].bsums));
        if (gemm_order) {
            for (int g = 0; g < 4; ++g) {
                sum = __builtin_fmaf((float)group_totals[g], d, sum);
                min_total = __builtin_fmaf((float)group_mins[g], dmin, min_total);
            }
        } else {
            const int total = group_totals[0] + group_totals[1] + group_totals[2] + group_totals[3];
            const int mins = group_mins[0] + group_mins[1] + group_mins[2] + group_mins[3];
            sum = __builtin_fmaf((float)total, d, sum);
            min_total = __builtin_fmaf((float)mins, dmin, min_total);
        }
    }
    return sum - min_total;
}

AVX2 static float dot_q4_K(int64_t count, const void *weights, const void *activations) {
    return dot_k4_k5(count, sizeof(block_q4_K), 0, 0, weights, activations);
}

AVX2 static float dot_q5_K(int64_t count, const void *weights, const void *activations) {
    return dot_k4_k5(count, sizeof(block_q5_K), 1, 0, weights, activations);
}

// Four tokens' 8-lane integer sums → their four totals, lane t for token t (exact integer adds).
AVX2 static inline __m128i token_totals(const __m256i sums[FORGE_TILE_TOKENS]) {
    const __m256i pairs = _mm256_hadd_epi32(_mm256_hadd_epi32(sums[0], sums[1]), _mm256_hadd_epi32(sums[2], sums[3]));
    return _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
}

// The Q8_K activation rows of a tile of `tokens` (2 to 4) tokens, missing ones repeating token 0
// (computed alongside and not written).
AVX2 static inline void tile_rows(const void *activations, size_t stride, int tokens, const block_q8_K *rows[FORGE_TILE_TOKENS]) {
    for (int t = 0; t < FORGE_TILE_TOKENS; ++t) rows[t] = (const block_q8_K *)((const uint8_t *)activations + (size_t)(t < tokens ? t : 0) * stride);
}

// A tile of 2 to 4 tokens: each 64-value group decoded once for every token, the integer totals
// of each group gathered into one lane per token, and each token's float chain of the dot
// product (or, for a full tile, of the GEMM order) run in that lane: the same fma steps as the
// scalar chains.
AVX2 static inline void k4_k5_tokens(int64_t count, size_t block_bytes, int is_q5, const void *weights, const uint8_t *activations,
                                     size_t stride, int tokens, float *out, size_t out_stride) {
    const uint8_t *bytes = weights;
    const int gemm_order = tokens == FORGE_TILE_TOKENS;
    const block_q8_K *a[FORGE_TILE_TOKENS];
    tile_rows(activations, stride, tokens, a);
    __m128 sum = _mm_setzero_ps(), min_total = _mm_setzero_ps();
    for (int64_t b = 0; b < count / QK_K; ++b, bytes += block_bytes) {
        uint32_t d_pair;
        memcpy(&d_pair, bytes, 4);
        const __m128 weight_d_dmin = _mm_cvtph_ps(low_lane(d_pair));
        const __m128 token_d = _mm_setr_ps(a[0][b].d, a[1][b].d, a[2][b].d, a[3][b].d);
        const __m128 d = _mm_mul_ps(_mm_set1_ps(_mm_cvtss_f32(weight_d_dmin)), token_d);
        const __m128 dmin = _mm_mul_ps(_mm_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(weight_d_dmin))), token_d);
        uint64_t scale_bytes, min_bytes;
        k4_scales_mins(bytes + 4, &scale_bytes, &min_bytes);
        const uint8_t *scales = (const uint8_t *)&scale_bytes;
        const uint8_t *q4 = bytes + 16 + (is_q5 ? 32 : 0);
        const __m256i high_bits = is_q5 ? _mm256_loadu_si256((const __m256i *)(bytes + 16)) : _mm256_setzero_si256();
        __m128i group_totals[4];
        for (int group = 0; group < 4; ++group) {
            __m256i low, high;
            k4_k5_group(q4, high_bits, is_q5, group, &low, &high);
            const __m256i scale_low = _mm256_set1_epi16(scales[2 * group]), scale_high = _mm256_set1_epi16(scales[2 * group + 1]);
            __m256i sums[FORGE_TILE_TOKENS];
            for (int t = 0; t < FORGE_TILE_TOKENS; ++t) {
                const __m256i y_low = _mm256_loadu_si256((const __m256i *)(a[t][b].qs + 64 * group));
                const __m256i y_high = _mm256_loadu_si256((const __m256i *)(a[t][b].qs + 64 * group + 32));
                sums[t] = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(low, y_low), scale_low),
                                           _mm256_madd_epi16(_mm256_maddubs_epi16(high, y_high), scale_high));
            }
            group_totals[group] = token_totals(sums);
        }
        // Row t: token t's four group minimums; transposed, row g holds group g of every token.
        __m128 mins[FORGE_TILE_TOKENS];
        for (int t = 0; t < FORGE_TILE_TOKENS; ++t) mins[t] = _mm_castsi128_ps(k4_group_mins(min_bytes, a[t][b].bsums));
        _MM_TRANSPOSE4_PS(mins[0], mins[1], mins[2], mins[3]);
        if (gemm_order) {
            for (int g = 0; g < 4; ++g) {
                sum = _mm_fmadd_ps(_mm_cvtepi32_ps(group_totals[g]), d, sum);
                min_total = _mm_fmadd_ps(_mm_cvtepi32_ps(_mm_castps_si128(mins[g])), dmin, min_total);
            }
        } else {
            const __m128i total = _mm_add_epi32(_mm_add_epi32(group_totals[0], group_totals[1]), _mm_add_epi32(group_totals[2], group_totals[3]));
            const __m128i min_sum = _mm_add_epi32(_mm_add_epi32(_mm_castps_si128(mins[0]), _mm_castps_si128(mins[1])),
                                                  _mm_add_epi32(_mm_castps_si128(mins[2]), _mm_castps_si128(mins[3])));
            sum = _mm_fmadd_ps(_mm_cvtepi32_ps(total), d, sum);
            min_total = _mm_fmadd_ps(_mm_cvtepi32_ps(min_sum), dmin, min_total);
        }
    }
    float results[FORGE_TILE_TOKENS];
    _mm_storeu_ps(results, _mm_sub_ps(sum, min_total));
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = results[t];
}

AVX2 static void tile_k4_k5(int64_t count, size_t block_bytes, int is_q5, const void *weights, const void *activations,
                            size_t stride, int tokens, float *out, size_t out_stride) {
    if (tokens == 1) {
        out[0] = dot_k4_k5(count, block_bytes, is_q5, 0, weights, activations);
        return;
    }
    k4_k5_tokens(count, block_bytes, is_q5, weights, activations, stride, tokens, out, out_stride);
}

AVX2 static void tile_q4_K(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales,
                           int tokens, float *out, size_t out_stride) {
    (void)scales;
    tile_k4_k5(count, sizeof(block_q4_K), 0, weights, activations, stride, tokens, out, out_stride);
}

AVX2 static void tile_q5_K(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales,
                           int tokens, float *out, size_t out_stride) {
    (void)scales;
    tile_k4_k5(count, sizeof(block_q5_K), 1, weights, activations, stride, tokens, out, out_stride);
}

// The unsigned 6-bit values (0..63) of one 128-value half of a Q6_K block: 32 values per vector,
// in the order of the half's activations.
AVX2 static inline void q6_K_half(const uint8_t *ql, const uint8_t *qh, __m256i q[4]) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f), two_bits = _mm256_set1_epi8(0x03);
    const __m256i low0 = _mm256_loadu_si256((const __m256i *)ql);
    const __m256i low1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    const __m256i high = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(low0, low_mask), _mm256_slli_epi16(_mm256_and_si256(high, two_bits), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(low1, low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 2), two_bits), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low0, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 4), two_bits), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low1, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 6), two_bits), 4));
}

// The 16-bit scales of vector k of a half: sub-block 2k in the low 128 bits, 2k+1 in the high.
AVX2 static inline __m256i q6_K_scale_pair(const int8_t *scales, int k) {
    return _mm256_set_m128i(_mm_set1_epi16(scales[2 * k + 1]), _mm_set1_epi16(scales[2 * k]));
}

// `wide`: llama.cpp's tiled K-quant order for batches of 8 tokens or more (see q6_K_order in the
// AVX-512 variant).
AVX2 static inline float q6_K_order(int64_t count, const void *weights, const void *activations, int wide) {
    const block_q6_K *w = weights;
    const block_q8_K *a = activations;
    float wide_sum = 0;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK_K; ++b) {
        // Σ scale·(q − 32)·y = Σ scale·q·y − 32·Σ scale·bsum, with q unsigned (0..63).
        const __m256i sub_sums = _mm256_loadu_si256((const __m256i *)a[b].bsums);
        const __m256i scale_words = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
        // llama.cpp's lane l subtracts 32·(its two sub-blocks' scale·Σy).
        const __m256i offsets = _mm256_slli_epi32(_mm256_madd_epi16(sub_sums, scale_words), 5);
        __m256i sums = _mm256_setzero_si256();
        for (int half = 0; half < 2; ++half) {
            const uint8_t *ql = w[b].ql + 64 * half, *qh = w[b].qh + 32 * half;
            const int8_t *y = a[b].qs + 128 * half, *sc = w[b].scales + 8 * half;
            __m256i q[4];
            q6_K_half(ql, qh, q);
            for (int k = 0; k < 4; ++k) {
                const __m256i yk = _mm256_loadu_si256((const __m256i *)(y + 32 * k));
                const __m256i scale = q6_K_scale_pair(sc, k);
                sums = _mm256_add_epi32(sums, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yk), scale));
            }
        }
        const float weight_d = half_to_float(w[b].d), d = a[b].d * weight_d;
        if (wide) {
            wide_sum = WIDE_STEP(wide_sum, (float)sum_ints(_mm256_sub_epi32(sums, offsets)) * weight_d, a[b].d);
        } else {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(sums, offsets)), acc);
        }
    }
    return wide ? wide_sum : sum_floats(acc);
}

AVX2 static float dot_q6_K(int64_t count, const void *weights, const void *activations) {
    return q6_K_order(count, weights, activations, 0);
}

// The wide order for 2 to 4 tokens: each half block decoded once for every token, each token's
// integer total gathered into its lane, then r = (float)total · d_x and fma(r, d_y, sum) per lane,
// the same steps as q6_K_order's scalars.
AVX2 static void wide_tile_q6_K(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales,
                                int tokens, float *out, size_t out_stride) {
    (void)scales;
    if (tokens == 1) {
        out[0] = q6_K_order(count, weights, activations, 1);
        return;
    }
    const block_q6_K *w = weights;
    const block_q8_K *a[FORGE_TILE_TOKENS];
    tile_rows(activations, stride, tokens, a);
    __m128 wide_sum = _mm_setzero_ps();
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const __m256i scale_words = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
        __m256i sums[FORGE_TILE_TOKENS];
        for (int t = 0; t < FORGE_TILE_TOKENS; ++t) {
            const __m256i sub_sums = _mm256_loadu_si256((const __m256i *)a[t][b].bsums);
            sums[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sub_sums, scale_words), 5));
        }
        for (int half = 0; half < 2; ++half) {
            const uint8_t *ql = w[b].ql + 64 * half, *qh = w[b].qh + 32 * half;
            const int8_t *sc = w[b].scales + 8 * half;
            __m256i q[4];
            q6_K_half(ql, qh, q);
            for (int k = 0; k < 4; ++k) {
                const __m256i scale = q6_K_scale_pair(sc, k);
                for (int t = 0; t < FORGE_TILE_TOKENS; ++t) {
                    const __m256i y = _mm256_loadu_si256((const __m256i *)(a[t][b].qs + 128 * half + 32 * k));
                    sums[t] = _mm256_add_epi32(sums[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], y), scale));
                }
            }
        }
        const __m128 r = _mm_mul_ps(_mm_cvtepi32_ps(token_totals(sums)), _mm_set1_ps(half_to_float(w[b].d)));
        wide_sum = _mm_fmadd_ps(r, _mm_setr_ps(a[0][b].d, a[1][b].d, a[2][b].d, a[3][b].d), wide_sum);
    }
    float results[FORGE_TILE_TOKENS];
    _mm_storeu_ps(results, wide_sum);
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = results[t];
}

// MARK: - Float products in llama.cpp's AVX2 orders

// Batches follow tinyBLAS (llamafile sgemm), which llama.cpp's AVX2 build takes for F32/F16
// products of two or more tokens: one 8-lane accumulator per (row, token), 8 values a step, then
// its hsum (lanes i + i+4, then (0 + 2) + (1 + 3)), which is sum_floats. A last partial step
// reads zeros past the row's end (tinyBLAS declines such rows; real models have none).
AVX2 static inline __m256 float_vector(int is_f16, const uint8_t *row, int64_t index) {
    return is_f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + index)))
                  : _mm256_loadu_ps((const float *)row + index);
}

AVX2 static inline __m256 float_tail(int is_f16, const uint8_t *row, int64_t index, int64_t remaining) {
    uint8_t padded[8 * sizeof(float)] = {0};
    const size_t value_bytes = is_f16 ? sizeof(uint16_t) : sizeof(float);
    memcpy(padded, row + (size_t)index * value_bytes, (size_t)remaining * value_bytes);
    return float_vector(is_f16, padded, 0);
}

AVX2 static inline float float_dot(int is_f16, int64_t count, const uint8_t *weights, const uint8_t *activations) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) acc = _mm256_fmadd_ps(float_vector(is_f16, weights, i), float_vector(is_f16, activations, i), acc);
    if (i < count) acc = _mm256_fmadd_ps(float_tail(is_f16, weights, i, count - i), float_tail(is_f16, activations, i, count - i), acc);
    return sum_floats(acc);
}

AVX2 static float dot_f32(int64_t count, const void *weights, const void *activations) {
    return float_dot(0, count, weights, activations);
}

AVX2 static float dot_f16(int64_t count, const void *weights, const void *activations) {
    return float_dot(1, count, weights, activations);
}

// One-token products follow ggml_vec_dot_f32/f16, which llama.cpp takes when a batch is one
// token: four 8-lane chains over 32-value steps, combined (0 + 2) + (1 + 3), reduced by
// GGML_F32x8_REDUCE (lanes i + i+4, then two horizontal adds: (0 + 1) + (2 + 3)), then the
// count % 32 values left one rounded product at a time, added in f32 for F32 and in double (a
// ggml_float) for F16. The products are separate statements so that no compiler fuses them.
AVX2 static inline float float_single(int is_f16, int64_t count, const uint8_t *weights, const uint8_t *activations) {
    __m256 chains[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const int64_t full = count - count % 32;
    for (int64_t i = 0; i < full; i += 32) {
        for (int c = 0; c < 4; ++c) {
            chains[c] = _mm256_fmadd_ps(float_vector(is_f16, weights, i + 8 * c), float_vector(is_f16, activations, i + 8 * c), chains[c]);
        }
    }
    const __m256 combined = _mm256_add_ps(_mm256_add_ps(chains[0], chains[2]), _mm256_add_ps(chains[1], chains[3]));
    const __m128 halves = _mm_add_ps(_mm256_castps256_ps128(combined), _mm256_extractf128_ps(combined, 1));
    const __m128 pairs = _mm_hadd_ps(halves, halves);
    const float reduced = _mm_cvtss_f32(_mm_hadd_ps(pairs, pairs));
    float sum = reduced;
    double wide_sum = reduced;
    for (int64_t i = full; i < count; ++i) {
        const float product = is_f16 ? f16_to_f32(((const uint16_t *)weights)[i]) * f16_to_f32(((const uint16_t *)activations)[i])
                                     : ((const float *)weights)[i] * ((const float *)activations)[i];
        if (is_f16) {
            wide_sum += product;
        } else {
            sum += product;
        }
    }
    return is_f16 ? (float)wide_sum : sum;
}

AVX2 static float single_f32(int64_t count, const void *weights, const void *activations) {
    return float_single(0, count, weights, activations);
}

AVX2 static float single_f16(int64_t count, const void *weights, const void *activations) {
    return float_single(1, count, weights, activations);
}

// Float panels: the panel's rows two at a time × up to 6 tokens a block, 12 accumulators beside
// the 2 weight vectors and one activation vector in the 16 registers (4 rows × 3 tokens needs 17,
// and clang spilled two accumulators to the stack on every step). Each (row, token) keeps its
// own chain, so the results are the dot product's bits. F16 panels read the f16 activation rows
// and widen them as the dot product does: half the bytes of f32 rows rounded once per product.
// Since each activation vector serves two rows only, a panel takes one block of tokens
// (`float_panel_tokens` below), whose activations stay in L1 while the cached rows pass over
// them; 24 tokens streamed them from L2 for every panel.
#define FLOAT_BLOCK_ROWS 2
#define FLOAT_BLOCK_TOKENS 6

AVX2 static inline __attribute__((always_inline)) void float_block_step(int is_f16, int tokens, const uint8_t *first, size_t row_bytes,
                                                                        const uint8_t *activations, size_t stride, int64_t index,
                                                                        int64_t remaining, __m256 acc[FLOAT_BLOCK_TOKENS][FLOAT_BLOCK_ROWS]) {
    __m256 x[FLOAT_BLOCK_ROWS];
    for (int r = 0; r < FLOAT_BLOCK_ROWS; ++r) {
        const uint8_t *row = first + (size_t)r * row_bytes;
        x[r] = remaining >= 8 ? float_vector(is_f16, row, index) : float_tail(is_f16, row, index, remaining);
    }
    for (int t = 0; t < tokens; ++t) {
        const uint8_t *activation = activations + (size_t)t * stride;
        const __m256 a = remaining >= 8 ? float_vector(is_f16, activation, index) : float_tail(is_f16, activation, index, remaining);
        for (int r = 0; r < FLOAT_BLOCK_ROWS; ++r) acc[t][r] = _mm256_fmadd_ps(x[r], a, acc[t][r]);
    }
}

AVX2 static inline __attribute__((always_inline)) void float_block(int is_f16, int tokens, int64_t count, const uint8_t *first,
                                                                   size_t row_bytes, const uint8_t *activations, size_t stride,
                                                                   float *out, size_t out_stride) {
    __m256 acc[FLOAT_BLOCK_TOKENS][FLOAT_BLOCK_ROWS];
    for (int t = 0; t < tokens; ++t)
        for (int r = 0; r < FLOAT_BLOCK_ROWS; ++r) acc[t][r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) float_block_step(is_f16, tokens, first, row_bytes, activations, stride, i, 8, acc);
    if (i < count) float_block_step(is_f16, tokens, first, row_bytes, activations, stride, i, count - i, acc);
    for (int t = 0; t < tokens; ++t)
        for (int r = 0; r < FLOAT_BLOCK_ROWS; ++r) out[(size_t)t * out_stride + r] = sum_floats(acc[t][r]);
}

#define FLOAT_BLOCK_CASE(is_f16, n)                                                                                    \
    case n: float_block(is_f16, n, count, rows, row_bytes, block, stride, block_out, out_stride); break
#define FLOAT_PANEL(name, is_f16)                                                                                      \
    AVX2 static void panel_##name(int64_t count, const void *weights, size_t row_bytes, const void *activations,       \
                                  size_t stride, const float *group_scales, int tokens, float *out, size_t out_stride) { \
        (void)group_scales;                                                                                            \
        for (int t = 0; t < tokens; t += FLOAT_BLOCK_TOKENS) {                                                         \
            const uint8_t *block = (const uint8_t *)activations + (size_t)t * stride;                                  \
            for (int r = 0; r < FORGE_PANEL_ROWS; r += FLOAT_BLOCK_ROWS) {                                             \
                const uint8_t *rows = (const uint8_t *)weights + (size_t)r * row_bytes;                                \
                float *block_out = out + (size_t)t * out_stride + r;                                                   \
                switch (tokens - t < FLOAT_BLOCK_TOKENS ? tokens - t : FLOAT_BLOCK_TOKENS) {                           \
                    FLOAT_BLOCK_CASE(is_f16, 1);                                                                       \
                    FLOAT_BLOCK_CASE(is_f16, 2);                                                                       \
                    FLOAT_BLOCK_CASE(is_f16, 3);                                                                       \
                    FLOAT_BLOCK_CASE(is_f16, 4);                                                                       \
                    FLOAT_BLOCK_CASE(is_f16, 5);                                                                       \
                    FLOAT_BLOCK_CASE(is_f16, 6);                                                                       \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
    }
FLOAT_PANEL(f16, 1)
FLOAT_PANEL(f32, 0)

AVX2 static float dot_bf16(int64_t count, const void *weights, const void *activations) {
    const uint16_t *w = weights, *a = activations;
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        for (int k = 0; k < 2; ++k) {
            const __m256i xw = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i + 8 * k)));
            const __m256i yw = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(a + i + 8 * k)));
            acc[k] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(xw, 16)), _mm256_castsi256_ps(_mm256_slli_epi32(yw, 16)), acc[k]);
        }
    }
    float sum = sum_floats(_mm256_add_ps(acc[0], acc[1]));
    for (; i < count; ++i) sum += bf16_to_f32(w[i]) * bf16_to_f32(a[i]);
    return sum;
}

// MARK: - Prefill panels of the 32-value formats

// FORGE_PANEL_ROWS rows against 4 or 8 tokens, each weight block decoded once for four tokens and
// each activation block loaded once for two rows. Every (row, token) keeps the dot product's one
// accumulator, fma(d_x·d_y, Σ, acc) block after block, ending in sum_floats (plus, for Q4_1/Q5_1,
// its own fma chain of m·s), so the results are bit-identical to it. The 4- and 5-bit values are
// taken unsigned (q, q + 16·fifth bit), with the signed formats' k·Σy subtracted per 32-bit lane
// (exact integers: vpmaddubsw cannot saturate on values below 32); Q8_0 keeps the sign trick.
// Two rows × four tokens fill eight of the sixteen registers with accumulators.
enum panel_format { PANEL_Q4_0, PANEL_Q4_1, PANEL_Q5_0, PANEL_Q5_1, PANEL_Q8_0 };
enum { PANEL_ROW_STEP = 2, PANEL_TOKEN_STEP = 4 };

AVX2 static inline size_t panel_block_bytes(enum panel_format format) {
    return format == PANEL_Q4_0 ? sizeof(block_q4_0)
           : format == PANEL_Q5_0 ? sizeof(block_q5_0)
           : format == PANEL_Q8_0 ? sizeof(block_q8_0)
           : format == PANEL_Q4_1 ? sizeof(block_q4_1) : sizeof(block_q5_1);
}

// One block's values (unsigned, or Q8_0's signed bytes), its scale d and, for Q4_1/Q5_1, its m.
AVX2 static inline __attribute__((always_inline)) __m256i panel_decode(enum panel_format format, const uint8_t *block, float *d,
                                                                       float *m) {
    switch (format) {
    case PANEL_Q4_0: {
        const block_q4_0 *x = (const void *)block;
        *d = half_to_float(x->d);
        return unpack_nibbles(x->qs);
    }
    case PANEL_Q5_0: {
        const block_q5_0 *x = (const void *)block;
        *d = half_to_float(x->d);
        return _mm256_or_si256(unpack_nibbles(x->qs), _mm256_and_si256(expand_bits(q5_high_bits(x->qh)), _mm256_set1_epi8(0x10)));
    }
    case PANEL_Q4_1: {
        const block_q4_1 *x = (const void *)block;
        *d = half_to_float(x->d);
        *m = half_to_float(x->m);
        return unpack_nibbles(x->qs);
    }
    case PANEL_Q5_1: {
        const block_q5_1 *x = (const void *)block;
        *d = half_to_float(x->d);
        *m = half_to_float(x->m);
        return _mm256_or_si256(unpack_nibbles(x->qs), _mm256_and_si256(expand_bits(q5_high_bits(x->qh)), _mm256_set1_epi8(0x10)));
    }
    default: {
        const block_q8_0 *x = (const void *)block;
        *d = half_to_float(x->d);
        return _mm256_loadu_si256((const __m256i *)x->qs);
    }
    }
}

AVX2 static inline __attribute__((always_inline)) void panel_rows_tokens(enum panel_format format, int64_t count, const uint8_t *rows,
                                                                         size_t row_bytes, const uint8_t *activations, size_t stride,
                                                                         const float *group_scales, float *out, size_t out_stride) {
    const int64_t blocks = count / QK;
    const int has_offsets = format == PANEL_Q4_1 || format == PANEL_Q5_1;
    const size_t block_bytes = panel_block_bytes(format);
    const size_t activation_block_bytes = has_offsets ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t activation_qs = has_offsets ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const __m256i offset = _mm256_set1_epi8((char)(format == PANEL_Q4_0 ? 8 : 16));
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[PANEL_ROW_STEP][PANEL_TOKEN_STEP];
    __m128 offsets[PANEL_ROW_STEP]; // Q4_1/Q5_1: lane t holds token t's chain of m·s
    for (int r = 0; r < PANEL_ROW_STEP; ++r) {
        offsets[r] = _mm_setzero_ps();
        for (int t = 0; t < PANEL_TOKEN_STEP; ++t) acc[r][t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < blocks; ++b) {
        __m256i x[PANEL_ROW_STEP];
        float d[PANEL_ROW_STEP], m[PANEL_ROW_STEP];
        for (int r = 0; r < PANEL_ROW_STEP; ++r) x[r] = panel_decode(format, rows + (size_t)r * row_bytes + (size_t)b * block_bytes, &d[r], &m[r]);
        __m256i magnitudes[PANEL_ROW_STEP];
        if (format == PANEL_Q8_0)
            for (int r = 0; r < PANEL_ROW_STEP; ++r) magnitudes[r] = _mm256_sign_epi8(x[r], x[r]);
        __m256 row_scales[PANEL_ROW_STEP];
        for (int r = 0; r < PANEL_ROW_STEP; ++r) row_scales[r] = _mm256_set1_ps(d[r]);
        // Hidden from the compiler, which would otherwise multiply in scalar and broadcast each
        // product: a shuffle per (row, token) beside the multiply (BENCHMARKS.md, run AH).
        for (int r = 0; r < PANEL_ROW_STEP; ++r) __asm__("" : "+x"(row_scales[r]));
        for (int t = 0; t < PANEL_TOKEN_STEP; ++t) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(activations + (size_t)t * stride + (size_t)b * activation_block_bytes + activation_qs));
            const __m256 token_scale = _mm256_broadcast_ss(group_scales + 4 * b + t);
            const __m256i base = format == PANEL_Q4_0 || format == PANEL_Q5_0 ? _mm256_madd_epi16(_mm256_maddubs_epi16(offset, y), ones)
                                                                                : _mm256_setzero_si256();
            for (int r = 0; r < PANEL_ROW_STEP; ++r) {
                const __m256i sums = format == PANEL_Q8_0
                                         ? _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes[r], _mm256_sign_epi8(y, x[r])), ones)
                                         : _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(x[r], y), ones), base);
                acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(row_scales[r], token_scale), _mm256_cvtepi32_ps(sums), acc[r][t]);
            }
        }
        if (has_offsets) {
            const __m128 token_sums = _mm_loadu_ps(group_scales + 4 * blocks + 4 * b);
            for (int r = 0; r < PANEL_ROW_STEP; ++r) offsets[r] = _mm_fmadd_ps(_mm_set1_ps(m[r]), token_sums, offsets[r]);
        }
    }
    for (int r = 0; r < PANEL_ROW_STEP; ++r) {
        float row_offsets[PANEL_TOKEN_STEP];
        _mm_storeu_ps(row_offsets, offsets[r]);
        for (int t = 0; t < PANEL_TOKEN_STEP; ++t) {
            out[(size_t)t * out_stride + r] = has_offsets ? sum_floats(acc[r][t]) + row_offsets[t] : sum_floats(acc[r][t]);
        }
    }
}

#define PANEL(name, format)                                                                                             \
    AVX2 static void panel_##name(int64_t count, const void *weights, size_t row_bytes, const void *activations, size_t stride, \
                                  const float *group_scales, int tokens, float *out, size_t out_stride) {               \
        const int64_t group_stride = 2 * (count / QK) * FORGE_TILE_TOKENS;                                              \
        for (int t = 0; t < tokens; t += PANEL_TOKEN_STEP) {                                                            \
            for (int r = 0; r < FORGE_PANEL_ROWS; r += PANEL_ROW_STEP) {                                                \
                panel_rows_tokens(format, count, (const uint8_t *)weights + (size_t)r * row_bytes, row_bytes,           \
                                  (const uint8_t *)activations + (size_t)t * stride, stride,                           \
                                  group_scales + (t / FORGE_TILE_TOKENS) * group_stride, out + (size_t)t * out_stride + r, out_stride); \
            }                                                                                                           \
        }                                                                                                               \
    }
PANEL(q4_0, PANEL_Q4_0)
PANEL(q4_1, PANEL_Q4_1)
PANEL(q5_0, PANEL_Q5_0)
PANEL(q5_1, PANEL_Q5_1)
PANEL(q8_0, PANEL_Q8_0)

// MARK: - Activation quantizers (the AVX-512 variant falls back to these)

// 32 floats → Q8_0 quants with the given multiplier, rounded half to even; returns their sum.
AVX2 static inline int quantize_32(const float *x, float multiplier, int8_t *out) {
    const __m256 m = _mm256_set1_ps(multiplier);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
        q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), m), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    const int sum = sum_ints(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    const __m256i words = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    // The packs interleave 128-bit lanes; this permutation restores element order.
    _mm256_storeu_si256((__m256i *)out, _mm256_permutevar8x32_epi32(words, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    return sum;
}

AVX2 static inline float absolute_max_32(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    for (int k = 1; k < 4; ++k) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

AVX2 static void quantize_q8_0(const float *x, void *destination, int64_t count) {
    block_q8_0 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = absolute_max_32(x);
        blocks[b].d = f32_to_f16(amax / 127.f);
        quantize_32(x, amax != 0 ? 127.f / amax : 0.0f, blocks[b].qs);
    }
}

AVX2 static void quantize_q8_1(const float *x, void *destination, int64_t count) {
    block_q8_1 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = absolute_max_32(x);
        const float d = amax / 127.f;
        const int sum = quantize_32(x, amax != 0 ? 127.f / amax : 0.0f, blocks[b].qs);
        blocks[b].d = f32_to_f16(d);
        blocks[b].s = f32_to_f16(d * (float)sum);
    }
}

AVX2 static void quantize_q8_K(const float *x, void *destination, int64_t count) {
    block_q8_K *blocks = destination;
    for (int64_t b = 0; b < count / QK_K; ++b, x += QK_K) {
        float amax = 0;
        for (int k = 0; k < QK_K / 32; ++k) {
            const float m = absolute_max_32(x + 32 * k);
            amax = m > amax ? m : amax;
        }
        if (amax == 0) {
            memset(&blocks[b], 0, sizeof(block_q8_K));
            continue;
        }
        int first = 0;
        while (__builtin_fabsf(x[first]) != amax) ++first; // the first value of largest magnitude
        const float inverse_scale = -127.f / x[first];
        // -127/max · x never exceeds +127 after rounding except by the sign flip of max itself,
        // which lands exactly on ±127, so the reference's MIN(127, ·) is already satisfied.
        for (int k = 0; k < QK_K / 32; ++k) quantize_32(x + 32 * k, inverse_scale, blocks[b].qs + 32 * k);
        const __m256i ones = _mm256_set1_epi16(1);
        for (int k = 0; k < QK_K / 32; ++k) {
            const __m256i q = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blocks[b].qs + 32 * k)));
            const __m256i q2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blocks[b].qs + 32 * k + 16)));
            blocks[b].bsums[2 * k] = (int16_t)sum_ints(_mm256_madd_epi16(q, ones));
            blocks[b].bsums[2 * k + 1] = (int16_t)sum_ints(_mm256_madd_epi16(q2, ones));
        }
        blocks[b].d = 1 / inverse_scale;
    }
}

AVX2 static void convert_f16(const float *x, void *destination, int64_t count) {
    uint16_t *halves = destination;
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm_storeu_si128((__m128i *)(halves + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < count; ++i) halves[i] = f32_to_f16(x[i]);
}

const forge_kernel_table forge_avx2_kernels = {
    .dot = {
        [FORGE_TYPE_F32] = dot_f32,
        [FORGE_TYPE_F16] = dot_f16,
        [FORGE_TYPE_BF16] = dot_bf16,
        [FORGE_TYPE_Q4_0] = dot_q4_0,
        [FORGE_TYPE_Q4_1] = dot_q4_1,
        [FORGE_TYPE_Q5_0] = dot_q5_0,
        [FORGE_TYPE_Q5_1] = dot_q5_1,
        [FORGE_TYPE_Q8_0] = dot_q8_0,
        [FORGE_TYPE_IQ4_NL] = dot_iq4_nl,
        [FORGE_TYPE_Q4_K] = dot_q4_K,
        [FORGE_TYPE_Q5_K] = dot_q5_K,
        [FORGE_TYPE_Q6_K] = dot_q6_K,
    },
    .single_dot = {
        [FORGE_TYPE_F32] = single_f32,
        [FORGE_TYPE_F16] = single_f16,
    },
    .tile = {
        [FORGE_TYPE_Q4_K] = tile_q4_K,
        [FORGE_TYPE_Q5_K] = tile_q5_K,
    },
    .panel = {
        [FORGE_TYPE_F32] = panel_f32,
        [FORGE_TYPE_F16] = panel_f16,
        [FORGE_TYPE_Q4_0] = panel_q4_0,
        [FORGE_TYPE_Q4_1] = panel_q4_1,
        [FORGE_TYPE_Q5_0] = panel_q5_0,
        [FORGE_TYPE_Q5_1] = panel_q5_1,
        [FORGE_TYPE_Q8_0] = panel_q8_0,
    },
    .wide_tile = {
        [FORGE_TYPE_Q6_K] = wide_tile_q6_K,
    },
    .float_panel_tokens = FLOAT_BLOCK_TOKENS,
    .quantize = {
        [FORGE_TYPE_F16] = convert_f16,
        [FORGE_TYPE_Q8_0] = quantize_q8_0,
        [FORGE_TYPE_Q8_1] = quantize_q8_1,
        [FORGE_TYPE_Q8_K] = quantize_q8_K,
    },
};
#endif
