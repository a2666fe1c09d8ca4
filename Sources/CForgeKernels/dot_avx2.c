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

// f16(x) · f16(y) with one vector conversion (scalar f16 decoding costs more than the block).
AVX2 static inline float half_product(uint16_t x, uint16_t y) {
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)x | (uint32_t)y << 16)));
    return _mm_cvtss_f32(_mm_mul_ss(both, _mm_movehdup_ps(both)));
}

// llama.cpp's `summs += m·s` for Q4_1/Q5_1, which its compilers contract into one fused multiply-add.
AVX2 static inline float offset_step(float sum, uint16_t m, uint16_t s) {
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)m | (uint32_t)s << 16)));
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

// Q4_K (no fifth bits) and Q5_K in the float order of llama.cpp's repacked Q4_K kernels, as the
// AVX-512 variant (see k4_k5_tokens there): per-64-value steps for a full tile of tokens
// (`gemm_order`), per-super-block steps otherwise.
AVX2 static inline float dot_k4_k5(int64_t count, size_t block_bytes, int is_q5, int gemm_order, const void *weights,
                                   const void *activations) {
    const uint8_t *bytes = weights;
    const block_q8_K *a = activations;
    float sum = 0, min_total = 0;
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < count / QK_K; ++b, bytes += block_bytes) {
        uint32_t d_pair;
        memcpy(&d_pair, bytes, 4);
        const __m128 weight_d_dmin = _mm_cvtph_ps(_mm_cvtsi32_si128((int)d_pair));
        const float d = _mm_cvtss_f32(weight_d_dmin) * a[b].d;
        const float dmin = _mm_cvtss_f32(_mm_movehdup_ps(weight_d_dmin)) * a[b].d;
        uint64_t scale_bytes, min_bytes;
        k4_scales_mins(bytes + 4, &scale_bytes, &min_bytes);
        const uint8_t *scales = (const uint8_t *)&scale_bytes;
        const uint8_t *q4 = bytes + 16 + (is_q5 ? 32 : 0);
        const __m256i high_bits = is_q5 ? _mm256_loadu_si256((const __m256i *)(bytes + 16)) : _mm256_setzero_si256();
        int group_totals[4], group_mins[4];
        for (int group = 0; group < 4; ++group) {
            const __m256i packed = _mm256_loadu_si256((const __m256i *)(q4 + 32 * group));
            __m256i low = _mm256_and_si256(packed, low_mask);
            __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
            if (is_q5) {
                // bit 2·group of qh[l] is the fifth bit of the low nibble, bit 2·group+1 of the high one.
                const __m256i shifted = _mm256_srl_epi16(high_bits, _mm_cvtsi32_si128(2 * group));
                low = _mm256_or_si256(low, _mm256_and_si256(_mm256_slli_epi16(shifted, 4), _mm256_set1_epi8(0x10)));
                high = _mm256_or_si256(high, _mm256_and_si256(_mm256_slli_epi16(shifted, 3), _mm256_set1_epi8(0x10)));
            }
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

// Tiles only to choose the float order of a full tile; the weights are decoded per token.
AVX2 static void tile_k4_k5(int64_t count, size_t block_bytes, int is_q5, const void *weights, const void *activations,
                            size_t stride, int tokens, float *out, size_t out_stride) {
    for (int t = 0; t < tokens; ++t) {
        out[(size_t)t * out_stride] = dot_k4_k5(count, block_bytes, is_q5, tokens == FORGE_TILE_TOKENS, weights,
                                                (const uint8_t *)activations + (size_t)t * stride);
    }
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

// `wide`: llama.cpp's tiled K-quant order for batches of 8 tokens or more (see q6_K_order in the
// AVX-512 variant).
AVX2 static inline float q6_K_order(int64_t count, const void *weights, const void *activations, int wide) {
    const block_q6_K *w = weights;
    const block_q8_K *a = activations;
    float wide_sum = 0;
    __m256 acc = _mm256_setzero_ps();
    const __m256i low_mask = _mm256_set1_epi8(0x0f), two_bits = _mm256_set1_epi8(0x03);
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
            const __m256i low0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i low1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i high = _mm256_loadu_si256((const __m256i *)qh);
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(low0, low_mask), _mm256_slli_epi16(_mm256_and_si256(high, two_bits), 4)),
                _mm256_or_si256(_mm256_and_si256(low1, low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 2), two_bits), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low0, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 4), two_bits), 4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low1, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 6), two_bits), 4)),
            };
            for (int k = 0; k < 4; ++k) {
                const __m256i yk = _mm256_loadu_si256((const __m256i *)(y + 32 * k));
                const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                sums = _mm256_add_epi32(sums, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yk), scale));
            }
        }
        const float d = a[b].d * _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(w[b].d)));
        if (wide) {
            wide_sum = WIDE_STEP(wide_sum, (float)sum_ints(_mm256_sub_epi32(sums, offsets)) * _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(w[b].d))), a[b].d);
        } else {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(sums, offsets)), acc);
        }
    }
    return wide ? wide_sum : sum_floats(acc);
}

AVX2 static float dot_q6_K(int64_t count, const void *weights, const void *activations) {
    return q6_K_order(count, weights, activations, 0);
}

AVX2 static void wide_tile_q6_K(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales,
                                int tokens, float *out, size_t out_stride) {
    (void)scales;
    for (int t = 0; t < tokens; ++t) {
        out[(size_t)t * out_stride] = q6_K_order(count, weights, (const uint8_t *)activations + (size_t)t * stride, 1);
    }
}

AVX2 static float dot_f32(int64_t count, const void *weights, const void *activations) {
    const float *w = weights, *a = activations;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8 * k), _mm256_loadu_ps(a + i + 8 * k), acc[k]);
    }
    for (; i + 8 <= count; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), acc[0]);
    float sum = sum_floats(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < count; ++i) sum += w[i] * a[i];
    return sum;
}

AVX2 static float dot_f16(int64_t count, const void *weights, const void *activations) {
    const uint16_t *w = weights, *a = activations;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        for (int k = 0; k < 4; ++k) {
            const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8 * k)));
            const __m256 y = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i + 8 * k)));
            acc[k] = _mm256_fmadd_ps(x, y, acc[k]);
        }
    }
    for (; i + 8 <= count; i += 8) {
        const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        acc[0] = _mm256_fmadd_ps(x, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), acc[0]);
    }
    float sum = sum_floats(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < count; ++i) sum += f16_to_f32(w[i]) * f16_to_f32(a[i]);
    return sum;
}

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
AVX2 static inline __m256i panel_decode(enum panel_format format, const uint8_t *block, float *d, float *m) {
    switch (format) {
    case PANEL_Q4_0: {
        const block_q4_0 *x = (const void *)block;
        *d = f16_to_f32(x->d);
        return unpack_nibbles(x->qs);
    }
    case PANEL_Q5_0: {
        const block_q5_0 *x = (const void *)block;
        *d = f16_to_f32(x->d);
        return _mm256_or_si256(unpack_nibbles(x->qs), _mm256_and_si256(expand_bits(q5_high_bits(x->qh)), _mm256_set1_epi8(0x10)));
    }
    case PANEL_Q4_1: {
        const block_q4_1 *x = (const void *)block;
        *d = f16_to_f32(x->d);
        *m = f16_to_f32(x->m);
        return unpack_nibbles(x->qs);
    }
    case PANEL_Q5_1: {
        const block_q5_1 *x = (const void *)block;
        *d = f16_to_f32(x->d);
        *m = f16_to_f32(x->m);
        return _mm256_or_si256(unpack_nibbles(x->qs), _mm256_and_si256(expand_bits(q5_high_bits(x->qh)), _mm256_set1_epi8(0x10)));
    }
    default: {
        const block_q8_0 *x = (const void *)block;
        *d = f16_to_f32(x->d);
        return _mm256_loadu_si256((const __m256i *)x->qs);
    }
    }
}

AVX2 static inline void panel_rows_tokens(enum panel_format format, int64_t count, const uint8_t *rows, size_t row_bytes,
                                          const uint8_t *activations, size_t stride, const float *group_scales, float *out,
                                          size_t out_stride) {
    const int64_t blocks = count / QK;
    const int has_offsets = format == PANEL_Q4_1 || format == PANEL_Q5_1;
    const size_t block_bytes = panel_block_bytes(format);
    const size_t activation_block_bytes = has_offsets ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t activation_qs = has_offsets ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const __m256i offset = _mm256_set1_epi8((char)(format == PANEL_Q4_0 ? 8 : 16));
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[PANEL_ROW_STEP][PANEL_TOKEN_STEP];
    float offsets[PANEL_ROW_STEP][PANEL_TOKEN_STEP];
    for (int r = 0; r < PANEL_ROW_STEP; ++r)
        for (int t = 0; t < PANEL_TOKEN_STEP; ++t) acc[r][t] = _mm256_setzero_ps(), offsets[r][t] = 0;
    for (int64_t b = 0; b < blocks; ++b) {
        __m256i x[PANEL_ROW_STEP];
        float d[PANEL_ROW_STEP], m[PANEL_ROW_STEP];
        for (int r = 0; r < PANEL_ROW_STEP; ++r) x[r] = panel_decode(format, rows + (size_t)r * row_bytes + (size_t)b * block_bytes, &d[r], &m[r]);
        __m256i magnitudes[PANEL_ROW_STEP];
        if (format == PANEL_Q8_0)
            for (int r = 0; r < PANEL_ROW_STEP; ++r) magnitudes[r] = _mm256_sign_epi8(x[r], x[r]);
        for (int t = 0; t < PANEL_TOKEN_STEP; ++t) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)(activations + (size_t)t * stride + (size_t)b * activation_block_bytes + activation_qs));
            const float token_scale = group_scales[4 * b + t];
            const __m256i base = format == PANEL_Q4_0 || format == PANEL_Q5_0 ? _mm256_madd_epi16(_mm256_maddubs_epi16(offset, y), ones)
                                                                                : _mm256_setzero_si256();
            for (int r = 0; r < PANEL_ROW_STEP; ++r) {
                const __m256i sums = format == PANEL_Q8_0
                                         ? _mm256_madd_epi16(_mm256_maddubs_epi16(magnitudes[r], _mm256_sign_epi8(y, x[r])), ones)
                                         : _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(x[r], y), ones), base);
                acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(d[r] * token_scale), _mm256_cvtepi32_ps(sums), acc[r][t]);
                if (has_offsets) offsets[r][t] = __builtin_fmaf(m[r], group_scales[4 * blocks + 4 * b + t], offsets[r][t]);
            }
        }
    }
    for (int t = 0; t < PANEL_TOKEN_STEP; ++t)
        for (int r = 0; r < PANEL_ROW_STEP; ++r) {
            out[(size_t)t * out_stride + r] = has_offsets ? sum_floats(acc[r][t]) + offsets[r][t] : sum_floats(acc[r][t]);
        }
}

// Each format's tile (its dot product per token) is registered with the panel: matmul.c hands
// panels their interleaved activation scales only for formats that have a tile.
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
    }                                                                                                                   \
    AVX2 static void tile_##name(int64_t count, const void *weights, const void *activations, size_t stride,           \
                                 const float *scales, int tokens, float *out, size_t out_stride) {                      \
        (void)scales;                                                                                                   \
        for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = dot_##name(count, weights, (const uint8_t *)activations + (size_t)t * stride); \
    }
PANEL(q4_0, PANEL_Q4_0)
PANEL(q4_1, PANEL_Q4_1)
PANEL(q5_0, PANEL_Q5_0)
PANEL(q5_1, PANEL_Q5_1)
PANEL(q8_0, PANEL_Q8_0)

// MARK: - Activation quantizers (shared with the AVX-512 table, which implies AVX2)

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

AVX2 void forge_avx2_quantize_q8_0(const float *x, void *destination, int64_t count) {
    block_q8_0 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = absolute_max_32(x);
        blocks[b].d = f32_to_f16(amax / 127.f);
        quantize_32(x, amax != 0 ? 127.f / amax : 0.0f, blocks[b].qs);
    }
}

AVX2 void forge_avx2_quantize_q8_1(const float *x, void *destination, int64_t count) {
    block_q8_1 *blocks = destination;
    for (int64_t b = 0; b < count / QK; ++b, x += QK) {
        const float amax = absolute_max_32(x);
        const float d = amax / 127.f;
        const int sum = quantize_32(x, amax != 0 ? 127.f / amax : 0.0f, blocks[b].qs);
        blocks[b].d = f32_to_f16(d);
        blocks[b].s = f32_to_f16(d * (float)sum);
    }
}

AVX2 void forge_avx2_quantize_q8_K(const float *x, void *destination, int64_t count) {
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

AVX2 void forge_avx2_convert_f16(const float *x, void *destination, int64_t count) {
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
    .tile = {
        [FORGE_TYPE_Q4_0] = tile_q4_0,
        [FORGE_TYPE_Q4_1] = tile_q4_1,
        [FORGE_TYPE_Q5_0] = tile_q5_0,
        [FORGE_TYPE_Q5_1] = tile_q5_1,
        [FORGE_TYPE_Q8_0] = tile_q8_0,
        [FORGE_TYPE_Q4_K] = tile_q4_K,
        [FORGE_TYPE_Q5_K] = tile_q5_K,
    },
    .panel = {
        [FORGE_TYPE_Q4_0] = panel_q4_0,
        [FORGE_TYPE_Q4_1] = panel_q4_1,
        [FORGE_TYPE_Q5_0] = panel_q5_0,
        [FORGE_TYPE_Q5_1] = panel_q5_1,
        [FORGE_TYPE_Q8_0] = panel_q8_0,
    },
    .wide_tile = {
        [FORGE_TYPE_Q6_K] = wide_tile_q6_K,
    },
    .quantize = {
        [FORGE_TYPE_F16] = forge_avx2_convert_f16,
        [FORGE_TYPE_Q8_0] = forge_avx2_quantize_q8_0,
        [FORGE_TYPE_Q8_1] = forge_avx2_quantize_q8_1,
        [FORGE_TYPE_Q8_K] = forge_avx2_quantize_q8_K,
    },
};
#endif
