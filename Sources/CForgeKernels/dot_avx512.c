// AVX-512 (F, BW, VL, VNNI) variants, compiled per function so the target stays baseline x86-64.
// Two 32-value blocks fill a 512-bit register; vpdpbusd multiplies unsigned by signed bytes and
// sums four products straight into 32 bits (no 16-bit saturation), vpdpwssd applies 16-bit
// sub-block scales. A signed weight q − k is handled as Σ q·y − k·Σ y, with k·Σ y formed by a
// second vpdpbusd of the constant k against −y (activation bytes stay within ±127). This file
// holds the dot products, tiles and the table; dot_avx512_panels.c the panels of several rows.
#include "dot_avx512.h"

#if defined(__x86_64__)

// f16(x0)·f16(y0) in lanes 0..7 and f16(x1)·f16(y1) in lanes 8..15, from one vector conversion.
AVX512 static inline __m512 scale_pair(uint16_t x0, uint16_t y0, uint16_t x1, uint16_t y1) {
    const uint64_t halves = (uint64_t)x0 | (uint64_t)y0 << 16 | (uint64_t)x1 << 32 | (uint64_t)y1 << 48;
    const __m128 values = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)halves));
    const __m128 products = _mm_mul_ps(values, _mm_movehdup_ps(values)); // lanes 0 and 2
    return _mm512_permutexvar_ps(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(products));
}

// Two f32 values broadcast to lanes 0..7 and 8..15.
AVX512 static inline __m512 float_pair(const float *pair) {
    const __m128 both = _mm_castpd_ps(_mm_load_sd((const double *)pair));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(both));
}

// llama.cpp's `summs += m·s`, which its compilers contract into one fused multiply-add.
AVX512 static inline float offset_step(float sum, float m, float s) { return __builtin_fmaf(m, s, sum); }

// Σ (u − offset)·y per group of four bytes, u unsigned.
AVX512 static inline __m512i dot_offset(__m512i u, __m512i y, __m512i offset) {
    const __m512i products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, y);
    return _mm512_dpbusd_epi32(products, offset, _mm512_sub_epi8(_mm512_setzero_si512(), y));
}

// acc += d_b · sums_b, then (when has_second) acc += d_{b+1} · sums_{b+1}; the pair's blocks sit in
// lanes 0..7 and 8..15 of `d` and `sums`.
AVX512 static inline __m256 accumulate_pair(__m256 acc, __m512 d, __m512i sums, int has_second) {
    const __m512 values = _mm512_cvtepi32_ps(sums);
    acc = _mm256_fmadd_ps(_mm512_castps512_ps256(d), _mm512_castps512_ps256(values), acc);
    return has_second ? _mm256_fmadd_ps(upper_floats(d), upper_floats(values), acc) : acc;
}

// Every kernel below is written once for up to TILE_TOKENS activation rows: the weight block is
// decoded once and used for each token (the prefill tiles), and the single-token dot product is
// the same code with one token, so both give bit-identical results per token (but for full
// Q4_K/Q5_K tiles, which follow llama.cpp's repacked GEMM order). Tiles of the
// 32-value formats also take the activation scales already as f32 (`scales`: per token, the
// block scales d, then for Q8_1 the block sums s), since converting them dominated the tile;
// the products they form are the same floats either way.
#define TILE_TOKENS FORGE_TILE_TOKENS
#define ACTIVATION(type, t) ((const type *)(activations + (size_t)(t) * stride))

// Dot product and tile entry points for a kernel `name##_tokens`.
#define DOT_AND_TILE(name)                                                                                   \
    AVX512 static float dot_##name(int64_t count, const void *weights, const void *activations) {         \
        float result;                                                                                        \
        name##_tokens(count, weights, activations, 0, NULL, 1, &result, 1);                                  \
        return result;                                                                                       \
    }                                                                                                        \
    AVX512 static void tile_##name(int64_t count, const void *weights, const void *activations, size_t stride, \
                                   const float *scales, int tokens, float *out, size_t out_stride) {        \
        switch (tokens) {                                                                                    \
        case 1: name##_tokens(count, weights, activations, stride, scales, 1, out, out_stride); break;      \
        case 2: name##_tokens(count, weights, activations, stride, scales, 2, out, out_stride); break;      \
        case 3: name##_tokens(count, weights, activations, stride, scales, 3, out, out_stride); break;      \
        default: name##_tokens(count, weights, activations, stride, scales, 4, out, out_stride); break;     \
        }                                                                                                    \
    }

// d_x·d_y of blocks b (lanes 0..7) and next (lanes 8..15) of token t: from the tile's f32 scales
// when given, else from the f16 scales of the blocks.
#define PAIR_SCALES(a, t, weight_scales)                                                                      \
    (scales ? _mm512_mul_ps(weight_scales, float_pair_at(scales + (size_t)(t) * 2 * blocks, b, next))         \
            : scale_pair(w[b].d, a[b].d, w[next].d, a[next].d))

AVX512 static inline __m512 float_pair_at(const float *values, int64_t first, int64_t second) {
    const __m128 both = _mm_unpacklo_ps(_mm_set_ss(values[first]), _mm_set_ss(values[second]));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(both));
}

// The 32-value formats walk the blocks in pairs (b, next); with an odd count the last pair is
// block b twice and only its first half is accumulated.
KERNEL void q8_0_tokens(int64_t count, const void *weights, const void *activation_bytes, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    const block_q8_0 *w = weights;
    const uint8_t *activations = activation_bytes;
    const int64_t blocks = count / QK;
    __m256 acc[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b += 2) {
        const int has_second = b + 1 < blocks;
        const int64_t next = has_second ? b + 1 : b;
        const __m512i x = load_pair(w[b].qs, w[next].qs);
        const __m512i magnitude = _mm512_abs_epi8(x);
        const __mmask64 negative = _mm512_movepi8_mask(x);
        const __m512 weight_scales = half_pair(w[b].d, w[next].d);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_0 *a = ACTIVATION(block_q8_0, t);
            const __m512i y = load_pair(a[b].qs, a[next].qs);
            // |x| as the unsigned operand, x's sign moved onto y.
            const __m512i signed_y = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
            const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), magnitude, signed_y);
            acc[t] = accumulate_pair(acc[t], PAIR_SCALES(a, t, weight_scales), sums, has_second);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sum_lanes(acc[t]);
}
DOT_AND_TILE(q8_0)

// Signed 4/5-bit formats: Σ (u − k)·y = Σ u·y − k·Σ y changes no integer lane sum.
KERNEL void q4_0_tokens(int64_t count, const void *weights, const void *activation_bytes, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    const block_q4_0 *w = weights;
    const uint8_t *activations = activation_bytes;
    const int64_t blocks = count / QK;
    const __m512i eight = _mm512_set1_epi8(8);
    __m256 acc[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b += 2) {
        const int has_second = b + 1 < blocks;
        const int64_t next = has_second ? b + 1 : b;
        const __m512i u = unpack_nibble_pair(w[b].qs, w[next].qs);
        const __m512 weight_scales = half_pair(w[b].d, w[next].d);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_0 *a = ACTIVATION(block_q8_0, t);
            const __m512i sums = dot_offset(u, load_pair(a[b].qs, a[next].qs), eight);
            acc[t] = accumulate_pair(acc[t], PAIR_SCALES(a, t, weight_scales), sums, has_second);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sum_lanes(acc[t]);
}
DOT_AND_TILE(q4_0)

KERNEL void q5_0_tokens(int64_t count, const void *weights, const void *activation_bytes, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    const block_q5_0 *w = weights;
    const uint8_t *activations = activation_bytes;
    const int64_t blocks = count / QK;
    const __m512i sixteen = _mm512_set1_epi8(16);
    __m256 acc[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b += 2) {
        const int has_second = b + 1 < blocks;
        const int64_t next = has_second ? b + 1 : b;
        const __m512i u = unpack_q5_pair(w[b].qh, w[b].qs, w[next].qh, w[next].qs);
        const __m512 weight_scales = half_pair(w[b].d, w[next].d);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_0 *a = ACTIVATION(block_q8_0, t);
            const __m512i sums = dot_offset(u, load_pair(a[b].qs, a[next].qs), sixteen);
            acc[t] = accumulate_pair(acc[t], PAIR_SCALES(a, t, weight_scales), sums, has_second);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sum_lanes(acc[t]);
}
DOT_AND_TILE(q5_0)

// Q4_1/Q5_1 also sum m_x·s_y per block in a scalar, block after block, added after the lanes.
#define OFFSET_TERMS(t)                                                                                   \
    do {                                                                                                  \
        if (scales) {                                                                                     \
            const float *block_sums = scales + (size_t)(t) * 2 * blocks + blocks;                         \
            offsets[t] = offset_step(offsets[t], weight_offsets[0], block_sums[b]);                       \
            if (has_second) offsets[t] = offset_step(offsets[t], weight_offsets[1], block_sums[next]);    \
        } else {                                                                                          \
            offsets[t] = offset_step(offsets[t], weight_offsets[0], f16_to_f32(a[b].s));                  \
            if (has_second) offsets[t] = offset_step(offsets[t], weight_offsets[1], f16_to_f32(a[next].s)); \
        }                                                                                                 \
    } while (0)

KERNEL void q4_1_tokens(int64_t count, const void *weights, const void *activation_bytes, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    const block_q4_1 *w = weights;
    const uint8_t *activations = activation_bytes;
    const int64_t blocks = count / QK;
    __m256 acc[TILE_TOKENS];
    float offsets[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm256_setzero_ps(), offsets[t] = 0;
    for (int64_t b = 0; b < blocks; b += 2) {
        const int has_second = b + 1 < blocks;
        const int64_t next = has_second ? b + 1 : b;
        const __m512i u = unpack_nibble_pair(w[b].qs, w[next].qs);
        float weight_pair[2], weight_offsets[2];
        halves_to_floats(w[b].d, w[next].d, weight_pair);
        halves_to_floats(w[b].m, w[next].m, weight_offsets);
        const __m512 weight_scales = float_pair(weight_pair);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_1 *a = ACTIVATION(block_q8_1, t);
            const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, load_pair(a[b].qs, a[next].qs));
            acc[t] = accumulate_pair(acc[t], PAIR_SCALES(a, t, weight_scales), sums, has_second);
            OFFSET_TERMS(t);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sum_lanes(acc[t]) + offsets[t];
}
DOT_AND_TILE(q4_1)

KERNEL void q5_1_tokens(int64_t count, const void *weights, const void *activation_bytes, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    const block_q5_1 *w = weights;
    const uint8_t *activations = activation_bytes;
    const int64_t blocks = count / QK;
    __m256 acc[TILE_TOKENS];
    float offsets[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm256_setzero_ps(), offsets[t] = 0;
    for (int64_t b = 0; b < blocks; b += 2) {
        const int has_second = b + 1 < blocks;
        const int64_t next = has_second ? b + 1 : b;
        const __m512i u = unpack_q5_pair(w[b].qh, w[b].qs, w[next].qh, w[next].qs);
        float weight_pair[2], weight_offsets[2];
        halves_to_floats(w[b].d, w[next].d, weight_pair);
        halves_to_floats(w[b].m, w[next].m, weight_offsets);
        const __m512 weight_scales = float_pair(weight_pair);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_1 *a = ACTIVATION(block_q8_1, t);
            const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, load_pair(a[b].qs, a[next].qs));
            acc[t] = accumulate_pair(acc[t], PAIR_SCALES(a, t, weight_scales), sums, has_second);
            OFFSET_TERMS(t);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sum_lanes(acc[t]) + offsets[t];
}
DOT_AND_TILE(q5_1)

// Per 64-value group g (sub-blocks 2g, 2g+1): min_2g·Σy_2g + min_2g+1·Σy_2g+1, in lane g.
AVX512 static inline __m128i k4_group_mins(uint64_t mins, const int16_t *bsums) {
    const __m256i sums = _mm256_loadu_si256((const __m256i *)bsums);
    const __m128i sub_block_sums = _mm_hadd_epi16(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
    return _mm_madd_epi16(sub_block_sums, _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mins)));
}

// The four groups' totals, one per lane, from their 16-lane partial sums.
AVX512 static inline __m128i group_totals(const __m512i groups[4]) {
    __m256i halves[4];
    for (int g = 0; g < 4; ++g) halves[g] = _mm256_add_epi32(_mm512_castsi512_si256(groups[g]), _mm512_extracti64x4_epi64(groups[g], 1));
    const __m256i pairs = _mm256_hadd_epi32(_mm256_hadd_epi32(halves[0], halves[1]), _mm256_hadd_epi32(halves[2], halves[3]));
    return _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
}

// The totals of sixteen 16-lane vectors, v[4t + g] for token t and group g: lane t of the
// result's 128-bit part g is Σ v[4t + g]. Adds pairs of vectors in four transposing steps: 45
// operations for the sixteen, against about 80 reducing each token's groups by itself.
AVX512 static inline __m512i transposed_totals(const __m512i v[16]) {
    __m512i quarters[4], eighths[2];
    lane_quarters(v, quarters);
    lane_quarters(v + 8, quarters + 2);
    for (int i = 0; i < 2; ++i)
        eighths[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(quarters[2 * i], quarters[2 * i + 1]),
                                      _mm512_unpackhi_epi32(quarters[2 * i], quarters[2 * i + 1]));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(eighths[0], eighths[1]), _mm512_unpackhi_epi64(eighths[0], eighths[1]));
}

AVX512 static inline int sum_four(__m128i v) {
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtsi128_si32(_mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1))));
}

AVX512 static inline int sum_eight(__m256i v) {
    return sum_four(_mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

// Q4_K and Q5_K (is_q5: 32 bytes of fifth bits ahead of the nibbles) in the float order of
// llama.cpp's repacked Q4_K kernels (the default on x86): two scalar chains,
// sum = fma((float)Σ scale·q·y, d_x·d_y, sum) and mins = fma((float)Σ min·Σy, dmin_x·d_y, mins),
// result sum − mins. Its GEMV (decode, and the last n % 4 tokens of a batch) takes one step per
// super-block; its GEMM (each group of 4 batch tokens) one step per 64 values. A full tile is such
// a group (matmul.c tiles a batch from its first token), anything else is the GEMV.
KERNEL void k4_k5_tokens(int64_t count, size_t block_bytes, int is_q5, const void *weights, const void *activation_bytes,
                         size_t stride, int tokens, float *out, size_t out_stride) {
    const uint8_t *bytes = weights;
    const uint8_t *activations = activation_bytes;
    const int gemm_order = tokens == TILE_TOKENS;
    float sum[TILE_TOKENS], min_total[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) sum[t] = 0, min_total[t] = 0;
    // The GEMM order's chains, lane t for token t (the same fma steps as scalars, four at once).
    __m128 gemm_sum = _mm_setzero_ps(), gemm_min_total = _mm_setzero_ps();
    for (int64_t b = 0; b < count / QK_K; ++b, bytes += block_bytes) {
        const k4_k5_block w = k4_k5_decode(bytes, is_q5);
        __m512i groups[TILE_TOKENS][4];
        for (int t = 0; t < tokens; ++t) k4_k5_group_sums(&w, &ACTIVATION(block_q8_K, t)[b], groups[t]);
        if (gemm_order) {
            // Row t of the 4×4 mins is token t's four groups; transposed, row g is group g of every token.
            __m128 mins[TILE_TOKENS];
            float d[TILE_TOKENS], dmin[TILE_TOKENS];
            for (int t = 0; t < TILE_TOKENS; ++t) {
                const block_q8_K *a = &ACTIVATION(block_q8_K, t)[b];
                d[t] = w.d_dmin[0] * a->d;
                dmin[t] = w.d_dmin[1] * a->d;
                mins[t] = _mm_castsi128_ps(k4_group_mins(w.min_bytes, a->bsums));
            }
            _MM_TRANSPOSE4_PS(mins[0], mins[1], mins[2], mins[3]);
            const __m512 totals = _mm512_cvtepi32_ps(transposed_totals(&groups[0][0]));
            const __m128 d_lanes = _mm_loadu_ps(d), dmin_lanes = _mm_loadu_ps(dmin);
            const __m128 group_totals_of[4] = {_mm512_castps512_ps128(totals), _mm512_extractf32x4_ps(totals, 1),
                                               _mm512_extractf32x4_ps(totals, 2), _mm512_extractf32x4_ps(totals, 3)};
            for (int g = 0; g < 4; ++g) {
                gemm_sum = _mm_fmadd_ps(group_totals_of[g], d_lanes, gemm_sum);
                gemm_min_total = _mm_fmadd_ps(_mm_cvtepi32_ps(_mm_castps_si128(mins[g])), dmin_lanes, gemm_min_total);
            }
            continue;
        }
        for (int t = 0; t < tokens; ++t) {
            const block_q8_K *a = &ACTIVATION(block_q8_K, t)[b];
            const float d = w.d_dmin[0] * a->d, dmin = w.d_dmin[1] * a->d;
            sum[t] = __builtin_fmaf((float)sum_four(group_totals(groups[t])), d, sum[t]);
            min_total[t] = __builtin_fmaf((float)sum_four(k4_group_mins(w.min_bytes, a->bsums)), dmin, min_total[t]);
        }
    }
    if (gemm_order) {
        _mm_storeu_ps(sum, gemm_sum);
        _mm_storeu_ps(min_total, gemm_min_total);
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sum[t] - min_total[t];
}

KERNEL void q4_K_tokens(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    (void)scales;
    k4_k5_tokens(count, sizeof(block_q4_K), 0, weights, activations, stride, tokens, out, out_stride);
}
DOT_AND_TILE(q4_K)

KERNEL void q5_K_tokens(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    (void)scales;
    k4_k5_tokens(count, sizeof(block_q5_K), 1, weights, activations, stride, tokens, out, out_stride);
}
DOT_AND_TILE(q5_K)

// `wide`: the float order of llama.cpp's tiled K-quant matrix product, which it takes for batches
// of 8 tokens or more: per super-block r = (float)total · d_x, then sum = fma(r, d_y, sum).
KERNEL void q6_K_order(int64_t count, const void *weights, const void *activation_bytes, size_t stride, int wide, int tokens,
                       float *out, size_t out_stride) {
    const block_q6_K *w = weights;
    const uint8_t *activations = activation_bytes;
    __m256 acc[TILE_TOKENS];
    float wide_sum[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm256_setzero_ps(), wide_sum[t] = 0;
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const q6_K_weights block = q6_K_decode(w + b);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_K *a = &ACTIVATION(block_q8_K, t)[b];
            const __m256i total = q6_K_lanes(&block, a);
            if (wide) {
                wide_sum[t] = WIDE_STEP(wide_sum[t], (float)sum_eight(total) * block.d, a->d);
            } else {
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(a->d * block.d), _mm256_cvtepi32_ps(total), acc[t]);
            }
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = wide ? wide_sum[t] : sum_lanes(acc[t]);
}

KERNEL void q6_K_tokens(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales, int tokens,
                        float *out, size_t out_stride) {
    (void)scales;
    q6_K_order(count, weights, activations, stride, 0, tokens, out, out_stride);
}
DOT_AND_TILE(q6_K)

AVX512 static void wide_tile_q6_K(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales,
                                  int tokens, float *out, size_t out_stride) {
    (void)scales;
    switch (tokens) {
    case 1: q6_K_order(count, weights, activations, stride, 1, 1, out, out_stride); break;
    case 2: q6_K_order(count, weights, activations, stride, 1, 2, out, out_stride); break;
    case 3: q6_K_order(count, weights, activations, stride, 1, 3, out, out_stride); break;
    default: q6_K_order(count, weights, activations, stride, 1, 4, out, out_stride); break;
    }
}

// The float formats keep one 16-lane accumulator per (row, token), stepping 16 values at a time,
// and end in _mm512_reduce_add_ps: the order of llama.cpp's tinyBLAS (llamafile sgemm), which
// its x86 CPU backend takes for F32/F16 products of two or more tokens (every token of such a batch,
// the leftover ones included); one-token products take `single_dot` below, as llama.cpp does.
// The tile reads activation rows in the activation format: f32, or f16 for F16 weights.
KERNEL void float_tokens(int is_f16, int64_t count, const void *weights, const void *activation_bytes, size_t stride, int tokens,
                         float *out, size_t out_stride) {
    const uint8_t *activations = activation_bytes;
    __m512 acc[TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < count; i += 16) {
        const __mmask16 mask = tail_mask(count - i);
        const __m512 x = float_weights(is_f16, weights, i, mask);
        for (int t = 0; t < tokens; ++t) {
            acc[t] = _mm512_fmadd_ps(x, float_weights(is_f16, activations + (size_t)t * stride, i, mask), acc[t]);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = _mm512_reduce_add_ps(acc[t]);
}

KERNEL void f32_tokens(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales, int tokens,
                       float *out, size_t out_stride) {
    (void)scales;
    float_tokens(0, count, weights, activations, stride, tokens, out, out_stride);
}
DOT_AND_TILE(f32)

KERNEL void f16_tokens(int64_t count, const void *weights, const void *activations, size_t stride, const float *scales, int tokens,
                       float *out, size_t out_stride) {
    (void)scales;
    float_tokens(1, count, weights, activations, stride, tokens, out, out_stride);
}
DOT_AND_TILE(f16)

#define WITH_TILE(type, name) .dot[type] = dot_##name, .tile[type] = tile_##name
#define WITH_PANEL(type, name) WITH_TILE(type, name), .panel[type] = forge_avx512_panel_##name
#define WITH_PANELS(type, name) WITH_PANEL(type, name), .row_panel[type] = forge_avx512_row_panel_##name
#define WITH_STREAM_PANELS(type, name) WITH_PANELS(type, name), .row_panel_streams[type] = 1

const forge_kernel_table forge_avx512_kernels = {
    WITH_PANELS(FORGE_TYPE_F32, f32),
    WITH_PANELS(FORGE_TYPE_F16, f16),
    .single_dot[FORGE_TYPE_F32] = forge_avx512_single_f32,
    .single_dot[FORGE_TYPE_F16] = forge_avx512_single_f16,
    .panel_activations[FORGE_TYPE_F16] = forge_avx512_round_to_f16,
    // Four 6-token blocks a call (tinyBLAS blocks its 6-token tiles by twelve; 12, 48 or 96 do no better).
    .float_panel_tokens = 24,
    WITH_STREAM_PANELS(FORGE_TYPE_Q4_0, q4_0),
    WITH_STREAM_PANELS(FORGE_TYPE_Q4_1, q4_1),
    WITH_STREAM_PANELS(FORGE_TYPE_Q5_0, q5_0),
    WITH_STREAM_PANELS(FORGE_TYPE_Q5_1, q5_1),
    WITH_STREAM_PANELS(FORGE_TYPE_Q8_0, q8_0),
    WITH_TILE(FORGE_TYPE_Q4_K, q4_K),
    WITH_TILE(FORGE_TYPE_Q5_K, q5_K),
    WITH_TILE(FORGE_TYPE_Q6_K, q6_K),
    .row_panel[FORGE_TYPE_Q4_K] = forge_avx512_row_panel_q4_K,
    .row_panel[FORGE_TYPE_Q5_K] = forge_avx512_row_panel_q5_K,
    .row_panel[FORGE_TYPE_Q6_K] = forge_avx512_row_panel_q6_K,
    .row_panel_streams[FORGE_TYPE_Q4_K] = 1,
    .row_panel_streams[FORGE_TYPE_Q5_K] = 1,
    .row_panel_streams[FORGE_TYPE_Q6_K] = 1,
    .wide_tile[FORGE_TYPE_Q6_K] = wide_tile_q6_K,
    .lane_panel[FORGE_TYPE_Q4_K] = forge_avx512_lane_panel_q4_K,
    .lane_panel[FORGE_TYPE_Q5_K] = forge_avx512_lane_panel_q5_K,
    .lane_panel[FORGE_TYPE_Q6_K] = forge_avx512_lane_panel_q6_K,
    .lane_panel[FORGE_TYPE_Q4_0] = forge_avx512_lane_panel_q4_0,
    .lane_panel[FORGE_TYPE_Q4_1] = forge_avx512_lane_panel_q4_1,
    .lane_panel[FORGE_TYPE_Q5_0] = forge_avx512_lane_panel_q5_0,
    .lane_panel[FORGE_TYPE_Q5_1] = forge_avx512_lane_panel_q5_1,
    .lane_panel[FORGE_TYPE_Q8_0] = forge_avx512_lane_panel_q8_0,
    // Quantizers, BF16 and IQ4_NL: AVX2's, through the fallback (dispatch.c).
};
#endif
