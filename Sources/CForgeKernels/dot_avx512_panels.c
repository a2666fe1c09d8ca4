// AVX-512 panels: several weight rows (and tokens) per call, each (row, token) bit-identical to the
// dot product or tile of dot_avx512.c it stands in for; and the one-token F32/F16 products.
#include "dot_avx512.h"

#if defined(__x86_64__)

// Panels: FORGE_PANEL_ROWS weight rows × 4 or 8 tokens (one or two full tiles) of a 32-value
// format at once, for prefill and batched decode. A row pair shares a register (row 2p in lanes
// 0..7, row 2p+1 in lanes 8..15) against one token's block broadcast to both halves, so each
// weight block is decoded once for all tokens, each activation block loaded once for all rows,
// and the activation part of a signed format's offset, k·Σy, formed once per token for every
// row. Every (row, token) still accumulates its own 8 lanes block after block with
// fma(d_x·d_y, sums, acc) and ends in sum_lanes, so each result is bit-identical to the dot
// product.
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
    AVX512_PANEL(name) {                                                                                                 \
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
// The eight rows' d (and m) are converted in one instruction, not a pair at a time. Streams are
// fetched 64 blocks ahead (2 KiB of Q8_0 a stream), which reads no slower than 16 or 32.
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
        // step's share of it per step, cheaper than fetching each row's next block (eight
        // prefetches per step, their addresses spilled to the stack).
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
    AVX512_ROW_PANEL(name) {                                                                                           \
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
// product. A row pair is decoded a chunk of blocks at a time, once for all token groups: decoding
// it per group made the lane panels slower than the panels.
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
        *m = _mm_cvtss_f32(_mm_cvtph_ps(low_lane(x->m)));
        bytes = _mm512_castsi512_si256(unpack_nibble_pair(x->qs, x->qs));
        break;
    }
    case PANEL_Q5_1: {
        const block_q5_1 *x = (const void *)block;
        scale = x->d;
        *m = _mm_cvtss_f32(_mm_cvtph_ps(low_lane(x->m)));
        const __m256i nibbles = _mm512_castsi512_si256(unpack_nibble_pair(x->qs, x->qs));
        bytes = _mm256_mask_add_epi8(nibbles, q5_high_bits(x->qh), nibbles, _mm256_set1_epi8(16));
        break;
    }
    }
    *d = _mm_cvtss_f32(_mm_cvtph_ps(low_lane(scale)));
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
    AVX512_LANE_PANEL(name) {                                                                                           \
        lanes_32(format, count, weights, row_bytes, rows, activations, groups, tokens, out, out_stride);                \
    }
LANE_PANEL(q4_0, PANEL_Q4_0)
LANE_PANEL(q4_1, PANEL_Q4_1)
LANE_PANEL(q5_0, PANEL_Q5_0)
LANE_PANEL(q5_1, PANEL_Q5_1)
LANE_PANEL(q8_0, PANEL_Q8_0)

// Fetches the lines `ahead` bytes past a weight block as it is read: the hardware prefetchers
// alone stream the K formats' one-token rows well below the memory's speed.
KERNEL void prefetch_block(const void *block, size_t block_bytes, size_t ahead) {
    for (size_t line = 0; line < block_bytes; line += 64) _mm_prefetch((const char *)block + ahead + line, _MM_HINT_T0);
}

// Row panels of the K formats: a one-token product's rows in lockstep, super-block b of every row
// before super-block b + 1, each row's bytes K_PREFETCH_AHEAD further on fetched as its block is
// read. multiply_rows gives a panel rows far apart (streams), so these are eight sequential reads.
// Q4_K and Q5_K keep the eight rows' scalar chains of the one-token order side by side, lane r for
// row r (the same float operations, so the same bits), and reduce the rows' super-block totals
// together instead of one row at a time. Q6_K, whose chains are vectors already, keeps its rows
// one at a time within each super-block step: reducing them together gains it nothing.
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
    AVX512_ROW_PANEL(name) {                                                                                           \
        (void)scales;                                                                                                  \
        k4_k5_lockstep(count, sizeof(block_##name), is_q5, weights, row_bytes, rows, activation, out);                 \
    }
K4_K5_ROW_PANEL(q4_K, 0)
K4_K5_ROW_PANEL(q5_K, 1)

AVX512_ROW_PANEL(q6_K) {
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
// sum = fma(r, d_y, sum). The Q4_K/Q5_K panel loads a step's codes once per row: loading them
// once for all eight rows, as the Q6_K panel does, needs two more sets of eight accumulators and is slower.

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

AVX512_LANE_PANEL(q6_K) {
    const forge_lane_block *lane_blocks = activations;
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
            weight_d[r] = _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(low_lane(w->d))));
        }
        for (int g = 0; g < groups; ++g) {
            const forge_lane_block *a = lane_blocks + (size_t)g * (size_t)blocks + b;
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

AVX512_LANE_PANEL(q4_K) {
    k4_k5_lanes(count, sizeof(block_q4_K), 0, weights, row_bytes, rows, activations, groups, tokens, out, out_stride);
}

AVX512_LANE_PANEL(q5_K) {
    k4_k5_lanes(count, sizeof(block_q5_K), 1, weights, row_bytes, rows, activations, groups, tokens, out, out_stride);
}

// Float panels: FORGE_PANEL_ROWS (4) rows × up to 6 tokens, as tinyBLAS tiles them on AVX-512:
// 24 accumulators, so each 16-value step loads 10 vectors for 24 multiply-adds where the one-row
// tile loads 5 for 4. Each (row, token) keeps its own chain, so the block shape leaves the bits
// alone. F16 panels read f32 rows of the activations rounded to f16 (forge_avx512_round_to_f16,
// once per matrix product), so a step converts the 4 rows' weights but not the 6 tokens'
// activations. 2 rows × 12 tokens, with half the conversions, is slower; so are 4 × 4 blocks.

#define FLOAT_BLOCK_TOKENS 6

AVX512 void forge_avx512_round_to_f16(const float *x, void *destination, int64_t count) {
    float *rounded = destination;
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        _mm512_storeu_ps(rounded + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    }
    for (; i < count; ++i) rounded[i] = f16_to_f32(f32_to_f16(x[i]));
}

// _mm512_reduce_add_ps of four vectors at once, in its order (lanes i + (i + 8), then + (i + 4),
// + (i + 2), + (i + 1)), each level's additions for all four in one or two instructions: fewer
// than separate reductions, which weigh on panels of short rows.
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
    AVX512_PANEL(name) {                                                                                               \
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
    AVX512_SINGLE(name) {                                                                                              \
        float result;                                                                                                  \
        single_rows(is_f16, 1, count, weights, 0, activation, 0, &result);                                             \
        return result;                                                                                                 \
    }
FLOAT_SINGLE(f16, 1)
FLOAT_SINGLE(f32, 0)

// Float row panels: the rows of a one-token product SINGLE_ROWS at a time in the order above, each
// activation vector loaded (and converted) once for all of them, the next rows prefetched as the
// quantized row panels do.
#define FLOAT_ROW_PANEL(name, is_f16)                                                                                  \
    AVX512_ROW_PANEL(name) {                                                                                           \
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

#endif
