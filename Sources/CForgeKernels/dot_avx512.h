#ifndef FORGE_DOT_AVX512_H
#define FORGE_DOT_AVX512_H
// What the two AVX-512 files share: the block decoders and reductions of dot_avx512.c (dot
// products, tiles, the table) that the panels of dot_avx512_panels.c reuse, and the panels'
// entry points the table lists.
#include <stddef.h>
#include "formats.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define KERNEL AVX512 static inline __attribute__((always_inline))

// Two 16-byte nibble arrays → 64 bytes in value order: first block's low then high nibbles,
// then the second block's. Each array is loaded twice into its half and the upper copy shifted,
// faster than a cross-lane shuffle.
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
    // block pair.
    __m512i sixteen = _mm512_set1_epi8(16);
    __asm__("" : "+v"(sixteen));
    return _mm512_mask_add_epi8(nibbles, fifth, nibbles, sixteen);
}

// f16(x0) in lanes 0..7 and f16(x1) in lanes 8..15.
AVX512 static inline __m512 half_pair(uint16_t x0, uint16_t x1) {
    const __m128 both = _mm_cvtph_ps(low_lane((uint32_t)x0 | (uint32_t)x1 << 16));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(both));
}

// f16(x0), f16(x1) as two floats.
AVX512 static inline void halves_to_floats(uint16_t x0, uint16_t x1, float out[2]) {
    _mm_store_sd((double *)out, _mm_castps_pd(_mm_cvtph_ps(low_lane((uint32_t)x0 | (uint32_t)x1 << 16))));
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
    block.d = _mm_cvtss_f32(_mm_cvtph_ps(low_lane(w->d)));
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

// Sixteen weights from `row` at `index` (f16 or f32), `mask` choosing the lanes read.
KERNEL __m512 float_weights(int is_f16, const uint8_t *row, int64_t index, __mmask16 mask) {
    return is_f16 ? _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (const uint16_t *)row + index))
                  : _mm512_maskz_loadu_ps(mask, (const float *)row + index);
}

// The same sixteen weights all read, without a mask: the loops that stream many rows take this
// for every full step (masked loads slow the F16/F32 panels down).
KERNEL __m512 float_vector(int is_f16, const uint8_t *row, int64_t index) {
    return is_f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + index)))
                  : _mm512_loadu_ps((const float *)row + index);
}

KERNEL __mmask16 tail_mask(int64_t remaining) { return (__mmask16)(remaining >= 16 ? 0xffff : (1u << remaining) - 1); }

// The entry points of dot_avx512_panels.c, in the kernel table of dot_avx512.c.
#define AVX512_PANEL(name)                                                                                        \
    AVX512 void forge_avx512_panel_##name(int64_t count, const void *weights, size_t row_bytes, const void *activations, \
                                          size_t stride, const float *group_scales, int tokens, float *out, size_t out_stride)
#define AVX512_ROW_PANEL(name)                                                                                    \
    AVX512 void forge_avx512_row_panel_##name(int64_t count, const void *weights, size_t row_bytes, int rows,      \
                                              const void *activation, const float *scales, float *out)
#define AVX512_LANE_PANEL(name)                                                                                   \
    AVX512 void forge_avx512_lane_panel_##name(int64_t count, const void *weights, size_t row_bytes, int rows,     \
                                               const void *activations, int groups, int tokens, float *out, size_t out_stride)
#define AVX512_SINGLE(name) AVX512 float forge_avx512_single_##name(int64_t count, const void *weights, const void *activation)

AVX512_PANEL(q4_0);
AVX512_PANEL(q4_1);
AVX512_PANEL(q5_0);
AVX512_PANEL(q5_1);
AVX512_PANEL(q8_0);
AVX512_PANEL(f16);
AVX512_PANEL(f32);
AVX512_ROW_PANEL(q4_0);
AVX512_ROW_PANEL(q4_1);
AVX512_ROW_PANEL(q5_0);
AVX512_ROW_PANEL(q5_1);
AVX512_ROW_PANEL(q8_0);
AVX512_ROW_PANEL(q4_K);
AVX512_ROW_PANEL(q5_K);
AVX512_ROW_PANEL(q6_K);
AVX512_ROW_PANEL(f16);
AVX512_ROW_PANEL(f32);
AVX512_LANE_PANEL(q4_0);
AVX512_LANE_PANEL(q4_1);
AVX512_LANE_PANEL(q5_0);
AVX512_LANE_PANEL(q5_1);
AVX512_LANE_PANEL(q8_0);
AVX512_LANE_PANEL(q4_K);
AVX512_LANE_PANEL(q5_K);
AVX512_LANE_PANEL(q6_K);
AVX512_SINGLE(f16);
AVX512_SINGLE(f32);
AVX512 void forge_avx512_round_to_f16(const float *x, void *destination, int64_t count);

#endif
#endif
