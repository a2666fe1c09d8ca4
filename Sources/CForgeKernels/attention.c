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
// The vector variants are written once (attention_simd.h) over each instruction set's vector
// operations, every lane repeating the scalar operations below in the same order.
#include <stdlib.h>
#include "vector_math.h"

enum { TILE = FORGE_ATTENTION_TILE_ROWS, KV_TILE = 64 };

// MARK: - Scalar building blocks (every variant's reference)

// The steps the vector variants share, inlined so each compiles them for its own instruction set.
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
static float dot_f16_generic(const uint16_t *a, const uint16_t *b, int64_t count) {
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
static void group_generic(const float *queries, int heads, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
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
static void softmax_row_generic(tile_scratch *s, int row, int64_t head_dim) {
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

static void tile_generic(tile_scratch *s, const forge_attention_row *rows, int row_count, uint32_t type,
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

// MARK: - Vector variants

// Keys per score block and head-dimension vectors per value block: as many accumulators as stay
// in registers (16 vector registers on AVX2, 32 on AVX-512 and NEON).
#if defined(__x86_64__)
enum { avx2_score_keys = 2, avx2_value_vectors = 2, avx512_score_keys = 4, avx512_value_vectors = 4 };
#define VECTOR_ISA avx2
#include "attention_simd.h"
#undef VECTOR_ISA
#define VECTOR_ISA avx512
#include "attention_simd.h"
#undef VECTOR_ISA
#elif defined(__aarch64__)
enum { neon_score_keys = 4, neon_value_vectors = 4 };
#define VECTOR_ISA neon
#include "attention_simd.h"
#undef VECTOR_ISA
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
            avx512_group(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
        } else if (isa == FORGE_ISA_AVX2) {
            avx2_group(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
        } else
#elif defined(__aarch64__)
        if (isa_is_neon(isa)) {
            neon_group(queries, heads, keys, values, row_bytes, start, end, head_dim, scale, maximum, sum, weighted);
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
        avx512_tile(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
        return 0;
    }
    if (isa == FORGE_ISA_AVX2) {
        avx2_tile(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
        return 0;
    }
#elif defined(__aarch64__)
    if (isa_is_neon(isa)) {
        neon_tile(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
        return 0;
    }
#endif
    (void)isa;
    tile_generic(&scratch, rows, row_count, kv_type, keys, values, row_bytes, head_dim, scale);
    return 0;
}
