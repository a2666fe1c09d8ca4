// Attention of query rows over one KV head's cached rows, computed in the order of llama.cpp's
// CPU flash attention (its AVX-512 build), so the results are the same to the bit: these models
// turn a last-bit difference into a flipped activation rounding a few layers on.
//
// Two paths, as ggml chooses between them by the number of query rows in the batch:
// - one row at a time (decode, batches under FORGE_ATTENTION_TILE_ROWS): Q rounded to f16, scores
//   by ggml_vec_dot_f16, an online softmax with libm expf, the V accumulator kept in f16;
// - tiles of query rows (longer prompts): scores as a GEMM in f32 (one fused multiply-add chain
//   per score, zero-started), softmax per 64-key tile with ggml_v_expf and a double sum, and the
//   V accumulator in f32 (one fused multiply-add chain per element).
// Each variant below repeats the same operations in the same order; only the vector width differs.
#include <stdlib.h>
#include "vector_math.h"

enum { TILE = FORGE_ATTENTION_TILE_ROWS, KV_TILE = 64 };

// MARK: - Scalar building blocks (every variant's reference)

// Inlined into each caller, so the AVX2 entry points below compile this code with FMA: fmaf is
// then one instruction where baseline x86-64 calls into libm per element.
#define PORTABLE static inline __attribute__((always_inline))

// The four-level pairwise sum _mm512_reduce_add_ps performs: halves added lane by lane.
static inline float reduce16(const float *v) {
    float eight[8], four[4];
    for (int k = 0; k < 8; ++k) eight[k] = v[k + 8] + v[k];
    for (int k = 0; k < 4; ++k) four[k] = eight[k + 4] + eight[k];
    return (four[0] + four[2]) + (four[1] + four[3]);
}

// ggml_vec_dot_f16 of the AVX-512 build: four 16-lane accumulators over steps of 64, folded
// 0+2, 1+3, 0+1, then reduced; the tail in double.
PORTABLE float dot_f16_generic(const uint16_t *a, const uint16_t *b, int64_t count) {
    const int64_t whole = count / 64 * 64;
    float lanes[4][16] = {{0}};
    for (int64_t i = 0; i < whole; i += 64) {
        for (int r = 0; r < 4; ++r) {
            for (int l = 0; l < 16; ++l) {
                lanes[r][l] = fmaf(f16_to_f32(a[i + 16 * r + l]), f16_to_f32(b[i + 16 * r + l]), lanes[r][l]);
            }
        }
    }
    float folded[16];
    for (int l = 0; l < 16; ++l) folded[l] = (lanes[0][l] + lanes[2][l]) + (lanes[1][l] + lanes[3][l]);
    double total = reduce16(folded);
    for (int64_t i = whole; i < count; ++i) total += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)total;
}

// The heads of one group over key/value rows start..<end, each exactly as a lone row would be
// computed (the group only shares the reads): per head the running maximum, the sum of weights
// and the f16 V accumulator widened to f32, not yet divided by the sum (llama.cpp's partials).
PORTABLE void group_generic(const float *queries, int heads, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                            int64_t start, int64_t end, int64_t head_dim, float scale, float *maximum, float *sum, float *weighted) {
    uint16_t q16[heads * head_dim], accumulator[heads * head_dim];
    for (int64_t i = 0; i < heads * head_dim; ++i) {
        q16[i] = f32_to_f16(queries[i]);
        accumulator[i] = 0;
    }
    for (int h = 0; h < heads; ++h) {
        maximum[h] = -INFINITY;
        sum[h] = 0;
    }
    for (int64_t j = start; j < end; ++j) {
        const uint16_t *key = (const uint16_t *)(keys + j * row_bytes);
        const uint16_t *value = (const uint16_t *)(values + j * row_bytes);
        for (int h = 0; h < heads; ++h) {
            uint16_t *acc = accumulator + h * head_dim;
            const float score = dot_f16_generic(q16 + h * head_dim, key, head_dim) * scale;
            float rescale = 1, weight = 1;
            if (score > maximum[h]) {
                rescale = expf(maximum[h] - score);
                maximum[h] = score;
                for (int64_t d = 0; d < head_dim; ++d) acc[d] = f32_to_f16(f16_to_f32(acc[d]) * rescale);
            } else {
                weight = expf(score - maximum[h]);
            }
            for (int64_t d = 0; d < head_dim; ++d) acc[d] = f32_to_f16(fmaf(f16_to_f32(value[d]), weight, f16_to_f32(acc[d])));
            sum[h] = fmaf(sum[h], rescale, weight);
        }
    }
    for (int64_t i = 0; i < heads * head_dim; ++i) weighted[i] = f16_to_f32(accumulator[i]);
}

// MARK: - Tiles

// Scratch of one tile call, in floats: transposed queries, scores (key-major), one K and one V
// tile in f32, the f32 accumulators, running maxima and sums.
typedef struct {
    float *queries;     // [head_dim][TILE]
    float *scores;      // [KV_TILE][TILE]
    float *keys;        // [KV_TILE][head_dim]
    float *values;      // [KV_TILE][head_dim]
    float *accumulator; // [TILE][head_dim]
    float *maximum;     // [TILE]
    float *sum;         // [TILE]
} tile_scratch;

// One block per thread, grown to the largest head size seen and kept: a prompt makes hundreds of
// tile calls per layer, each of which would otherwise allocate and free it.
static _Thread_local float *thread_block;
static _Thread_local size_t thread_block_bytes;

static int tile_scratch_make(tile_scratch *s, int64_t head_dim) {
    const size_t floats = (size_t)(head_dim * TILE + KV_TILE * TILE + 2 * KV_TILE * head_dim + TILE * head_dim + 2 * TILE);
    const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    if (thread_block_bytes < bytes) {
        float *grown = aligned_alloc(64, bytes);
        if (!grown) return -1;
        free(thread_block);
        thread_block = grown;
        thread_block_bytes = bytes;
    }
    float *p = thread_block;
    s->queries = p; p += head_dim * TILE;
    s->scores = p; p += KV_TILE * TILE;
    s->keys = p; p += KV_TILE * head_dim;
    s->values = p; p += KV_TILE * head_dim;
    s->accumulator = p; p += TILE * head_dim;
    s->maximum = p; p += TILE;
    s->sum = p;
    return 0;
}

PORTABLE void load_rows(uint32_t type, const uint8_t *base, size_t row_bytes, int64_t first, int count, int64_t head_dim,
                        float *out) {
    for (int r = 0; r < count; ++r) {
        const uint8_t *row = base + (size_t)(first + r) * row_bytes;
        if (type == FORGE_TYPE_F16) {
            for (int64_t d = 0; d < head_dim; ++d) out[r * head_dim + d] = f16_to_f32(((const uint16_t *)row)[d]);
        } else {
            memcpy(out + r * head_dim, row, (size_t)head_dim * sizeof(float));
        }
    }
}

// The per-row online-softmax step of one key tile, shared by every variant: new maximum,
// rescaling with libm expf, then ggml_vec_soft_max_f32 (16-key chunks, double sum).
PORTABLE void softmax_row_generic(tile_scratch *s, int row, int64_t head_dim) {
    float tile_max = -INFINITY;
    for (int j = 0; j < KV_TILE; ++j) {
        const float x = s->scores[j * TILE + row];
        tile_max = x > tile_max ? x : tile_max;
    }
    if (tile_max == -INFINITY) {
        for (int j = 0; j < KV_TILE; ++j) s->scores[j * TILE + row] = 0;
        return;
    }
    const float previous = s->maximum[row];
    const float maximum = fmaxf(previous, tile_max);
    if (maximum > previous) {
        const float rescale = expf(previous - maximum);
        for (int64_t d = 0; d < head_dim; ++d) s->accumulator[row * head_dim + d] *= rescale;
        s->sum[row] *= rescale;
    }
    s->maximum[row] = maximum;
    double total = 0;
    for (int chunk = 0; chunk < KV_TILE; chunk += 16) {
        float e[16];
        for (int k = 0; k < 16; ++k) {
            e[k] = vector_expf(s->scores[(chunk + k) * TILE + row] - maximum);
            s->scores[(chunk + k) * TILE + row] = e[k];
        }
        total += (double)reduce16(e);
    }
    s->sum[row] = (float)((double)s->sum[row] + total);
}

PORTABLE void finish_rows(const tile_scratch *s, const forge_attention_row *rows, int row_count, int64_t head_dim) {
    for (int r = 0; r < row_count; ++r) {
        const float inverse = s->sum[r] == 0 ? 0 : 1 / s->sum[r];
        for (int64_t d = 0; d < head_dim; ++d) rows[r].output[d] = s->accumulator[r * head_dim + d] * inverse;
    }
}

PORTABLE void prepare_tile(tile_scratch *s, const forge_attention_row *rows, int row_count, int64_t head_dim) {
    for (int64_t d = 0; d < head_dim; ++d) {
        for (int r = 0; r < TILE; ++r) s->queries[d * TILE + r] = r < row_count ? rows[r].query[d] : 0;
    }
    for (int r = 0; r < TILE; ++r) {
        s->maximum[r] = -INFINITY;
        s->sum[r] = 0;
    }
    memset(s->accumulator, 0, sizeof(float) * (size_t)(TILE * head_dim));
}

// Scores of a key tile: one zero-started fused multiply-add chain over the head dimension per
// (key, row), times the scale; keys a row may not see (and padding) are -inf.
static void mask_scores(tile_scratch *s, const forge_attention_row *rows, int row_count, int64_t first_key, int keys) {
    for (int r = 0; r < TILE; ++r) {
        const int64_t visible = r < row_count ? rows[r].length - first_key : keys;
        for (int j = visible < 0 ? 0 : (int)visible; j < KV_TILE; ++j) s->scores[j * TILE + r] = -INFINITY;
        const int64_t hidden = r < row_count ? rows[r].first - first_key : 0;
        for (int j = 0; j < hidden && j < KV_TILE; ++j) s->scores[j * TILE + r] = -INFINITY;
    }
}

static int64_t longest(const forge_attention_row *rows, int row_count) {
    int64_t length = 0;
    for (int r = 0; r < row_count; ++r) length = rows[r].length > length ? rows[r].length : length;
    return length;
}

// The first key tile any row sees: tiles stay aligned to key 0, and those no row sees are skipped
// (llama.cpp's masked tiles leave every sum unchanged).
static int64_t first_tile(const forge_attention_row *rows, int row_count) {
    int64_t first = rows[0].first;
    for (int r = 1; r < row_count; ++r) first = rows[r].first < first ? rows[r].first : first;
    return first / KV_TILE * KV_TILE;
}

PORTABLE void tile_generic(tile_scratch *s, const forge_attention_row *rows, int row_count, uint32_t type,
                           const uint8_t *keys, const uint8_t *values, size_t row_bytes, int64_t head_dim, float scale) {
    prepare_tile(s, rows, row_count, head_dim);
    const int64_t length = longest(rows, row_count);
    for (int64_t first = first_tile(rows, row_count); first < length; first += KV_TILE) {
        const int count = length - first < KV_TILE ? (int)(length - first) : KV_TILE;
        load_rows(type, keys, row_bytes, first, count, head_dim, s->keys);
        load_rows(type, values, row_bytes, first, count, head_dim, s->values);
        for (int j = 0; j < count; ++j) {
            for (int r = 0; r < row_count; ++r) {
                float score = 0;
                for (int64_t d = 0; d < head_dim; ++d) score = fmaf(s->queries[d * TILE + r], s->keys[j * head_dim + d], score);
                s->scores[j * TILE + r] = score * scale;
            }
        }
        mask_scores(s, rows, row_count, first, count);
        for (int r = 0; r < row_count; ++r) softmax_row_generic(s, r, head_dim);
        for (int r = 0; r < row_count; ++r) {
            float *out = s->accumulator + r * head_dim;
            for (int j = 0; j < count; ++j) {
                const float p = s->scores[j * TILE + r];
                for (int64_t d = 0; d < head_dim; ++d) out[d] = fmaf(p, s->values[j * head_dim + d], out[d]);
            }
        }
    }
    finish_rows(s, rows, row_count, head_dim);
}

// MARK: - AVX2

#if defined(__x86_64__)

// Decode: the scalar code compiled for AVX2 + FMA, the same fused operations in the same order, so
// the same bits (compiled for baseline x86-64, each fmaf is a libm call).
AVX2 static void group_avx2(const float *queries, int heads, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                            int64_t start, int64_t end, int64_t head_dim, float scale, float *maximum, float *sum, float *weighted) {
    group_generic(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
}

AVX2 static void load_rows_avx2(uint32_t type, const uint8_t *base, size_t row_bytes, int64_t first, int count, int64_t head_dim,
                                float *out) {
    if (type != FORGE_TYPE_F16) {
        load_rows(type, base, row_bytes, first, count, head_dim, out);
        return;
    }
    for (int r = 0; r < count; ++r) {
        const uint16_t *row = (const uint16_t *)(base + (size_t)(first + r) * row_bytes);
        for (int64_t d = 0; d < head_dim; d += 8) {
            _mm256_storeu_ps(out + r * head_dim + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + d))));
        }
    }
}

// Tiles: vectorized as the AVX-512 ones, eight lanes wide, the same operations per lane. Before,
// the scalar tile compiled for AVX2 + FMA took 30% of an AVX2 F32 SmolLM2 pp512's samples.

// `keys` (1 or 2) keys × `row_vectors` (1...4) 8-row vectors of scores in one pass over the head
// dimension. Inlined with constant counts for the full blocks, so the accumulators stay in
// registers (with counts known only at run time clang kept them on the stack).
AVX2 static inline __attribute__((always_inline)) void score_block(tile_scratch *s, int r0, int j, int keys, int row_vectors,
                                                                   int64_t head_dim, __m256 factor) {
    __m256 acc[2][4];
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) acc[k][v] = _mm256_setzero_ps();
    for (int64_t d = 0; d < head_dim; ++d) {
        const float *q = s->queries + d * TILE + r0;
        __m256 qv[4];
        for (int v = 0; v < row_vectors; ++v) qv[v] = _mm256_loadu_ps(q + 8 * v);
        for (int k = 0; k < keys; ++k) {
            const __m256 key = _mm256_set1_ps(s->keys[(j + k) * head_dim + d]);
            for (int v = 0; v < row_vectors; ++v) acc[k][v] = _mm256_fmadd_ps(qv[v], key, acc[k][v]);
        }
    }
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) _mm256_storeu_ps(s->scores + (j + k) * TILE + r0 + 8 * v, _mm256_mul_ps(acc[k][v], factor));
}

AVX2 static void scores_avx2(tile_scratch *s, int row_count, int count, int64_t head_dim, float scale) {
    const __m256 factor = _mm256_set1_ps(scale);
    for (int r0 = 0; r0 < row_count; r0 += 32) {
        const int row_vectors = row_count - r0 < 32 ? (row_count - r0 + 7) / 8 : 4;
        for (int j = 0; j < count; j += 2) {
            const int keys = count - j < 2 ? count - j : 2;
            if (keys == 2 && row_vectors == 4) {
                score_block(s, r0, j, 2, 4, head_dim, factor);
            } else {
                score_block(s, r0, j, keys, row_vectors, head_dim, factor);
            }
        }
    }
}

// Vectorized over 8 rows at a time (lanes are rows, so every lane runs the scalar recipe).
AVX2 static void softmax_rows_avx2(tile_scratch *s, int row_count, int64_t head_dim) {
    for (int base = 0; base < row_count; base += 8) {
        __m256 tile_max = _mm256_set1_ps(-INFINITY);
        for (int j = 0; j < KV_TILE; ++j) tile_max = _mm256_max_ps(_mm256_loadu_ps(s->scores + j * TILE + base), tile_max);
        const __m256 previous = _mm256_loadu_ps(s->maximum + base);
        const __m256 live = _mm256_cmp_ps(tile_max, _mm256_set1_ps(-INFINITY), _CMP_NEQ_UQ);
        const __m256 maximum = _mm256_blendv_ps(previous, _mm256_max_ps(previous, tile_max), live);
        const int grows = _mm256_movemask_ps(_mm256_cmp_ps(maximum, previous, _CMP_GT_OQ));
        if (grows) {
            float m[8], p[8];
            _mm256_storeu_ps(m, maximum);
            _mm256_storeu_ps(p, previous);
            for (int k = 0; k < 8 && base + k < row_count; ++k) {
                if (!(grows >> k & 1)) continue;
                const float rescale = expf(p[k] - m[k]);
                float *acc = s->accumulator + (base + k) * head_dim;
                for (int64_t d = 0; d < head_dim; d += 8) _mm256_storeu_ps(acc + d, _mm256_mul_ps(_mm256_loadu_ps(acc + d), _mm256_set1_ps(rescale)));
                s->sum[base + k] *= rescale;
            }
        }
        _mm256_storeu_ps(s->maximum + base, maximum);
        __m256d total_low = _mm256_setzero_pd(), total_high = _mm256_setzero_pd();
        for (int chunk = 0; chunk < KV_TILE; chunk += 16) {
            __m256 e[16];
            for (int k = 0; k < 16; ++k) {
                float *row = s->scores + (chunk + k) * TILE + base;
                e[k] = _mm256_and_ps(live, expf_avx2(_mm256_sub_ps(_mm256_loadu_ps(row), maximum)));
                _mm256_storeu_ps(row, e[k]);
            }
            __m256 eight[8], four[4];
            for (int k = 0; k < 8; ++k) eight[k] = _mm256_add_ps(e[k + 8], e[k]);
            for (int k = 0; k < 4; ++k) four[k] = _mm256_add_ps(eight[k + 4], eight[k]);
            const __m256 chunk_sum = _mm256_add_ps(_mm256_add_ps(four[0], four[2]), _mm256_add_ps(four[1], four[3]));
            total_low = _mm256_add_pd(total_low, _mm256_cvtps_pd(_mm256_castps256_ps128(chunk_sum)));
            total_high = _mm256_add_pd(total_high, _mm256_cvtps_pd(_mm256_extractf128_ps(chunk_sum, 1)));
        }
        const __m256 sums = _mm256_loadu_ps(s->sum + base);
        const __m128 low = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(sums)), total_low));
        const __m128 high = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(sums, 1)), total_high));
        _mm256_storeu_ps(s->sum + base, _mm256_set_m128(high, low));
    }
}

// accumulator[r][d] = fma(p[r][j], V[j][d], accumulator[r][d]) over j in order for `rows` (1...4)
// rows × 16 head-dimension lanes; inlined with a constant count for full blocks, as above.
AVX2 static inline __attribute__((always_inline)) void value_block(tile_scratch *s, int r, int rows, int64_t d0, int count,
                                                                   int64_t head_dim) {
    __m256 acc[4][2];
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < 2; ++v) acc[i][v] = _mm256_loadu_ps(s->accumulator + (r + i) * head_dim + d0 + 8 * v);
    for (int j = 0; j < count; ++j) {
        const __m256 value[2] = {_mm256_loadu_ps(s->values + j * head_dim + d0), _mm256_loadu_ps(s->values + j * head_dim + d0 + 8)};
        for (int i = 0; i < rows; ++i) {
            const __m256 p = _mm256_set1_ps(s->scores[j * TILE + r + i]);
            for (int v = 0; v < 2; ++v) acc[i][v] = _mm256_fmadd_ps(p, value[v], acc[i][v]);
        }
    }
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < 2; ++v) _mm256_storeu_ps(s->accumulator + (r + i) * head_dim + d0 + 8 * v, acc[i][v]);
}

AVX2 static void accumulate_values_avx2(tile_scratch *s, int row_count, int count, int64_t head_dim) {
    for (int64_t d0 = 0; d0 < head_dim; d0 += 16) {
        for (int r = 0; r < row_count; r += 4) {
            if (row_count - r >= 4) {
                value_block(s, r, 4, d0, count, head_dim);
            } else {
                value_block(s, r, row_count - r, d0, count, head_dim);
            }
        }
    }
}

AVX2 static void tile_avx2(tile_scratch *s, const forge_attention_row *rows, int row_count, uint32_t type,
                           const uint8_t *keys, const uint8_t *values, size_t row_bytes, int64_t head_dim, float scale) {
    prepare_tile(s, rows, row_count, head_dim);
    const int64_t length = longest(rows, row_count);
    for (int64_t first = first_tile(rows, row_count); first < length; first += KV_TILE) {
        const int count = length - first < KV_TILE ? (int)(length - first) : KV_TILE;
        load_rows_avx2(type, keys, row_bytes, first, count, head_dim, s->keys);
        load_rows_avx2(type, values, row_bytes, first, count, head_dim, s->values);
        scores_avx2(s, row_count, count, head_dim, scale);
        mask_scores(s, rows, row_count, first, count);
        softmax_rows_avx2(s, row_count, head_dim);
        accumulate_values_avx2(s, row_count, count, head_dim);
    }
    finish_rows(s, rows, row_count, head_dim);
}
#endif

// MARK: - AVX-512

#if defined(__x86_64__)

AVX512 static inline __m256 upper_half(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

AVX512 static inline float reduce16_avx512(__m512 v) {
    const __m256 eight = _mm256_add_ps(upper_half(v), _mm512_castps512_ps256(v));
    const __m128 four = _mm_add_ps(_mm256_extractf128_ps(eight, 1), _mm256_castps256_ps128(eight));
    const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}

AVX512 static float dot_f16_avx512(const uint16_t *a, const uint16_t *b, int64_t count) {
    const int64_t whole = count / 64 * 64;
    __m512 lanes[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < whole; i += 64) {
        for (int r = 0; r < 4; ++r) {
            const __m512 x = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i + 16 * r)));
            const __m512 y = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(b + i + 16 * r)));
            lanes[r] = _mm512_fmadd_ps(x, y, lanes[r]);
        }
    }
    const __m512 folded = _mm512_add_ps(_mm512_add_ps(lanes[0], lanes[2]), _mm512_add_ps(lanes[1], lanes[3]));
    double total = reduce16_avx512(folded);
    for (int64_t i = whole; i < count; ++i) total += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)total;
}

AVX512 static void group_avx512(const float *queries, int heads, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                                int64_t start, int64_t end, int64_t head_dim, float scale, float *maximum, float *sum,
                                float *weighted) {
    uint16_t q16[heads * head_dim], accumulator[heads * head_dim];
    const int64_t vectors = head_dim / 16 * 16;
    for (int h = 0; h < heads; ++h) {
        const float *query = queries + h * head_dim;
        uint16_t *q = q16 + h * head_dim;
        for (int64_t d = 0; d < vectors; d += 16) {
            _mm256_storeu_si256((__m256i *)(q + d), _mm512_cvtps_ph(_mm512_loadu_ps(query + d), _MM_FROUND_TO_NEAREST_INT));
        }
        for (int64_t d = vectors; d < head_dim; ++d) q[d] = f32_to_f16(query[d]);
        maximum[h] = -INFINITY;
        sum[h] = 0;
    }
    memset(accumulator, 0, sizeof(accumulator));
    for (int64_t j = start; j < end; ++j) {
        const uint16_t *key = (const uint16_t *)(keys + j * row_bytes);
        const uint16_t *value = (const uint16_t *)(values + j * row_bytes);
        for (int h = 0; h < heads; ++h) {
            uint16_t *acc = accumulator + h * head_dim;
            const float score = dot_f16_avx512(q16 + h * head_dim, key, head_dim) * scale;
            float rescale = 1, weight = 1;
            if (score > maximum[h]) {
                rescale = expf(maximum[h] - score);
                maximum[h] = score;
                const __m512 factor = _mm512_set1_ps(rescale);
                for (int64_t d = 0; d < vectors; d += 16) {
                    const __m512 a = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(acc + d)));
                    _mm256_storeu_si256((__m256i *)(acc + d), _mm512_cvtps_ph(_mm512_mul_ps(a, factor), _MM_FROUND_TO_NEAREST_INT));
                }
                for (int64_t d = vectors; d < head_dim; ++d) acc[d] = f32_to_f16(f16_to_f32(acc[d]) * rescale);
            } else {
                weight = expf(score - maximum[h]);
            }
            const __m512 w = _mm512_set1_ps(weight);
            for (int64_t d = 0; d < vectors; d += 16) {
                const __m512 a = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(acc + d)));
                const __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(value + d)));
                _mm256_storeu_si256((__m256i *)(acc + d), _mm512_cvtps_ph(_mm512_fmadd_ps(v, w, a), _MM_FROUND_TO_NEAREST_INT));
            }
            for (int64_t d = vectors; d < head_dim; ++d) acc[d] = f32_to_f16(fmaf(f16_to_f32(value[d]), weight, f16_to_f32(acc[d])));
            sum[h] = fmaf(sum[h], rescale, weight);
        }
    }
    for (int64_t i = 0; i < heads * head_dim; ++i) weighted[i] = f16_to_f32(accumulator[i]);
}

AVX512 static void load_rows_avx512(uint32_t type, const uint8_t *base, size_t row_bytes, int64_t first, int count,
                                    int64_t head_dim, float *out) {
    if (type != FORGE_TYPE_F16) {
        load_rows(type, base, row_bytes, first, count, head_dim, out);
        return;
    }
    for (int r = 0; r < count; ++r) {
        const uint16_t *row = (const uint16_t *)(base + (size_t)(first + r) * row_bytes);
        for (int64_t d = 0; d < head_dim; d += 16) {
            _mm512_storeu_ps(out + r * head_dim + d, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + d))));
        }
    }
}

// Vectorized over 16 rows at a time (lanes are rows, so every lane runs the scalar recipe).
AVX512 static void softmax_rows_avx512(tile_scratch *s, int row_count, int64_t head_dim) {
    for (int base = 0; base < row_count; base += 16) {
        __m512 tile_max = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < KV_TILE; ++j) tile_max = _mm512_max_ps(_mm512_loadu_ps(s->scores + j * TILE + base), tile_max);
        const __m512 previous = _mm512_loadu_ps(s->maximum + base);
        const __mmask16 live = _mm512_cmp_ps_mask(tile_max, _mm512_set1_ps(-INFINITY), _CMP_NEQ_UQ);
        const __m512 maximum = _mm512_mask_max_ps(previous, live, previous, tile_max);
        const __mmask16 grows = _mm512_cmp_ps_mask(maximum, previous, _CMP_GT_OQ);
        if (grows) {
            float m[16], p[16];
            _mm512_storeu_ps(m, maximum);
            _mm512_storeu_ps(p, previous);
            for (int k = 0; k < 16 && base + k < row_count; ++k) {
                if (!(grows >> k & 1)) continue;
                const float rescale = expf(p[k] - m[k]);
                float *acc = s->accumulator + (base + k) * head_dim;
                for (int64_t d = 0; d < head_dim; d += 16) _mm512_storeu_ps(acc + d, _mm512_mul_ps(_mm512_loadu_ps(acc + d), _mm512_set1_ps(rescale)));
                s->sum[base + k] *= rescale;
            }
        }
        _mm512_storeu_ps(s->maximum + base, maximum);
        __m512d total_low = _mm512_setzero_pd(), total_high = _mm512_setzero_pd();
        for (int chunk = 0; chunk < KV_TILE; chunk += 16) {
            __m512 e[16];
            for (int k = 0; k < 16; ++k) {
                float *row = s->scores + (chunk + k) * TILE + base;
                e[k] = _mm512_maskz_mov_ps(live, expf_avx512(_mm512_sub_ps(_mm512_loadu_ps(row), maximum)));
                _mm512_storeu_ps(row, e[k]);
            }
            __m512 eight[8], four[4];
            for (int k = 0; k < 8; ++k) eight[k] = _mm512_add_ps(e[k + 8], e[k]);
            for (int k = 0; k < 4; ++k) four[k] = _mm512_add_ps(eight[k + 4], eight[k]);
            const __m512 chunk_sum = _mm512_add_ps(_mm512_add_ps(four[0], four[2]), _mm512_add_ps(four[1], four[3]));
            total_low = _mm512_add_pd(total_low, _mm512_cvtps_pd(_mm512_castps512_ps256(chunk_sum)));
            total_high = _mm512_add_pd(total_high, _mm512_cvtps_pd(upper_half(chunk_sum)));
        }
        const __m512 sums = _mm512_loadu_ps(s->sum + base);
        const __m256 low = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(sums)), total_low));
        const __m256 high = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(upper_half(sums)), total_high));
        _mm512_storeu_ps(s->sum + base, _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(low)), _mm256_castps_pd(high), 1)));
    }
}

// `keys` (1...4) keys × `row_vectors` (1...4) 16-row vectors of scores in one pass over the head
// dimension; inlined with constant counts for full blocks so the accumulators stay in registers
// (with counts known only at run time clang kept them on the stack: SmolLM2 Q4_1 pp512 spent 16%
// of its samples in the tile, 40% of the matrix products' share).
AVX512 static inline __attribute__((always_inline)) void score_block_avx512(tile_scratch *s, int j, int keys, int row_vectors,
                                                                            int64_t head_dim, __m512 factor) {
    __m512 acc[4][4];
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) acc[k][v] = _mm512_setzero_ps();
    for (int64_t d = 0; d < head_dim; ++d) {
        const float *q = s->queries + d * TILE;
        __m512 qv[4];
        for (int v = 0; v < row_vectors; ++v) qv[v] = _mm512_loadu_ps(q + 16 * v);
        for (int k = 0; k < keys; ++k) {
            const __m512 key = _mm512_set1_ps(s->keys[(j + k) * head_dim + d]);
            for (int v = 0; v < row_vectors; ++v) acc[k][v] = _mm512_fmadd_ps(qv[v], key, acc[k][v]);
        }
    }
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) _mm512_storeu_ps(s->scores + (j + k) * TILE + 16 * v, _mm512_mul_ps(acc[k][v], factor));
}

AVX512 static void scores_avx512(tile_scratch *s, int row_count, int count, int64_t head_dim, float scale) {
    const int row_vectors = (row_count + 15) / 16;
    const __m512 factor = _mm512_set1_ps(scale);
    for (int j = 0; j < count; j += 4) {
        const int keys = count - j < 4 ? count - j : 4;
        if (keys == 4 && row_vectors == 4) {
            score_block_avx512(s, j, 4, 4, head_dim, factor);
        } else {
            score_block_avx512(s, j, keys, row_vectors, head_dim, factor);
        }
    }
}

// accumulator[r][d] = fma(p[r][j], V[j][d], accumulator[r][d]) over j in order for `rows` (1...4)
// rows × `vectors` (1...4) 16-lane head-dimension vectors; constant counts for full blocks, as above.
AVX512 static inline __attribute__((always_inline)) void value_block_avx512(tile_scratch *s, int r, int rows, int64_t d0, int vectors,
                                                                            int count, int64_t head_dim) {
    __m512 acc[4][4];
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < vectors; ++v) acc[i][v] = _mm512_loadu_ps(s->accumulator + (r + i) * head_dim + d0 + 16 * v);
    for (int j = 0; j < count; ++j) {
        __m512 value[4];
        for (int v = 0; v < vectors; ++v) value[v] = _mm512_loadu_ps(s->values + j * head_dim + d0 + 16 * v);
        for (int i = 0; i < rows; ++i) {
            const __m512 p = _mm512_set1_ps(s->scores[j * TILE + r + i]);
            for (int v = 0; v < vectors; ++v) acc[i][v] = _mm512_fmadd_ps(p, value[v], acc[i][v]);
        }
    }
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < vectors; ++v) _mm512_storeu_ps(s->accumulator + (r + i) * head_dim + d0 + 16 * v, acc[i][v]);
}

AVX512 static void accumulate_values_avx512(tile_scratch *s, int row_count, int count, int64_t head_dim) {
    for (int64_t d0 = 0; d0 < head_dim; d0 += 64) {
        const int vectors = head_dim - d0 < 64 ? (int)(head_dim - d0) / 16 : 4;
        for (int r = 0; r < row_count; r += 4) {
            const int rows = row_count - r < 4 ? row_count - r : 4;
            if (rows == 4 && vectors == 4) {
                value_block_avx512(s, r, 4, d0, 4, count, head_dim);
            } else {
                value_block_avx512(s, r, rows, d0, vectors, count, head_dim);
            }
        }
    }
}

AVX512 static void tile_avx512(tile_scratch *s, const forge_attention_row *rows, int row_count, uint32_t type,
                               const uint8_t *keys, const uint8_t *values, size_t row_bytes, int64_t head_dim, float scale) {
    prepare_tile(s, rows, row_count, head_dim);
    const int64_t length = longest(rows, row_count);
    for (int64_t first = first_tile(rows, row_count); first < length; first += KV_TILE) {
        const int count = length - first < KV_TILE ? (int)(length - first) : KV_TILE;
        load_rows_avx512(type, keys, row_bytes, first, count, head_dim, s->keys);
        load_rows_avx512(type, values, row_bytes, first, count, head_dim, s->values);
        scores_avx512(s, row_count, count, head_dim, scale);
        mask_scores(s, rows, row_count, first, count);
        softmax_rows_avx512(s, row_count, head_dim);
        accumulate_values_avx512(s, row_count, count, head_dim);
    }
    finish_rows(s, rows, row_count, head_dim);
}

#endif

// MARK: - NEON

#if defined(__aarch64__)

static inline float32x4_t load_f16x4(const uint16_t *halves) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(halves))); }

// dot_f16_generic with its sixteen lanes as four quarters: lane l of accumulator r is acc[r][l / 4].
static float dot_f16_neon(const uint16_t *a, const uint16_t *b, int64_t count) {
    const int64_t whole = count / 64 * 64;
    float32x4_t acc[4][4];
    for (int r = 0; r < 4; ++r)
        for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_f32(0);
    for (int64_t i = 0; i < whole; i += 64) {
        for (int r = 0; r < 4; ++r)
            for (int q = 0; q < 4; ++q) acc[r][q] = vfmaq_f32(acc[r][q], load_f16x4(a + i + 16 * r + 4 * q), load_f16x4(b + i + 16 * r + 4 * q));
    }
    float32x4_t folded[4];
    for (int q = 0; q < 4; ++q) folded[q] = vaddq_f32(vaddq_f32(acc[0][q], acc[2][q]), vaddq_f32(acc[1][q], acc[3][q]));
    // reduce16: lanes k + 8 and k, then k + 4 and k, then (0 + 2) + (1 + 3).
    const float32x4_t four = vaddq_f32(vaddq_f32(folded[3], folded[1]), vaddq_f32(folded[2], folded[0]));
    const float32x2_t two = vadd_f32(vget_low_f32(four), vget_high_f32(four));
    double total = vget_lane_f32(two, 0) + vget_lane_f32(two, 1);
    for (int64_t i = whole; i < count; ++i) total += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)total;
}

static void group_neon(const float *queries, int heads, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                       int64_t start, int64_t end, int64_t head_dim, float scale, float *maximum, float *sum, float *weighted) {
    uint16_t q16[heads * head_dim], accumulator[heads * head_dim];
    const int64_t vectors = head_dim / 4 * 4;
    int64_t i = 0;
    for (; i + 4 <= heads * head_dim; i += 4) vst1_u16(q16 + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(queries + i))));
    for (; i < heads * head_dim; ++i) q16[i] = f32_to_f16(queries[i]);
    memset(accumulator, 0, sizeof(accumulator));
    for (int h = 0; h < heads; ++h) {
        maximum[h] = -INFINITY;
        sum[h] = 0;
    }
    for (int64_t j = start; j < end; ++j) {
        const uint16_t *key = (const uint16_t *)(keys + j * row_bytes);
        const uint16_t *value = (const uint16_t *)(values + j * row_bytes);
        for (int h = 0; h < heads; ++h) {
            uint16_t *acc = accumulator + h * head_dim;
            const float score = dot_f16_neon(q16 + h * head_dim, key, head_dim) * scale;
            float rescale = 1, weight = 1;
            if (score > maximum[h]) {
                rescale = expf(maximum[h] - score);
                maximum[h] = score;
                for (int64_t d = 0; d < vectors; d += 4) {
                    vst1_u16(acc + d, vreinterpret_u16_f16(vcvt_f16_f32(vmulq_f32(load_f16x4(acc + d), vdupq_n_f32(rescale)))));
                }
                for (int64_t d = vectors; d < head_dim; ++d) acc[d] = f32_to_f16(f16_to_f32(acc[d]) * rescale);
            } else {
                weight = expf(score - maximum[h]);
            }
            for (int64_t d = 0; d < vectors; d += 4) {
                const float32x4_t updated = vfmaq_f32(load_f16x4(acc + d), load_f16x4(value + d), vdupq_n_f32(weight));
                vst1_u16(acc + d, vreinterpret_u16_f16(vcvt_f16_f32(updated)));
            }
            for (int64_t d = vectors; d < head_dim; ++d) acc[d] = f32_to_f16(fmaf(f16_to_f32(value[d]), weight, f16_to_f32(acc[d])));
            sum[h] = fmaf(sum[h], rescale, weight);
        }
    }
    for (i = 0; i < heads * head_dim; ++i) weighted[i] = f16_to_f32(accumulator[i]);
}

static void load_rows_neon(uint32_t type, const uint8_t *base, size_t row_bytes, int64_t first, int count, int64_t head_dim,
                           float *out) {
    if (type != FORGE_TYPE_F16) {
        load_rows(type, base, row_bytes, first, count, head_dim, out);
        return;
    }
    for (int r = 0; r < count; ++r) {
        const uint16_t *row = (const uint16_t *)(base + (size_t)(first + r) * row_bytes);
        for (int64_t d = 0; d < head_dim; d += 4) vst1q_f32(out + r * head_dim + d, load_f16x4(row + d));
    }
}

// `keys` (1...4) keys × `row_vectors` (1...4) 4-row vectors of scores in one pass over the head
// dimension, lanes being rows; inlined with constant counts for full blocks, as on x86.
static inline __attribute__((always_inline)) void score_block_neon(tile_scratch *s, int r0, int j, int keys, int row_vectors, int64_t head_dim, float scale) {
    float32x4_t acc[4][4];
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) acc[k][v] = vdupq_n_f32(0);
    for (int64_t d = 0; d < head_dim; ++d) {
        float32x4_t q[4];
        for (int v = 0; v < row_vectors; ++v) q[v] = vld1q_f32(s->queries + d * TILE + r0 + 4 * v);
        for (int k = 0; k < keys; ++k) {
            const float32x4_t key = vdupq_n_f32(s->keys[(j + k) * head_dim + d]);
            for (int v = 0; v < row_vectors; ++v) acc[k][v] = vfmaq_f32(acc[k][v], q[v], key);
        }
    }
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) vst1q_f32(s->scores + (j + k) * TILE + r0 + 4 * v, vmulq_n_f32(acc[k][v], scale));
}

static void scores_neon(tile_scratch *s, int row_count, int count, int64_t head_dim, float scale) {
    for (int r0 = 0; r0 < row_count; r0 += 16) {
        const int row_vectors = row_count - r0 < 16 ? (row_count - r0 + 3) / 4 : 4;
        for (int j = 0; j < count; j += 4) {
            const int keys = count - j < 4 ? count - j : 4;
            if (keys == 4 && row_vectors == 4) {
                score_block_neon(s, r0, j, 4, 4, head_dim, scale);
            } else {
                score_block_neon(s, r0, j, keys, row_vectors, head_dim, scale);
            }
        }
    }
}

// softmax_row_generic over 4 rows at a time (lanes are rows, so every lane runs the scalar recipe).
static void softmax_rows_neon(tile_scratch *s, int row_count, int64_t head_dim) {
    for (int base = 0; base < row_count; base += 4) {
        float32x4_t tile_max = vdupq_n_f32(-INFINITY);
        for (int j = 0; j < KV_TILE; ++j) tile_max = vmaxnmq_f32(vld1q_f32(s->scores + j * TILE + base), tile_max);
        const float32x4_t previous = vld1q_f32(s->maximum + base);
        const uint32x4_t live = vmvnq_u32(vceqq_f32(tile_max, vdupq_n_f32(-INFINITY)));
        const float32x4_t maximum = vbslq_f32(live, vmaxnmq_f32(previous, tile_max), previous);
        const uint32x4_t grows = vcgtq_f32(maximum, previous);
        if (vmaxvq_u32(grows)) {
            float m[4], p[4];
            uint32_t g[4];
            vst1q_f32(m, maximum);
            vst1q_f32(p, previous);
            vst1q_u32(g, grows);
            for (int k = 0; k < 4 && base + k < row_count; ++k) {
                if (!g[k]) continue;
                const float rescale = expf(p[k] - m[k]);
                float *acc = s->accumulator + (base + k) * head_dim;
                for (int64_t d = 0; d < head_dim; d += 4) vst1q_f32(acc + d, vmulq_n_f32(vld1q_f32(acc + d), rescale));
                s->sum[base + k] *= rescale;
            }
        }
        vst1q_f32(s->maximum + base, maximum);
        float64x2_t total_low = vdupq_n_f64(0), total_high = vdupq_n_f64(0);
        for (int chunk = 0; chunk < KV_TILE; chunk += 16) {
            float32x4_t e[16], eight[8], four[4];
            for (int k = 0; k < 16; ++k) {
                float *row = s->scores + (chunk + k) * TILE + base;
                const float32x4_t x = expf_neon(vsubq_f32(vld1q_f32(row), maximum));
                e[k] = vreinterpretq_f32_u32(vandq_u32(live, vreinterpretq_u32_f32(x)));
                vst1q_f32(row, e[k]);
            }
            for (int k = 0; k < 8; ++k) eight[k] = vaddq_f32(e[k + 8], e[k]);
            for (int k = 0; k < 4; ++k) four[k] = vaddq_f32(eight[k + 4], eight[k]);
            const float32x4_t chunk_sum = vaddq_f32(vaddq_f32(four[0], four[2]), vaddq_f32(four[1], four[3]));
            total_low = vaddq_f64(total_low, vcvt_f64_f32(vget_low_f32(chunk_sum)));
            total_high = vaddq_f64(total_high, vcvt_high_f64_f32(chunk_sum));
        }
        const float32x4_t sums = vld1q_f32(s->sum + base);
        const float32x2_t low = vcvt_f32_f64(vaddq_f64(vcvt_f64_f32(vget_low_f32(sums)), total_low));
        vst1q_f32(s->sum + base, vcvt_high_f32_f64(low, vaddq_f64(vcvt_high_f64_f32(sums), total_high)));
    }
}

// accumulator[r][d] = fma(p[r][j], V[j][d], accumulator[r][d]) over j in order for `rows` (1...4)
// rows × 16 head-dimension lanes.
static inline __attribute__((always_inline)) void value_block_neon(tile_scratch *s, int r, int rows, int64_t d0, int count, int64_t head_dim) {
    float32x4_t acc[4][4];
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < 4; ++v) acc[i][v] = vld1q_f32(s->accumulator + (r + i) * head_dim + d0 + 4 * v);
    for (int j = 0; j < count; ++j) {
        float32x4_t value[4];
        for (int v = 0; v < 4; ++v) value[v] = vld1q_f32(s->values + j * head_dim + d0 + 4 * v);
        for (int i = 0; i < rows; ++i) {
            const float32x4_t p = vdupq_n_f32(s->scores[j * TILE + r + i]);
            for (int v = 0; v < 4; ++v) acc[i][v] = vfmaq_f32(acc[i][v], p, value[v]);
        }
    }
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < 4; ++v) vst1q_f32(s->accumulator + (r + i) * head_dim + d0 + 4 * v, acc[i][v]);
}

static void tile_neon(tile_scratch *s, const forge_attention_row *rows, int row_count, uint32_t type, const uint8_t *keys,
                      const uint8_t *values, size_t row_bytes, int64_t head_dim, float scale) {
    prepare_tile(s, rows, row_count, head_dim);
    const int64_t length = longest(rows, row_count);
    for (int64_t first = first_tile(rows, row_count); first < length; first += KV_TILE) {
        const int count = length - first < KV_TILE ? (int)(length - first) : KV_TILE;
        load_rows_neon(type, keys, row_bytes, first, count, head_dim, s->keys);
        load_rows_neon(type, values, row_bytes, first, count, head_dim, s->values);
        scores_neon(s, row_count, count, head_dim, scale);
        mask_scores(s, rows, row_count, first, count);
        softmax_rows_neon(s, row_count, head_dim);
        for (int64_t d0 = 0; d0 < head_dim; d0 += 16) {
            for (int r = 0; r < row_count; r += 4) {
                if (row_count - r >= 4) {
                    value_block_neon(s, r, 4, d0, count, head_dim);
                } else {
                    value_block_neon(s, r, row_count - r, d0, count, head_dim);
                }
            }
        }
    }
    finish_rows(s, rows, row_count, head_dim);
}

#endif

// MARK: - Entry points

// llama.cpp splits a lone decode row's keys into chunks (one per thread) once its padded KV view
// reaches 512 rows, and merges the chunks' partials in chunk order: rescale both to the larger
// maximum, VKQ = VKQ·scale_old + VKQ_chunk·scale_new and S likewise (its compiler fuses the first
// product into the addition), then divide by S. With one chunk this is the plain division.
void forge_attention_group(forge_isa isa, const float *queries, float *outputs, int heads, const void *keys,
                           const void *values, size_t row_bytes, int64_t length, int64_t first, int64_t chunk,
                           int64_t head_dim, float scale) {
    if (chunk <= 0 || chunk > length) chunk = length;
    float maximum[heads], sum[heads], merged_maximum[heads], merged_sum[heads];
    float weighted[heads * head_dim];
    for (int h = 0; h < heads; ++h) merged_maximum[h] = -INFINITY, merged_sum[h] = 0;
    memset(outputs, 0, sizeof(float) * (size_t)(heads * head_dim));
    for (int64_t chunk_start = 0; chunk_start < length; chunk_start += chunk) {
        const int64_t end = chunk_start + chunk < length ? chunk_start + chunk : length;
        const int64_t start = chunk_start > first ? chunk_start : first;
        if (start >= end) continue;
#if defined(__x86_64__)
        if (isa == FORGE_ISA_AVX512) {
            group_avx512(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
        } else if (isa == FORGE_ISA_AVX2) {
            group_avx2(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
        } else
#elif defined(__aarch64__)
        if (isa_is_neon(isa)) {
            group_neon(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
        } else
#endif
        {
            group_generic(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
        }
        for (int h = 0; h < heads; ++h) {
            if (sum[h] == 0) continue;
            const float larger = fmaxf(merged_maximum[h], maximum[h]);
            const float scale_old = expf(merged_maximum[h] - larger), scale_new = expf(maximum[h] - larger);
            float *out = outputs + h * head_dim;
            const float *part = weighted + h * head_dim;
            for (int64_t d = 0; d < head_dim; ++d) out[d] = fmaf(out[d], scale_old, part[d] * scale_new);
            merged_sum[h] = fmaf(merged_sum[h], scale_old, sum[h] * scale_new);
            merged_maximum[h] = larger;
        }
    }
    (void)isa;
    for (int h = 0; h < heads; ++h) {
        if (merged_sum[h] == 0) continue;
        const float inverse = 1 / merged_sum[h];
        for (int64_t d = 0; d < head_dim; ++d) outputs[h * head_dim + d] *= inverse;
    }
}

int forge_attention_tile(forge_isa isa, const forge_attention_row *rows, int row_count, uint32_t kv_type,
                         const void *keys, const void *values, size_t row_bytes, int64_t head_dim, float scale) {
    if (row_count < 1 || row_count > TILE || head_dim < 1 || head_dim % 16 != 0) return -1;
    if (kv_type != FORGE_TYPE_F16 && kv_type != FORGE_TYPE_F32) return -1;
    for (int r = 0; r < row_count; ++r) {
        if (rows[r].first < 0 || rows[r].first >= rows[r].length) return -1;
    }
    tile_scratch scratch;
    if (tile_scratch_make(&scratch, head_dim) != 0) return -2;
#if defined(__x86_64__)
    if (isa == FORGE_ISA_AVX512) {
        tile_avx512(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
        return 0;
    }
    if (isa == FORGE_ISA_AVX2) {
        tile_avx2(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
        return 0;
    }
#elif defined(__aarch64__)
    if (isa_is_neon(isa)) {
        tile_neon(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
        return 0;
    }
#endif
    (void)isa;
    tile_generic(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
    return 0;
}
