// AVX-512 (F, BW, VL, VNNI) variants, compiled per function so the target stays baseline x86-64.
// Two 32-value blocks fill a 512-bit register; vpdpbusd multiplies unsigned by signed bytes and
// sums four products straight into 32 bits (no 16-bit saturation), vpdpwssd applies 16-bit
// sub-block scales. A signed weight q − k is handled as Σ q·y − k·Σ y, with k·Σ y formed by a
// second vpdpbusd of the constant k against −y (activation bytes stay within ±127).
#include <stddef.h>
#include "formats.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

void forge_avx2_quantize_q8_0(const float *, void *, int64_t);
void forge_avx2_quantize_q8_1(const float *, void *, int64_t);
void forge_avx2_quantize_q8_K(const float *, void *, int64_t);
void forge_avx2_convert_f16(const float *, void *, int64_t);

// Two 16-byte nibble arrays → 64 bytes in value order: first block's low then high nibbles,
// then the second block's. Each array is loaded twice into its half and the upper copy shifted,
// which needs no cross-lane shuffle: Q5_0 decode rows 50.6 → 54.7 GFLOP/s, Q4_1 56.3 → 62.2
// (Zen 4, 1 thread, matrix in cache).
AVX512 static inline __m512i unpack_nibble_pair(const uint8_t *first, const uint8_t *second) {
    const __m512i twice = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)first))),
                                             _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)second)), 1);
    const __m512i shifts = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0, 0x0004000400040004, 0x0004000400040004, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi16(twice, shifts), _mm512_set1_epi8(0x0f));
}

AVX512 static inline __m512i load_pair(const int8_t *first, const int8_t *second) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)first)),
                              _mm256_loadu_si256((const __m256i *)second), 1);
}

// Two Q5_0/Q5_1 blocks' values as unsigned bytes (nibble plus 16 where the fifth bit is set), in
// the order of unpack_nibble_pair.
AVX512 static inline __m512i unpack_q5_pair(const uint8_t first_qh[4], const uint8_t *first_qs, const uint8_t second_qh[4],
                                            const uint8_t *second_qs) {
    const __mmask64 fifth = (__mmask64)q5_high_bits(first_qh) | (__mmask64)q5_high_bits(second_qh) << 32;
    const __m512i nibbles = unpack_nibble_pair(first_qs, second_qs);
    // The 16 is hidden from the optimizer, which otherwise turns its addition to a nibble into an
    // OR and then, there being no byte-masked OR, an OR and a masked move: an instruction more per
    // block pair. With the scale products below, Q5_0 decode rows 30-32 → 34-35 GB/s (Sapphire
    // Rapids, 2 threads, 4864 × 896 matrices inside the L3).
    __m512i sixteen = _mm512_set1_epi8(16);
    __asm__("" : "+v"(sixteen));
    return _mm512_mask_add_epi8(nibbles, fifth, nibbles, sixteen);
}

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

// f16(x0) in lanes 0..7 and f16(x1) in lanes 8..15.
AVX512 static inline __m512 half_pair(uint16_t x0, uint16_t x1) {
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)x0 | (uint32_t)x1 << 16)));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(both));
}

// f16(x0), f16(x1) as two floats.
AVX512 static inline void halves_to_floats(uint16_t x0, uint16_t x1, float out[2]) {
    _mm_store_sd((double *)out, _mm_castps_pd(_mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)x0 | (uint32_t)x1 << 16)))));
}

// llama.cpp's `summs += m·s`, which its compilers contract into one fused multiply-add.
AVX512 static inline float offset_step(float sum, float m, float s) { return __builtin_fmaf(m, s, sum); }

// Σ (u − offset)·y per group of four bytes, u unsigned.
AVX512 static inline __m512i dot_offset(__m512i u, __m512i y, __m512i offset) {
    const __m512i products = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, y);
    return _mm512_dpbusd_epi32(products, offset, _mm512_sub_epi8(_mm512_setzero_si512(), y));
}


// llama.cpp's x86 order for the 32-value formats (ggml_vec_dot_*_q8_0/q8_1 and llamafile's
// tinyBLAS give the same floats): one 8-lane f32 accumulator, lane i taking bytes 4i..4i+3 of
// every block; per block acc = fma(d_x·d_y, (float)lane sums, acc), blocks in order; then
// hsum_float_8. Two blocks share one 512-bit integer step here, but their floats are added one
// block after the other, so a last-bit difference can never appear.
AVX512 static inline float sum_lanes(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    return _mm_cvtss_f32(half);
}

AVX512 static inline __m256 upper_floats(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

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
#define KERNEL AVX512 static inline __attribute__((always_inline))
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

// Panels: FORGE_PANEL_ROWS weight rows × 4 or 8 tokens (one or two full tiles) of a 32-value
// format at once, for prefill and batched decode. A row pair shares a register (row 2p in lanes
// 0..7, row 2p+1 in lanes 8..15) against one token's block broadcast to both halves, so each
// weight block is decoded once for all tokens, each activation block loaded once for all rows,
// and the activation part of a signed format's offset, k·Σy, formed once per token for every
// row. Every (row, token) still accumulates its own 8 lanes block after block with
// fma(d_x·d_y, sums, acc) and ends in sum_lanes, so each result is bit-identical to the dot
// product. Measured on pp512 (Sapphire Rapids, 2 threads): one-row tiles 157 → 4-token panels
// 315 t/s on SmolLM2 Q4_1.
enum panel_format { PANEL_Q4_0, PANEL_Q4_1, PANEL_Q5_0, PANEL_Q5_1, PANEL_Q8_0 };

// Rows `first` and `second` of one block as unsigned bytes u (value = u − offset, or d·u + m;
// Q8_0's shifted by 128).
KERNEL __m512i panel_values(enum panel_format format, const uint8_t *first, const uint8_t *second) {
    switch (format) {
    case PANEL_Q4_0: return unpack_nibble_pair(((const block_q4_0 *)first)->qs, ((const block_q4_0 *)second)->qs);
    case PANEL_Q5_0: {
        const block_q5_0 *x0 = (const void *)first, *x1 = (const void *)second;
        return unpack_q5_pair(x0->qh, x0->qs, x1->qh, x1->qs);
    }
    case PANEL_Q8_0:
        return _mm512_xor_si512(load_pair(((const block_q8_0 *)first)->qs, ((const block_q8_0 *)second)->qs), _mm512_set1_epi8((char)0x80));
    case PANEL_Q4_1: return unpack_nibble_pair(((const block_q4_1 *)first)->qs, ((const block_q4_1 *)second)->qs);
    case PANEL_Q5_1: {
        const block_q5_1 *x0 = (const void *)first, *x1 = (const void *)second;
        return unpack_q5_pair(x0->qh, x0->qs, x1->qh, x1->qs);
    }
    }
    return _mm512_setzero_si512();
}

// Every 32-value block starts with its f16 d, then (Q4_1, Q5_1) its f16 m.
_Static_assert(offsetof(block_q4_0, d) == 0 && offsetof(block_q5_0, d) == 0 && offsetof(block_q8_0, d) == 0 &&
                   offsetof(block_q4_1, m) == 2 && offsetof(block_q5_1, m) == 2, "block heads");

// panel_values, with the two rows' scales d (lanes 0..7, 8..15) and, for Q4_1/Q5_1, their
// offsets m in m[0], m[1].
KERNEL __m512i panel_decode(enum panel_format format, const uint8_t *first, const uint8_t *second, __m512 *d, float m[2]) {
    uint16_t heads[2][2];
    memcpy(heads[0], first, 4);
    memcpy(heads[1], second, 4);
    *d = half_pair(heads[0][0], heads[1][0]);
    if (format == PANEL_Q4_1 || format == PANEL_Q5_1) halves_to_floats(heads[0][1], heads[1][1], m);
    return panel_values(format, first, second);
}

// Bytes of one weight block of `format`.
KERNEL size_t panel_block_bytes(enum panel_format format) {
    return format == PANEL_Q4_0 ? sizeof(block_q4_0)
           : format == PANEL_Q5_0 ? sizeof(block_q5_0)
           : format == PANEL_Q8_0 ? sizeof(block_q8_0)
           : format == PANEL_Q4_1 ? sizeof(block_q4_1) : sizeof(block_q5_1);
}

// k of the signed formats' value u − k, as panel_decode returns u (Q8_0 shifted by 128).
KERNEL char panel_offset(enum panel_format format) {
    return (char)(format == PANEL_Q4_0 ? 8 : format == PANEL_Q5_0 ? 16 : 128);
}

#define PANEL_PAIRS (FORGE_PANEL_ROWS / 2)
#define PANEL_MAX_TOKENS (2 * FORGE_TILE_TOKENS)
#define ROW_PANEL_PAIRS (FORGE_ROW_PANEL_ROWS / 2)
_Static_assert(FORGE_ROW_PANEL_ROWS == 8, "the row panel's offset lanes fill one 256-bit register");
_Static_assert(FORGE_PANEL_ROWS == 4 && FORGE_TILE_TOKENS == 4, "the offset lanes are laid out for 4 rows × 4 tokens");

KERNEL void panel_tokens(enum panel_format format, int tokens, int64_t count, const void *weights, size_t row_bytes,
                         const void *activation_bytes, size_t stride, const float *group_scales, float *out, size_t out_stride) {
    const uint8_t *rows = weights;
    const uint8_t *activations = activation_bytes;
    const int64_t blocks = count / QK;
    const int64_t group_stride = 2 * blocks * FORGE_TILE_TOKENS;
    const int has_offsets = format == PANEL_Q4_1 || format == PANEL_Q5_1;
    const int signed_values = !has_offsets;
    const size_t block_bytes = panel_block_bytes(format);
    const size_t activation_block_bytes = has_offsets ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t activation_qs = has_offsets ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const __m512i offset = _mm512_set1_epi8(panel_offset(format));
    // Lane 4r + t of offsets[g] takes Σ m_r·s_t for token 4g + t, one fma per block as llama.cpp's `summs`.
    const __m512i row_of_lane = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    __m512 offsets[PANEL_MAX_TOKENS / FORGE_TILE_TOKENS] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    __m512 acc[PANEL_PAIRS][PANEL_MAX_TOKENS];
    for (int p = 0; p < PANEL_PAIRS; ++p)
        for (int t = 0; t < tokens; ++t) acc[p][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        __m512i u[PANEL_PAIRS];
        __m512 d[PANEL_PAIRS];
        float m[FORGE_PANEL_ROWS];
        for (int p = 0; p < PANEL_PAIRS; ++p) {
            const uint8_t *first = rows + (size_t)(2 * p) * row_bytes + (size_t)b * block_bytes;
            u[p] = panel_decode(format, first, first + row_bytes, &d[p], m + 2 * p);
        }
        for (int t = 0; t < tokens; ++t) {
            const uint8_t *block = activations + (size_t)t * stride + (size_t)b * activation_block_bytes;
            const __m512i y = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(block + activation_qs)));
            const __m512i base = signed_values ? _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, _mm512_sub_epi8(_mm512_setzero_si512(), y))
                                               : _mm512_setzero_si512();
            const __m512 token_scale = _mm512_set1_ps(group_scales[(t / FORGE_TILE_TOKENS) * group_stride + 4 * b + t % FORGE_TILE_TOKENS]);
            for (int p = 0; p < PANEL_PAIRS; ++p) {
                const __m512i sums = _mm512_dpbusd_epi32(base, u[p], y);
                acc[p][t] = _mm512_fmadd_ps(_mm512_mul_ps(d[p], token_scale), _mm512_cvtepi32_ps(sums), acc[p][t]);
            }
        }
        if (has_offsets) {
            const __m512 row_offsets = _mm512_permutexvar_ps(row_of_lane, _mm512_castps128_ps512(_mm_loadu_ps(m)));
            for (int g = 0; g < tokens / FORGE_TILE_TOKENS; ++g) {
                const float *token_sums = group_scales + g * group_stride + 4 * blocks + 4 * b;
                offsets[g] = _mm512_fmadd_ps(row_offsets, _mm512_broadcast_f32x4(_mm_loadu_ps(token_sums)), offsets[g]);
            }
        }
    }
    float offset_lanes[PANEL_MAX_TOKENS / FORGE_TILE_TOKENS][16];
    for (int g = 0; g < tokens / FORGE_TILE_TOKENS; ++g) _mm512_storeu_ps(offset_lanes[g], offsets[g]);
    for (int p = 0; p < PANEL_PAIRS; ++p) {
        for (int t = 0; t < tokens; ++t) {
            float *row_out = out + (size_t)t * out_stride + 2 * p;
            row_out[0] = sum_lanes(_mm512_castps512_ps256(acc[p][t]));
            row_out[1] = sum_lanes(upper_floats(acc[p][t]));
            if (has_offsets) {
                const float *lanes = offset_lanes[t / FORGE_TILE_TOKENS];
                row_out[0] += lanes[4 * (2 * p) + t % FORGE_TILE_TOKENS];
                row_out[1] += lanes[4 * (2 * p + 1) + t % FORGE_TILE_TOKENS];
            }
        }
    }
}

#define PANEL(name, format)                                                                                              \
    AVX512 static void panel_##name(int64_t count, const void *weights, size_t row_bytes, const void *activations,      \
                                    size_t stride, const float *group_scales, int tokens, float *out, size_t out_stride) { \
        if (tokens == PANEL_MAX_TOKENS) {                                                                                \
            panel_tokens(format, PANEL_MAX_TOKENS, count, weights, row_bytes, activations, stride, group_scales, out, out_stride); \
        } else {                                                                                                         \
            panel_tokens(format, FORGE_TILE_TOKENS, count, weights, row_bytes, activations, stride, group_scales, out, out_stride); \
        }                                                                                                                \
    }
PANEL(q4_0, PANEL_Q4_0)
PANEL(q4_1, PANEL_Q4_1)
PANEL(q5_0, PANEL_Q5_0)
PANEL(q5_1, PANEL_Q5_1)
PANEL(q8_0, PANEL_Q8_0)

// Decode's matrix-vector product: up to FORGE_ROW_PANEL_ROWS weight rows against one token, in
// the panels' layout (a row pair per register against the token's block broadcast), so a block
// step costs one 512-bit multiply-add per row pair where the one-row tile spends two 256-bit ones
// per row, and the token's block, scale and k·Σy are formed once for all rows. Each row keeps its
// own 8 lanes and, for Q4_1/Q5_1, its own lane of m·s sums, block after block, so the results are
// bit-identical to the dot product. An odd last row is paired with itself and written once.
// Measured on Sapphire Rapids, 1 thread, rows of 896 values, the matrix in L2: Q5_0 4.4 → 11.2 GB/s,
// Q8_0 9.6 → 26.6 GB/s, Q4_1 4.0 → 7.8 GB/s against the one-row tile. The eight rows' d (and m)
// are converted in one instruction, not a pair at a time: Q4_1, 2 threads, 256 × 4864 in L2
// 19–24 → 24–30 GB/s, 90 MB of 1536 × 576 and 576 × 1536 matrices (inside the L3) 17–24 → 22–31.
// 64 blocks (2 KiB of Q8_0, 1.4 KiB of Q5_0 a stream) measured at least as fast as 16 or 32 (Sapphire
// Rapids, 2 threads, the matrices beyond the L3).
enum { ROW_STREAM_AHEAD = 64 };

KERNEL void row_panel_pairs(enum panel_format format, int pairs, int rows, int64_t count, const void *weights, size_t row_bytes,
                            const void *activation, const float *scales, float *out) {
    const uint8_t *first_row = weights;
    const int64_t blocks = count / QK;
    const int has_offsets = format == PANEL_Q4_1 || format == PANEL_Q5_1;
    const size_t block_bytes = panel_block_bytes(format);
    const size_t activation_block_bytes = has_offsets ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t activation_qs = has_offsets ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const __m512i offset = _mm512_set1_epi8(panel_offset(format));
    const int streams = row_bytes > (size_t)blocks * block_bytes;
    const uint8_t *next_panel = first_row + FORGE_ROW_PANEL_ROWS * row_bytes;
    const size_t next_panel_step = FORGE_ROW_PANEL_ROWS * block_bytes;
    const uint8_t *row_start[2 * ROW_PANEL_PAIRS];
    for (int r = 0; r < 2 * pairs; ++r) row_start[r] = first_row + (size_t)(r < rows ? r : rows - 1) * row_bytes;
    __m512 acc[ROW_PANEL_PAIRS];
    for (int p = 0; p < pairs; ++p) acc[p] = _mm512_setzero_ps();
    __m256 offsets = _mm256_setzero_ps(); // lane r: Σ m_r·s, one fma per block as llama.cpp's `summs`
    for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t *block = (const uint8_t *)activation + (size_t)b * activation_block_bytes;
        const __m512i y = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(block + activation_qs)));
        const __m512i base = has_offsets ? _mm512_setzero_si512()
                                         : _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, _mm512_sub_epi8(_mm512_setzero_si512(), y));
        const __m512 token_scale = _mm512_set1_ps(scales[b]);
        // Adjacent rows: the hardware prefetchers do not follow eight interleaved row streams, so
        // the next panel (the rows right after these) is fetched as one sequential stream, a block
        // step's share of it per step. Against fetching each of its rows' next block (eight
        // prefetches per step, their addresses spilled to the stack): Q5_0 rows of 896 values, 48
        // MB of them, read at 20–23 → 28–36 GB/s on 2 threads, 10 → 18.5 GB/s on one (Zen 4).
        // Rows far apart (streams, see multiply_rows): each row's stream is fetched
        // ROW_STREAM_AHEAD blocks ahead.
        if (streams) {
            for (int r = 0; r < 2 * pairs; ++r) _mm_prefetch((const char *)row_start[r] + (size_t)(b + ROW_STREAM_AHEAD) * block_bytes, _MM_HINT_T0);
        } else {
            for (size_t line = 0; line < next_panel_step; line += 64) {
                _mm_prefetch((const char *)next_panel + (size_t)b * next_panel_step + line, _MM_HINT_T0);
            }
        }
        // The first 4 bytes of each row's block (d, then m or the first value bytes), all
        // converted at once: d_r in lane 2r, m_r in lane 2r + 1.
        uint32_t heads[2 * ROW_PANEL_PAIRS];
        for (int r = 0; r < 2 * ROW_PANEL_PAIRS; ++r) memcpy(&heads[r], row_start[r < 2 * pairs ? r : 0] + (size_t)b * block_bytes, 4);
        const __m512 halves = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)heads));
        const __m512 scales_dy = _mm512_mul_ps(halves, token_scale); // d_r·d_y in lane 2r, for all rows at once
        for (int p = 0; p < pairs; ++p) {
            const __m512 d = _mm512_permutexvar_ps(_mm512_set_epi32(4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2, 4 * p + 2,
                                                                    4 * p + 2, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p, 4 * p),
                                                   scales_dy);
            const __m512i u = panel_values(format, row_start[2 * p] + (size_t)b * block_bytes, row_start[2 * p + 1] + (size_t)b * block_bytes);
            acc[p] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(base, u, y)), acc[p]);
        }
        if (has_offsets) {
            const __m512 m = _mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 15, 13, 11, 9, 7, 5, 3, 1), halves);
            offsets = _mm256_fmadd_ps(_mm512_castps512_ps256(m), _mm256_set1_ps(scales[blocks + b]), offsets);
        }
    }
    float offset_lanes[2 * ROW_PANEL_PAIRS];
    _mm256_storeu_ps(offset_lanes, offsets);
    for (int p = 0; p < pairs; ++p) {
        out[2 * p] = sum_lanes(_mm512_castps512_ps256(acc[p])) + (has_offsets ? offset_lanes[2 * p] : 0);
        if (2 * p + 1 < rows) out[2 * p + 1] = sum_lanes(upper_floats(acc[p])) + (has_offsets ? offset_lanes[2 * p + 1] : 0);
    }
}

#define ROW_PANEL(name, format)                                                                                        \
    AVX512 static void row_panel_##name(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activation, \
                                        const float *scales, float *out) {                                             \
        switch ((rows + 1) / 2) {                                                                                      \
        case 1: row_panel_pairs(format, 1, rows, count, weights, row_bytes, activation, scales, out); break;           \
        case 2: row_panel_pairs(format, 2, rows, count, weights, row_bytes, activation, scales, out); break;           \
        case 3: row_panel_pairs(format, 3, rows, count, weights, row_bytes, activation, scales, out); break;           \
        default: row_panel_pairs(format, 4, rows, count, weights, row_bytes, activation, scales, out); break;          \
        }                                                                                                              \
    }
ROW_PANEL(q4_0, PANEL_Q4_0)
ROW_PANEL(q4_1, PANEL_Q4_1)
ROW_PANEL(q5_0, PANEL_Q5_0)
ROW_PANEL(q5_1, PANEL_Q5_1)
ROW_PANEL(q8_0, PANEL_Q8_0)

// Lane panels of the 32-value formats: tokens across the vector lanes, each weight dword
// broadcast against 16 tokens' activation dwords. The activations are unsigned (y + 128) and the
// weights signed bytes w (q − k, or q for Q4_1/Q5_1), so Σ w·(y + 128) − 128·Σ w is each dword's
// exact Σ w·y, with a correction that depends on the row alone. Every (row, token) keeps
// llama.cpp's eight dword accumulators block after block and sums them in sum_lanes' tree (then
// adds Q4_1/Q5_1's Σ m·s, one fma per block), so the results are bit-identical to the dot
// product. A row pair is decoded a chunk of blocks at a time, once for all token groups (decoding
// per group instead made Q5_0 18% slower than the panels). Measured on Zen 4, 2 threads, 512
// tokens, GFLOP/s, panels → lane panels: 896×4864 Q8_0 233 → 350, Q5_0 213 → 352; 4864×896
// Q8_0 220 → 323, Q5_0 204 → 324, Q4_0 213 → 324; SmolLM2's 1536×576 Q4_1 about 200 → 225–251,
// 576×1536 212 → 255.
enum { LANE_CHUNK_BLOCKS = 32 };

// One block's weights as signed bytes into `values`, their −128·Σ w per dword into
// `corrections`, the scale d and, for Q4_1/Q5_1, the offset m.
KERNEL void lane_block_values(enum panel_format format, const uint8_t *block, int8_t values[QK], int32_t corrections[QK / 4],
                              float *d, float *m) {
    __m256i bytes;
    uint16_t scale;
    switch (format) {
    case PANEL_Q8_0: {
        const block_q8_0 *x = (const void *)block;
        scale = x->d;
        bytes = _mm256_loadu_si256((const __m256i *)x->qs);
        break;
    }
    case PANEL_Q4_0: {
        const block_q4_0 *x = (const void *)block;
        scale = x->d;
        bytes = _mm256_sub_epi8(_mm512_castsi512_si256(unpack_nibble_pair(x->qs, x->qs)), _mm256_set1_epi8(8));
        break;
    }
    case PANEL_Q5_0: {
        const block_q5_0 *x = (const void *)block;
        scale = x->d;
        const __m256i nibbles = _mm512_castsi512_si256(unpack_nibble_pair(x->qs, x->qs));
        bytes = _mm256_sub_epi8(_mm256_mask_add_epi8(nibbles, q5_high_bits(x->qh), nibbles, _mm256_set1_epi8(16)), _mm256_set1_epi8(16));
        break;
    }
    case PANEL_Q4_1: {
        const block_q4_1 *x = (const void *)block;
        scale = x->d;
        *m = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(x->m)));
        bytes = _mm512_castsi512_si256(unpack_nibble_pair(x->qs, x->qs));
        break;
    }
    case PANEL_Q5_1: {
        const block_q5_1 *x = (const void *)block;
        scale = x->d;
        *m = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(x->m)));
        const __m256i nibbles = _mm512_castsi512_si256(unpack_nibble_pair(x->qs, x->qs));
        bytes = _mm256_mask_add_epi8(nibbles, q5_high_bits(x->qh), nibbles, _mm256_set1_epi8(16));
        break;
    }
    }
    *d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(scale)));
    _mm256_store_si256((__m256i *)values, bytes);
    const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), bytes);
    _mm256_store_si256((__m256i *)corrections, _mm256_sub_epi32(_mm256_setzero_si256(), sums));
}

KERNEL void lanes_32(enum panel_format format, int64_t count, const void *weights, size_t row_bytes, int rows,
                     const forge_lane_block_q8 *activations, int groups, int tokens, float *out, size_t out_stride) {
    enum { DWORDS = QK / 4 };
    const int has_offsets = format == PANEL_Q4_1 || format == PANEL_Q5_1;
    const int64_t blocks = count / QK;
    const size_t block_bytes = panel_block_bytes(format);
    _Alignas(64) int8_t values[2][LANE_CHUNK_BLOCKS][QK];
    _Alignas(64) int32_t corrections[2][LANE_CHUNK_BLOCKS][DWORDS];
    float weight_d[2][LANE_CHUNK_BLOCKS], weight_m[2][LANE_CHUNK_BLOCKS];
    __m512 acc[FORGE_LANE_PANEL_GROUPS][2][DWORDS];
    __m512 offsets[FORGE_LANE_PANEL_GROUPS][2];
    for (int r0 = 0; r0 < rows; r0 += 2) {
        // An odd last row is paired with itself and stored once.
        const uint8_t *pair[2] = {(const uint8_t *)weights + (size_t)r0 * row_bytes,
                                  (const uint8_t *)weights + (size_t)(r0 + 1 < rows ? r0 + 1 : r0) * row_bytes};
        for (int g = 0; g < groups; ++g)
            for (int k = 0; k < 2; ++k) {
                offsets[g][k] = _mm512_setzero_ps();
                for (int i = 0; i < DWORDS; ++i) acc[g][k][i] = _mm512_setzero_ps();
            }
        for (int64_t chunk = 0; chunk < blocks; chunk += LANE_CHUNK_BLOCKS) {
            const int chunk_blocks = blocks - chunk < LANE_CHUNK_BLOCKS ? (int)(blocks - chunk) : LANE_CHUNK_BLOCKS;
            for (int k = 0; k < 2; ++k)
                for (int c = 0; c < chunk_blocks; ++c)
                    lane_block_values(format, pair[k] + (size_t)(chunk + c) * block_bytes, values[k][c], corrections[k][c],
                                      &weight_d[k][c], &weight_m[k][c]);
            for (int g = 0; g < groups; ++g) {
                const forge_lane_block_q8 *a = activations + (size_t)g * (size_t)blocks + chunk;
                __m512 sums[2][DWORDS];
                for (int k = 0; k < 2; ++k)
                    for (int i = 0; i < DWORDS; ++i) sums[k][i] = acc[g][k][i];
                for (int c = 0; c < chunk_blocks; ++c) {
                    __m512i y[DWORDS];
                    for (int i = 0; i < DWORDS; ++i) y[i] = _mm512_load_si512((const void *)a[c].codes[i]);
                    const __m512 token_d = _mm512_load_ps(a[c].d);
                    for (int k = 0; k < 2; ++k) {
                        const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(weight_d[k][c]), token_d);
                        for (int i = 0; i < DWORDS; ++i) {
                            int32_t four;
                            memcpy(&four, values[k][c] + 4 * i, 4);
                            const __m512i total = _mm512_dpbusd_epi32(_mm512_set1_epi32(corrections[k][c][i]), y[i], _mm512_set1_epi32(four));
                            sums[k][i] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(total), sums[k][i]);
                        }
                    }
                }
                for (int k = 0; k < 2; ++k)
                    for (int i = 0; i < DWORDS; ++i) acc[g][k][i] = sums[k][i];
                if (has_offsets) {
                    for (int c = 0; c < chunk_blocks; ++c) {
                        const __m512 token_s = _mm512_load_ps(a[c].s);
                        for (int k = 0; k < 2; ++k) offsets[g][k] = _mm512_fmadd_ps(_mm512_set1_ps(weight_m[k][c]), token_s, offsets[g][k]);
                    }
                }
            }
        }
        for (int g = 0; g < groups; ++g) {
            const int group_tokens = tokens - g * FORGE_LANE_TOKENS < FORGE_LANE_TOKENS ? tokens - g * FORGE_LANE_TOKENS : FORGE_LANE_TOKENS;
            for (int k = 0; k < 2 && r0 + k < rows; ++k) {
                const __m512 *v = acc[g][k];
                const __m512 quarters[4] = {_mm512_add_ps(v[4], v[0]), _mm512_add_ps(v[5], v[1]), _mm512_add_ps(v[6], v[2]),
                                            _mm512_add_ps(v[7], v[3])};
                __m512 total = _mm512_add_ps(_mm512_add_ps(quarters[0], quarters[2]), _mm512_add_ps(quarters[1], quarters[3]));
                if (has_offsets) total = _mm512_add_ps(total, offsets[g][k]);
                float lanes[FORGE_LANE_TOKENS];
                _mm512_storeu_ps(lanes, total);
                for (int t = 0; t < group_tokens; ++t) out[(size_t)(g * FORGE_LANE_TOKENS + t) * out_stride + r0 + k] = lanes[t];
            }
        }
    }
}

#define LANE_PANEL(name, format)                                                                                        \
    AVX512 static void lane_panel_##name(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activations, \
                                         int groups, int tokens, float *out, size_t out_stride) {                      \
        lanes_32(format, count, weights, row_bytes, rows, activations, groups, tokens, out, out_stride);                \
    }
LANE_PANEL(q4_0, PANEL_Q4_0)
LANE_PANEL(q4_1, PANEL_Q4_1)
LANE_PANEL(q5_0, PANEL_Q5_0)
LANE_PANEL(q5_1, PANEL_Q5_1)
LANE_PANEL(q8_0, PANEL_Q8_0)

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

// Eight 16-lane vectors folded to two: 128-bit lane k of quarters[j] holds four partial sums
// whose total is v[4j + k]'s.
KERNEL void lane_quarters(const __m512i v[8], __m512i quarters[2]) {
    __m512i halves[4];
    for (int i = 0; i < 4; ++i)
        halves[i] = _mm512_add_epi32(_mm512_shuffle_i64x2(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                                     _mm512_shuffle_i64x2(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int j = 0; j < 2; ++j)
        quarters[j] = _mm512_add_epi32(_mm512_shuffle_i64x2(halves[2 * j], halves[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_i64x2(halves[2 * j], halves[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// The totals of sixteen 16-lane vectors, v[4t + g] for token t and group g: lane t of the
// result's 128-bit part g is Σ v[4t + g]. Adds pairs of vectors in four transposing steps
// (45 operations for the sixteen, against about 80 reducing each token's groups by itself): full
// Q4_K tiles of a 12-token batch (896 × 4864, 2 threads) measured 116–123 → 136–143 GFLOP/s.
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

// Fetches the lines `ahead` bytes past a weight block as it is read: the prefetchers of Sapphire
// Rapids alone streamed the K formats' one-token rows at about 13 GB/s (see the K row panels).
KERNEL void prefetch_block(const void *block, size_t block_bytes, size_t ahead) {
    for (size_t line = 0; line < block_bytes; line += 64) _mm_prefetch((const char *)block + ahead + line, _MM_HINT_T0);
}

// One Q4_K (is_q5 = 0) or Q5_K super-block's weights: its four 64-value groups as unsigned bytes,
// each group's scales as 16-bit words (words 0..15 take scale 2g, 16..31 scale 2g+1), d and dmin,
// and the packed mins.
typedef struct {
    __m512i values[4], scales[4];
    float d_dmin[2];
    uint64_t min_bytes;
} k4_k5_block;

KERNEL k4_k5_block k4_k5_decode(const uint8_t *bytes, int is_q5) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f);
    const __m512i pick[4] = {
        _mm512_set_epi16(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2),
        _mm512_set_epi16(5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4),
        _mm512_set_epi16(7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6),
    };
    k4_k5_block block;
    uint16_t weight_halves[2];
    memcpy(weight_halves, bytes, 4);
    halves_to_floats(weight_halves[0], weight_halves[1], block.d_dmin);
    uint64_t scale_bytes;
    k4_scales_mins(bytes + 4, &scale_bytes, &block.min_bytes);
    const __m512i scale_words = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)scale_bytes)));
    const uint8_t *q4 = bytes + 16 + (is_q5 ? 32 : 0);
    // Bit k of qh[l] is the fifth bit of value 32k + l; shifted down two planes per group.
    __m256i high_bits = is_q5 ? _mm256_loadu_si256((const __m256i *)(bytes + 16)) : _mm256_setzero_si256();
    for (int group = 0; group < 4; ++group) {
        const __m256i packed = _mm256_loadu_si256((const __m256i *)(q4 + 32 * group));
        __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(packed, low_mask)),
                                       _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask), 1);
        if (is_q5) {
            const __mmask64 fifth = (__mmask64)(uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(high_bits, 7)) |
                                    (__mmask64)(uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(high_bits, 6)) << 32;
            x = _mm512_mask_add_epi8(x, fifth, x, _mm512_set1_epi8(16));
            high_bits = _mm256_srli_epi16(high_bits, 2);
        }
        block.values[group] = x;
        block.scales[group] = _mm512_permutexvar_epi16(pick[group], scale_words);
    }
    return block;
}

// Σ scale·q·y of each 64-value group of a super-block against one token's block.
KERNEL void k4_k5_group_sums(const k4_k5_block *w, const block_q8_K *a, __m512i groups[4]) {
    for (int group = 0; group < 4; ++group) {
        const __m512i y = _mm512_loadu_si512((const void *)(a->qs + 64 * group));
        groups[group] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w->values[group], y), w->scales[group]);
    }
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

// One Q6_K super-block's weights: per half, values 0..63 and 64..127 as unsigned bytes 0..63 (value
// q − 32 with q here), each 128-bit lane one 16-value sub-block with its scale in 16-bit words;
// the sixteen scales as words; d.
typedef struct {
    __m512i values[4], scales[4];
    __m256i scale_words;
    float d;
} q6_K_weights;

KERNEL q6_K_weights q6_K_decode(const block_q6_K *w) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f), two_bits = _mm256_set1_epi8(0x03);
    q6_K_weights block;
    block.scale_words = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w->scales));
    block.d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(w->d)));
    for (int half = 0; half < 2; ++half) {
        const uint8_t *ql = w->ql + 64 * half, *qh = w->qh + 32 * half;
        const int8_t *sc = w->scales + 8 * half;
        const __m256i low0 = _mm256_loadu_si256((const __m256i *)ql);
        const __m256i low1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        const __m256i high = _mm256_loadu_si256((const __m256i *)qh);
        const __m256i q0 = _mm256_or_si256(_mm256_and_si256(low0, low_mask), _mm256_slli_epi16(_mm256_and_si256(high, two_bits), 4));
        const __m256i q1 = _mm256_or_si256(_mm256_and_si256(low1, low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 2), two_bits), 4));
        const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low0, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 4), two_bits), 4));
        const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low1, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 6), two_bits), 4));
        block.values[2 * half] = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
        block.values[2 * half + 1] = _mm512_inserti64x4(_mm512_castsi256_si512(q2), q3, 1);
        block.scales[2 * half] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(sc[1]), _mm_set1_epi16(sc[0]))),
                                                    _mm256_set_m128i(_mm_set1_epi16(sc[3]), _mm_set1_epi16(sc[2])), 1);
        block.scales[2 * half + 1] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(sc[5]), _mm_set1_epi16(sc[4]))),
                                                        _mm256_set_m128i(_mm_set1_epi16(sc[7]), _mm_set1_epi16(sc[6])), 1);
    }
    return block;
}

// llama.cpp's eight lanes of Σ scale·(q − 32)·y for a super-block against one token's block: lane l
// takes bytes 4l..4l+3 of every 32 values.
KERNEL __m256i q6_K_lanes(const q6_K_weights *w, const block_q8_K *a) {
    __m512i sums = _mm512_setzero_si512();
    for (int k = 0; k < 4; ++k) {
        sums = _mm512_dpwssd_epi32(sums, _mm512_maddubs_epi16(w->values[k], _mm512_loadu_si512((const void *)(a->qs + 64 * k))), w->scales[k]);
    }
    // Σ scale·(q − 32)·y = Σ scale·q·y − 32·Σ scale·bsum.
    const __m256i offsets = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a->bsums), w->scale_words);
    const __m256i lanes = _mm256_add_epi32(_mm512_castsi512_si256(sums), _mm512_extracti64x4_epi64(sums, 1));
    return _mm256_sub_epi32(lanes, _mm256_slli_epi32(offsets, 5));
}

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

// Row panels of the K formats: a one-token product's rows in lockstep, super-block b of every row
// before super-block b + 1, each row's bytes K_PREFETCH_AHEAD further on fetched as its block is
// read. multiply_rows gives a panel rows far apart (streams), so these are eight sequential reads.
// Q4_K and Q5_K keep the eight rows' scalar chains of the one-token order side by side, lane r for
// row r (the same float operations, so the same bits), and reduce the rows' super-block totals
// together instead of one row at a time. Sapphire Rapids, 2 threads, 896 × 4864 (Qwen's
// ffn_down), GB/s against the row-by-row panels of adjacent rows: Q4_K with a 5 MB working set
// 22.0 → 33.8, from memory (700 MB of matrices) 19.0–22.2 → 18.0–24.4, Q5_K 21.0–21.3 →
// 22.5–23.6. Q6_K, whose chains are vectors already, reads as fast either way (19.9–23.5 against
// 22.8–23.9).
#define K_PREFETCH_AHEAD 4096

// Lane r of the result: Σ of the four dwords in 128-bit lane r % 4 of (r < 4 ? low : high).
KERNEL __m256i four_lane_totals(__m512i low, __m512i high) {
    const __m512i pairs = _mm512_add_epi32(_mm512_unpacklo_epi32(low, high), _mm512_unpackhi_epi32(low, high));
    const __m512i sums = _mm512_add_epi32(pairs, _mm512_shuffle_epi32(pairs, _MM_PERM_BADC));
    // 128-bit lane k of sums: row k, row 4 + k, twice.
    return _mm512_castsi512_si256(_mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0), sums));
}

// Lane r of the result: Σ of v[r]'s sixteen lanes (a reduction tree of 23 operations for the eight).
KERNEL __m256i eight_totals(const __m512i v[8]) {
    __m512i quarters[2];
    lane_quarters(v, quarters);
    return four_lane_totals(quarters[0], quarters[1]);
}

KERNEL void k4_k5_lockstep(int64_t count, size_t block_bytes, int is_q5, const uint8_t *weights, size_t row_bytes, int rows,
                           const block_q8_K *activation, float *out) {
    enum { ROWS = FORGE_ROW_PANEL_ROWS };
    __m256 sum = _mm256_setzero_ps(), min_total = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const block_q8_K *a = activation + b;
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)a->bsums);
        // Σy of each 32-value sub-block, the pattern repeated in every 128-bit lane.
        const __m512i sub_block_sums = _mm512_broadcast_i32x4(_mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1)));
        __m512i totals[ROWS];
        uint64_t mins[ROWS];
        uint32_t halves[ROWS];
        for (int r = 0; r < ROWS; ++r) {
            // Rows past the panel repeat its last row; their lanes are never stored.
            const uint8_t *bytes = weights + (size_t)(r < rows ? r : rows - 1) * row_bytes + (size_t)b * block_bytes;
            prefetch_block(bytes, block_bytes, K_PREFETCH_AHEAD);
            const k4_k5_block w = k4_k5_decode(bytes, is_q5);
            __m512i groups[4];
            k4_k5_group_sums(&w, a, groups);
            totals[r] = _mm512_add_epi32(_mm512_add_epi32(groups[0], groups[1]), _mm512_add_epi32(groups[2], groups[3]));
            mins[r] = w.min_bytes;
            memcpy(&halves[r], bytes, 4);
        }
        const __m512i min_words_low = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)mins));
        const __m512i min_words_high = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(mins + 4)));
        const __m256i min_totals = four_lane_totals(_mm512_madd_epi16(min_words_low, sub_block_sums), _mm512_madd_epi16(min_words_high, sub_block_sums));
        // Lanes 2r, 2r + 1: row r's d and dmin.
        const __m512 d_dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)halves));
        const __m256 token_d = _mm256_set1_ps(a->d);
        const __m256 d = _mm256_mul_ps(_mm512_castps512_ps256(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0), d_dmin)), token_d);
        const __m256 dmin = _mm256_mul_ps(_mm512_castps512_ps256(_mm512_permutexvar_ps(_mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0), d_dmin)), token_d);
        sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(eight_totals(totals)), d, sum);
        min_total = _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_totals), dmin, min_total);
    }
    _mm256_mask_storeu_ps(out, (__mmask8)((1u << rows) - 1), _mm256_sub_ps(sum, min_total));
}
#define K4_K5_ROW_PANEL(name, is_q5)                                                                                   \
    AVX512 static void row_panel_##name(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activation, \
                                        const float *scales, float *out) {                                             \
        (void)scales;                                                                                                  \
        k4_k5_lockstep(count, sizeof(block_##name), is_q5, weights, row_bytes, rows, activation, out);                 \
    }
K4_K5_ROW_PANEL(q4_K, 0)
K4_K5_ROW_PANEL(q5_K, 1)

AVX512 static void row_panel_q6_K(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activation,
                                  const float *scales, float *out) {
    (void)scales;
    const block_q8_K *activations = activation;
    __m256 acc[FORGE_ROW_PANEL_ROWS];
    for (int r = 0; r < rows; ++r) acc[r] = _mm256_setzero_ps();
    for (int64_t b = 0; b < count / QK_K; ++b) {
        const block_q8_K *a = activations + b;
        for (int r = 0; r < rows; ++r) {
            const block_q6_K *w = (const block_q6_K *)((const uint8_t *)weights + (size_t)r * row_bytes) + b;
            prefetch_block(w, sizeof(block_q6_K), K_PREFETCH_AHEAD);
            const q6_K_weights block = q6_K_decode(w);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(a->d * block.d), _mm256_cvtepi32_ps(q6_K_lanes(&block, a)), acc[r]);
        }
    }
    for (int r = 0; r < rows; ++r) out[r] = sum_lanes(acc[r]);
}

// Lane panels: tokens across the vector lanes (llama.cpp's tiled kernel layout), so a row's four
// values, broadcast, meet sixteen tokens in one vpdpbusd and no sum ever crosses lanes. Rows are
// decoded to unsigned bytes once per super-block for every token group; each lane then takes the
// wide tile's steps: the integer total of the super-block, r = (float)total · d_x, then
// sum = fma(r, d_y, sum). Measured through forge_matmul on 896 × 4864 (Qwen's ffn_down), 512
// tokens, 2 threads, Zen 4, GFLOP/s, four alternating pairs: Q6_K wide tile 136–151 → 388–513,
// Q4_K tiles 128–141 → 301–305, Q5_K tiles 112–113 → 276–292. The Q4_K/Q5_K panel loads a
// step's codes once per row: once for all eight rows, as the Q6_K panel does, measured 10–20%
// slower there (two more sets of eight accumulators).

// Row `w`'s 256 values as unsigned bytes 0..63 (value q − 32 with q here), in value order.
KERNEL void q6_K_unsigned_values(const block_q6_K *w, uint8_t values[QK_K]) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f), two_bits = _mm256_set1_epi8(0x03);
    for (int half = 0; half < 2; ++half) {
        const uint8_t *ql = w->ql + 64 * half, *qh = w->qh + 32 * half;
        const __m256i low0 = _mm256_loadu_si256((const __m256i *)ql);
        const __m256i low1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        const __m256i high = _mm256_loadu_si256((const __m256i *)qh);
        uint8_t *out = values + 128 * half;
        _mm256_storeu_si256((__m256i *)out, _mm256_or_si256(_mm256_and_si256(low0, low_mask), _mm256_slli_epi16(_mm256_and_si256(high, two_bits), 4)));
        _mm256_storeu_si256((__m256i *)(out + 32), _mm256_or_si256(_mm256_and_si256(low1, low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 2), two_bits), 4)));
        _mm256_storeu_si256((__m256i *)(out + 64), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low0, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 4), two_bits), 4)));
        _mm256_storeu_si256((__m256i *)(out + 96), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(low1, 4), low_mask), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 6), two_bits), 4)));
    }
}

AVX512 static void lane_panel_q6_K(int64_t count, const void *weights, size_t row_bytes, int rows, const void *lanes,
                                   int groups, int tokens, float *out, size_t out_stride) {
    const forge_lane_block *activations = lanes;
    enum { ROWS = FORGE_LANE_PANEL_ROWS };
    const int64_t blocks = count / QK_K;
    _Alignas(64) uint8_t values[ROWS][QK_K];
    __m512 sums[FORGE_LANE_PANEL_GROUPS][ROWS];
    for (int g = 0; g < groups; ++g)
        for (int r = 0; r < ROWS; ++r) sums[g][r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        int32_t scales[ROWS][QK_K / 16];
        __m512 weight_d[ROWS];
        for (int r = 0; r < ROWS; ++r) {
            // Rows past the panel repeat its last row; their lanes are never stored.
            const block_q6_K *w = (const block_q6_K *)((const uint8_t *)weights + (size_t)(r < rows ? r : rows - 1) * row_bytes) + b;
            q6_K_unsigned_values(w, values[r]);
            for (int s = 0; s < QK_K / 16; ++s) scales[r][s] = w->scales[s];
            weight_d[r] = _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(w->d))));
        }
        for (int g = 0; g < groups; ++g) {
            const forge_lane_block *a = activations + (size_t)g * (size_t)blocks + b;
            __m512i totals[ROWS];
            for (int r = 0; r < ROWS; ++r) totals[r] = _mm512_setzero_si512();
            for (int s = 0; s < QK_K / 16; ++s) {
                // Σ scale·(q − 32)·y = Σ scale·(Σ q·y − 32·Σ y) per 16-value sub-block.
                const __m512i offsets = _mm512_slli_epi32(_mm512_load_si512((const void *)a->sums[s]), 5);
                __m512i raw[ROWS];
                for (int r = 0; r < ROWS; ++r) raw[r] = _mm512_setzero_si512();
                for (int k = 0; k < 4; ++k) {
                    const __m512i codes = _mm512_load_si512((const void *)a->codes[4 * s + k]);
                    for (int r = 0; r < ROWS; ++r) {
                        int32_t four;
                        memcpy(&four, values[r] + 16 * s + 4 * k, 4);
                        raw[r] = _mm512_dpbusd_epi32(raw[r], _mm512_set1_epi32(four), codes);
                    }
                }
                for (int r = 0; r < ROWS; ++r)
                    totals[r] = _mm512_add_epi32(totals[r], _mm512_mullo_epi32(_mm512_sub_epi32(raw[r], offsets), _mm512_set1_epi32(scales[r][s])));
            }
            const __m512 token_d = _mm512_load_ps(a->d);
            for (int r = 0; r < ROWS; ++r)
                sums[g][r] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(totals[r]), weight_d[r]), token_d, sums[g][r]);
        }
    }
    for (int g = 0; g < groups; ++g) {
        const int group_tokens = tokens - g * FORGE_LANE_TOKENS < FORGE_LANE_TOKENS ? tokens - g * FORGE_LANE_TOKENS : FORGE_LANE_TOKENS;
        for (int r = 0; r < rows; ++r) {
            float lanes[FORGE_LANE_TOKENS];
            _mm512_storeu_ps(lanes, sums[g][r]);
            for (int t = 0; t < group_tokens; ++t) out[(size_t)(g * FORGE_LANE_TOKENS + t) * out_stride + r] = lanes[t];
        }
    }
}

// A Q4_K (is_q5 = 0) or Q5_K row's 256 values as unsigned bytes, in value order.
KERNEL void k4_k5_unsigned_values(const uint8_t *block, int is_q5, uint8_t values[QK_K]) {
    const __m256i low_mask = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    const uint8_t *q4 = block + 16 + (is_q5 ? 32 : 0);
    const __m256i high_bits = is_q5 ? _mm256_loadu_si256((const __m256i *)(block + 16)) : _mm256_setzero_si256();
    for (int group = 0; group < 4; ++group) {
        const __m256i packed = _mm256_loadu_si256((const __m256i *)(q4 + 32 * group));
        __m256i low = _mm256_and_si256(packed, low_mask), high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
        if (is_q5) {
            low = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high_bits, 2 * group), one), 4));
            high = _mm256_or_si256(high, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high_bits, 2 * group + 1), one), 4));
        }
        _mm256_storeu_si256((__m256i *)(values + 64 * group), low);
        _mm256_storeu_si256((__m256i *)(values + 64 * group + 32), high);
    }
}

// The GEMM order of k4_k5_tokens in every lane: per 64 values sum = fma((float)Σ scale·q·y,
// d_x·d_y, sum) and mins = fma((float)Σ min·Σy, dmin_x·d_y, mins), result sum − mins.
KERNEL void k4_k5_lanes(int64_t count, size_t block_bytes, int is_q5, const void *weights, size_t row_bytes, int rows,
                        const forge_lane_block *activations, int groups, int tokens, float *out, size_t out_stride) {
    enum { ROWS = FORGE_LANE_PANEL_ROWS };
    const int64_t blocks = count / QK_K;
    _Alignas(64) uint8_t values[ROWS][QK_K];
    __m512 sums[FORGE_LANE_PANEL_GROUPS][ROWS], mins[FORGE_LANE_PANEL_GROUPS][ROWS];
    for (int g = 0; g < groups; ++g)
        for (int r = 0; r < ROWS; ++r) sums[g][r] = mins[g][r] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
        uint8_t scales[ROWS][8], min_values[ROWS][8];
        float weight_d[ROWS], weight_dmin[ROWS];
        for (int r = 0; r < ROWS; ++r) {
            // Rows past the panel repeat its last row; their lanes are never stored.
            const uint8_t *block = (const uint8_t *)weights + (size_t)(r < rows ? r : rows - 1) * row_bytes + (size_t)b * block_bytes;
            k4_k5_unsigned_values(block, is_q5, values[r]);
            uint16_t halves[2];
            memcpy(halves, block, 4);
            float d_dmin[2];
            halves_to_floats(halves[0], halves[1], d_dmin);
            weight_d[r] = d_dmin[0], weight_dmin[r] = d_dmin[1];
            uint64_t scale_bytes, min_bytes;
            k4_scales_mins(block + 4, &scale_bytes, &min_bytes);
            memcpy(scales[r], &scale_bytes, 8);
            memcpy(min_values[r], &min_bytes, 8);
        }
        for (int g = 0; g < groups; ++g) {
            const forge_lane_block *a = activations + (size_t)g * (size_t)blocks + b;
            const __m512 token_d = _mm512_load_ps(a->d);
            for (int r = 0; r < ROWS; ++r) {
                const __m512 d = _mm512_mul_ps(_mm512_set1_ps(weight_d[r]), token_d);
                const __m512 dmin = _mm512_mul_ps(_mm512_set1_ps(weight_dmin[r]), token_d);
                for (int group = 0; group < 4; ++group) {
                    __m512i total = _mm512_setzero_si512(), min_total = _mm512_setzero_si512();
                    for (int half = 0; half < 2; ++half) {
                        const int sub_block = 2 * group + half;
                        __m512i raw = _mm512_setzero_si512();
                        for (int k = 0; k < 8; ++k) {
                            int32_t four;
                            memcpy(&four, values[r] + 32 * sub_block + 4 * k, 4);
                            raw = _mm512_dpbusd_epi32(raw, _mm512_set1_epi32(four), _mm512_load_si512((const void *)a->codes[8 * sub_block + k]));
                        }
                        const __m512i token_sums = _mm512_add_epi32(_mm512_load_si512((const void *)a->sums[2 * sub_block]),
                                                                    _mm512_load_si512((const void *)a->sums[2 * sub_block + 1]));
                        total = _mm512_add_epi32(total, _mm512_mullo_epi32(raw, _mm512_set1_epi32(scales[r][sub_block])));
                        min_total = _mm512_add_epi32(min_total, _mm512_mullo_epi32(token_sums, _mm512_set1_epi32(min_values[r][sub_block])));
                    }
                    sums[g][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), d, sums[g][r]);
                    mins[g][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(min_total), dmin, mins[g][r]);
                }
            }
        }
    }
    for (int g = 0; g < groups; ++g) {
        const int group_tokens = tokens - g * FORGE_LANE_TOKENS < FORGE_LANE_TOKENS ? tokens - g * FORGE_LANE_TOKENS : FORGE_LANE_TOKENS;
        for (int r = 0; r < rows; ++r) {
            float lanes[FORGE_LANE_TOKENS];
            _mm512_storeu_ps(lanes, _mm512_sub_ps(sums[g][r], mins[g][r]));
            for (int t = 0; t < group_tokens; ++t) out[(size_t)(g * FORGE_LANE_TOKENS + t) * out_stride + r] = lanes[t];
        }
    }
}

AVX512 static void lane_panel_q4_K(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activations,
                                   int groups, int tokens, float *out, size_t out_stride) {
    k4_k5_lanes(count, sizeof(block_q4_K), 0, weights, row_bytes, rows, activations, groups, tokens, out, out_stride);
}

AVX512 static void lane_panel_q5_K(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activations,
                                   int groups, int tokens, float *out, size_t out_stride) {
    k4_k5_lanes(count, sizeof(block_q5_K), 1, weights, row_bytes, rows, activations, groups, tokens, out, out_stride);
}

// The float formats keep one 16-lane accumulator per (row, token), stepping 16 values at a time,
// and end in _mm512_reduce_add_ps: the order of llama.cpp's tinyBLAS (llamafile sgemm), which
// its x86 CPU backend takes for F32/F16 products of two or more tokens (every token of such a batch,
// the leftover ones included); one-token products take `single_dot` below, as llama.cpp does.
// Sixteen weights from `row` at `index` (f16 or f32), `mask` choosing the lanes read.
KERNEL __m512 float_weights(int is_f16, const uint8_t *row, int64_t index, __mmask16 mask) {
    return is_f16 ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (const uint16_t *)row + index))
                  : _mm512_maskz_loadu_ps(mask, (const float *)row + index);
}

// The same sixteen weights all read, without a mask: the loops that stream many rows take this
// for every full step (masked loads cost F16/F32 panels a fifth of their speed on Zen 4).
KERNEL __m512 float_vector(int is_f16, const uint8_t *row, int64_t index) {
    return is_f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + index)))
                  : _mm512_loadu_ps((const float *)row + index);
}

KERNEL __mmask16 tail_mask(int64_t remaining) { return (__mmask16)(remaining >= 16 ? 0xffff : (1u << remaining) - 1); }

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

// Float panels: FORGE_PANEL_ROWS (4) rows × up to 6 tokens, as tinyBLAS tiles them on AVX-512:
// 24 accumulators, so each 16-value step loads 10 vectors for 24 multiply-adds where the one-row
// tile loads 5 for 4. Each (row, token) keeps its own chain, so the block shape leaves the bits
// alone. F16 panels read f32 rows of the activations rounded to f16 (round_to_f16, once per
// matrix product), so a step converts the 4 rows' weights but not the 6 tokens' activations:
// Qwen F16 pp512 on Sapphire Rapids 186-199 (f16 rows) → 231-233 t/s (two A/B rounds); on Zen 4
// within noise of each other (f32 copy 211-218 against f16 rows 224-230, then 217-241 against
// 207-227). 2 rows × 12 tokens (2 conversions per 24 products) measured slower on Sapphire
// Rapids: 108-114 against 110-126 GFLOP/s for one thread (64 rows × 24 tokens, 576 to 4864 columns).
// Measured (2 threads, 512 tokens, the seven products of a Qwen2.5-0.5B layer): 4 × 4 blocks with
// masked loads F16 138, F32 142 GFLOP/s; 4 × 6 blocks and unmasked full steps F16 178, F32 171.

#define FLOAT_BLOCK_TOKENS 6

AVX512 static void round_to_f16(const float *x, void *destination, int64_t count) {
    float *rounded = destination;
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        _mm512_storeu_ps(rounded + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    }
    for (; i < count; ++i) rounded[i] = f16_to_f32(f32_to_f16(x[i]));
}

// _mm512_reduce_add_ps of four vectors at once, in its order (lanes i + (i + 8), then + (i + 4),
// + (i + 2), + (i + 1)), each level's additions for all four in one or two instructions. F32
// panels, one thread, 64 rows × 24 tokens, Sapphire Rapids: 576 columns 139 → 154 GFLOP/s, 896
// 149 → 160, 4864 unchanged (141), against 24 separate reductions per block.
KERNEL __m128 reduce_four(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(3, 2, 3, 2)));
    // ab: a's eight sums, then b's; the quarters of the next level, one row per 128-bit lane.
    const __m512 quads = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(ab, cd, _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512 pairs = _mm512_add_ps(quads, _mm512_permute_ps(quads, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m512 sums = _mm512_add_ps(pairs, _mm512_permute_ps(pairs, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), sums));
}

// One 16-value step of a float block: the rows' weights, then each token's activations against them.
KERNEL void float_block_step(int is_f16, int tokens, const uint8_t *first, size_t row_bytes, const uint8_t *activations,
                             size_t stride, int64_t index, __mmask16 mask, __m512 acc[FLOAT_BLOCK_TOKENS][FORGE_PANEL_ROWS]) {
    __m512 x[FORGE_PANEL_ROWS];
    for (int r = 0; r < FORGE_PANEL_ROWS; ++r) {
        const uint8_t *row = first + (size_t)r * row_bytes;
        x[r] = mask == 0xffff ? float_vector(is_f16, row, index) : float_weights(is_f16, row, index, mask);
    }
    for (int t = 0; t < tokens; ++t) {
        const float *activation = (const float *)(activations + (size_t)t * stride) + index;
        const __m512 a = mask == 0xffff ? _mm512_loadu_ps(activation) : _mm512_maskz_loadu_ps(mask, activation);
        for (int r = 0; r < FORGE_PANEL_ROWS; ++r) acc[t][r] = _mm512_fmadd_ps(x[r], a, acc[t][r]);
    }
}

// `tokens` (1...FLOAT_BLOCK_TOKENS, a constant wherever this is inlined) against the panel's rows.
KERNEL void float_block(int is_f16, int tokens, int64_t count, const uint8_t *first, size_t row_bytes, const uint8_t *activations,
                        size_t stride, float *out, size_t out_stride) {
    __m512 acc[FLOAT_BLOCK_TOKENS][FORGE_PANEL_ROWS];
    for (int t = 0; t < tokens; ++t)
        for (int r = 0; r < FORGE_PANEL_ROWS; ++r) acc[t][r] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) float_block_step(is_f16, tokens, first, row_bytes, activations, stride, i, 0xffff, acc);
    if (i < count) float_block_step(is_f16, tokens, first, row_bytes, activations, stride, i, tail_mask(count - i), acc);
    for (int t = 0; t < tokens; ++t)
        _mm_storeu_ps(out + (size_t)t * out_stride, reduce_four(acc[t][0], acc[t][1], acc[t][2], acc[t][3]));
}

#define FLOAT_BLOCK_CASE(is_f16, n)                                                                                    \
    case n: float_block(is_f16, n, count, weights, row_bytes, block, stride, out + (size_t)t * out_stride, out_stride); break
#define FLOAT_PANEL(name, is_f16)                                                                                      \
    AVX512 static void panel_##name(int64_t count, const void *weights, size_t row_bytes, const void *activations,     \
                                    size_t stride, const float *group_scales, int tokens, float *out, size_t out_stride) { \
        (void)group_scales;                                                                                            \
        for (int t = 0; t < tokens; t += FLOAT_BLOCK_TOKENS) {                                                         \
            const uint8_t *block = (const uint8_t *)activations + (size_t)t * stride;                                  \
            switch (tokens - t < FLOAT_BLOCK_TOKENS ? tokens - t : FLOAT_BLOCK_TOKENS) {                               \
                FLOAT_BLOCK_CASE(is_f16, 1);                                                                           \
                FLOAT_BLOCK_CASE(is_f16, 2);                                                                           \
                FLOAT_BLOCK_CASE(is_f16, 3);                                                                           \
                FLOAT_BLOCK_CASE(is_f16, 4);                                                                           \
                FLOAT_BLOCK_CASE(is_f16, 5);                                                                           \
                FLOAT_BLOCK_CASE(is_f16, 6);                                                                           \
            }                                                                                                          \
        }                                                                                                              \
    }
FLOAT_PANEL(f16, 1)
FLOAT_PANEL(f32, 0)

// One-token float products follow ggml_vec_dot_f32/f16, which llama.cpp takes when a batch is a
// single token (its tinyBLAS declines n < 2): four 16-lane accumulators over 64-value steps,
// combined (0 + 2, 1 + 3, then the two) and _mm512_reduce_add_ps'd, then the count % 64 values
// left over one by one, each product rounded to f32 and added (unfused, as its build adds them) in
// f32 for F32 and in double for F16, whose sum is a ggml_float. Four chains and unmasked loads
// also stream faster than the tile's single masked chain.
#define SINGLE_STEP 64
#define SINGLE_CHAINS 4

KERNEL float float_value(int is_f16, const uint8_t *row, int64_t index) {
    return is_f16 ? f16_to_f32(((const uint16_t *)row)[index]) : ((const float *)row)[index];
}

KERNEL float finish_single(int is_f16, const __m512 chains[SINGLE_CHAINS], int64_t count, const uint8_t *row,
                           const uint8_t *activation) {
    const float reduced = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(chains[0], chains[2]), _mm512_add_ps(chains[1], chains[3])));
    double wide_sum = reduced;  // F16: a ggml_float
    float sum = reduced;        // F32
    for (int64_t i = count - count % SINGLE_STEP; i < count; ++i) {
        const float product = float_value(is_f16, row, i) * float_value(is_f16, activation, i);
        if (is_f16) {
            wide_sum += product;
        } else {
            sum += product;
        }
    }
    return is_f16 ? (float)wide_sum : sum;
}

// `rows` (1...SINGLE_ROWS) rows `row_bytes` apart against one activation row; `prefetch_rows` ahead
// of each row is fetched as it is read (0: none).
#define SINGLE_ROWS 4
KERNEL void single_rows(int is_f16, int rows, int64_t count, const uint8_t *first, size_t row_bytes, const uint8_t *activation,
                        int prefetch_rows, float *out) {
    const size_t step_bytes = SINGLE_STEP * (is_f16 ? sizeof(uint16_t) : sizeof(float));
    __m512 chains[SINGLE_ROWS][SINGLE_CHAINS];
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < SINGLE_CHAINS; ++c) chains[r][c] = _mm512_setzero_ps();
    const int64_t full = count - count % SINGLE_STEP;
    for (int64_t i = 0; i < full; i += SINGLE_STEP) {
        __m512 a[SINGLE_CHAINS];
        for (int c = 0; c < SINGLE_CHAINS; ++c) a[c] = float_vector(is_f16, activation, i + 16 * c);
        for (int r = 0; r < rows; ++r) {
            const uint8_t *row = first + (size_t)r * row_bytes;
            if (prefetch_rows) {
                const uint8_t *ahead = row + (size_t)prefetch_rows * row_bytes + (size_t)i / SINGLE_STEP * step_bytes;
                for (size_t line = 0; line < step_bytes; line += 64) _mm_prefetch((const char *)ahead + line, _MM_HINT_T0);
            }
            for (int c = 0; c < SINGLE_CHAINS; ++c) chains[r][c] = _mm512_fmadd_ps(float_vector(is_f16, row, i + 16 * c), a[c], chains[r][c]);
        }
    }
    for (int r = 0; r < rows; ++r) out[r] = finish_single(is_f16, chains[r], count, first + (size_t)r * row_bytes, activation);
}

#define FLOAT_SINGLE(name, is_f16)                                                                                     \
    AVX512 static float single_##name(int64_t count, const void *weights, const void *activation) {                  \
        float result;                                                                                                  \
        single_rows(is_f16, 1, count, weights, 0, activation, 0, &result);                                             \
        return result;                                                                                                 \
    }
FLOAT_SINGLE(f16, 1)
FLOAT_SINGLE(f32, 0)

// Float row panels: the rows of a one-token product SINGLE_ROWS at a time in the order above, each
// activation vector loaded (and converted) once for all of them, the next rows prefetched as the
// quantized row panels do. Measured before the order changed (Sapphire Rapids, 896 columns, 117 MB
// streamed by 2 threads, 8 rows of one chain each): F16 12.1 GB/s row by row, 20.2 GB/s in panels.
#define FLOAT_ROW_PANEL(name, is_f16)                                                                                  \
    AVX512 static void row_panel_##name(int64_t count, const void *weights, size_t row_bytes, int rows, const void *activation, \
                                        const float *scales, float *out) {                                             \
        (void)scales;                                                                                                  \
        int r = 0;                                                                                                     \
        for (; r + SINGLE_ROWS <= rows; r += SINGLE_ROWS) {                                                            \
            single_rows(is_f16, SINGLE_ROWS, count, (const uint8_t *)weights + (size_t)r * row_bytes, row_bytes, activation, \
                        FORGE_ROW_PANEL_ROWS, out + r);                                                                \
        }                                                                                                              \
        for (; r < rows; ++r) {                                                                                        \
            single_rows(is_f16, 1, count, (const uint8_t *)weights + (size_t)r * row_bytes, row_bytes, activation, 0, out + r); \
        }                                                                                                              \
    }
FLOAT_ROW_PANEL(f16, 1)
FLOAT_ROW_PANEL(f32, 0)

#define WITH_TILE(type, name) .dot[type] = dot_##name, .tile[type] = tile_##name
#define WITH_PANEL(type, name) WITH_TILE(type, name), .panel[type] = panel_##name
#define WITH_PANELS(type, name) WITH_PANEL(type, name), .row_panel[type] = row_panel_##name
#define WITH_STREAM_PANELS(type, name) WITH_PANELS(type, name), .row_panel_streams[type] = 1

const forge_kernel_table forge_avx512_kernels = {
    WITH_PANELS(FORGE_TYPE_F32, f32),
    WITH_PANELS(FORGE_TYPE_F16, f16),
    .single_dot[FORGE_TYPE_F32] = single_f32,
    .single_dot[FORGE_TYPE_F16] = single_f16,
    .panel_activations[FORGE_TYPE_F16] = round_to_f16,
    // tinyBLAS blocks 6-token tiles by twelve: 12, 24, 48 and 96 measured within noise of each
    // other, 24 best by a little.
    .float_panel_tokens = 24,
    WITH_STREAM_PANELS(FORGE_TYPE_Q4_0, q4_0),
    WITH_STREAM_PANELS(FORGE_TYPE_Q4_1, q4_1),
    WITH_STREAM_PANELS(FORGE_TYPE_Q5_0, q5_0),
    WITH_STREAM_PANELS(FORGE_TYPE_Q5_1, q5_1),
    WITH_STREAM_PANELS(FORGE_TYPE_Q8_0, q8_0),
    WITH_TILE(FORGE_TYPE_Q4_K, q4_K),
    WITH_TILE(FORGE_TYPE_Q5_K, q5_K),
    WITH_TILE(FORGE_TYPE_Q6_K, q6_K),
    .row_panel[FORGE_TYPE_Q4_K] = row_panel_q4_K,
    .row_panel[FORGE_TYPE_Q5_K] = row_panel_q5_K,
    .row_panel[FORGE_TYPE_Q6_K] = row_panel_q6_K,
    .row_panel_streams[FORGE_TYPE_Q4_K] = 1,
    .row_panel_streams[FORGE_TYPE_Q5_K] = 1,
    .row_panel_streams[FORGE_TYPE_Q6_K] = 1,
    .wide_tile[FORGE_TYPE_Q6_K] = wide_tile_q6_K,
    .lane_panel[FORGE_TYPE_Q4_K] = lane_panel_q4_K,
    .lane_panel[FORGE_TYPE_Q5_K] = lane_panel_q5_K,
    .lane_panel[FORGE_TYPE_Q6_K] = lane_panel_q6_K,
    .lane_panel[FORGE_TYPE_Q4_0] = lane_panel_q4_0,
    .lane_panel[FORGE_TYPE_Q4_1] = lane_panel_q4_1,
    .lane_panel[FORGE_TYPE_Q5_0] = lane_panel_q5_0,
    .lane_panel[FORGE_TYPE_Q5_1] = lane_panel_q5_1,
    .lane_panel[FORGE_TYPE_Q8_0] = lane_panel_q8_0,
    .quantize = {
        [FORGE_TYPE_F16] = forge_avx2_convert_f16,
        [FORGE_TYPE_Q8_0] = forge_avx2_quantize_q8_0,
        [FORGE_TYPE_Q8_1] = forge_avx2_quantize_q8_1,
        [FORGE_TYPE_Q8_K] = forge_avx2_quantize_q8_K,
    },
};
#endif
