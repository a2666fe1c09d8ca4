// The attention kernels of one instruction set, written once over the vector operations of
// vector_math.h. attention.c includes this file once per set, VECTOR_ISA naming it (avx2, avx512,
// neon), after the scalar kernels and scratch layout these share; each function here runs the
// scalar recipe of its generic counterpart lane by lane, so every set gives the generic bits.
// Per set, attention.c also gives `score_keys` and `value_vectors`, the block sizes that keep the
// accumulators in registers.
#define V(name) VECTOR_OP(VECTOR_ISA, name)

// dot_f16_generic: its sixteen lanes as 16 / lanes vectors, the four accumulators folded
// 0 + 2 and 1 + 3, then reduce16's halves across the vectors and within the last one.
V(target) static float V(dot_f16)(const uint16_t *a, const uint16_t *b, int64_t count) {
    enum { PARTS = 16 / V(lanes) };
    const int64_t whole = count / 64 * 64;
    V(vec) acc[4][PARTS];
    for (int r = 0; r < 4; ++r)
        for (int p = 0; p < PARTS; ++p) acc[r][p] = V(zero)();
    for (int64_t i = 0; i < whole; i += 64) {
        for (int r = 0; r < 4; ++r) {
            for (int p = 0; p < PARTS; ++p) {
                const int64_t at = i + 16 * r + V(lanes) * p;
                acc[r][p] = V(fma)(V(load_f16)(a + at), V(load_f16)(b + at), acc[r][p]);
            }
        }
    }
    V(vec) folded[PARTS];
    for (int p = 0; p < PARTS; ++p) folded[p] = V(add)(V(add)(acc[0][p], acc[2][p]), V(add)(acc[1][p], acc[3][p]));
    for (int half = PARTS / 2; half >= 1; half /= 2)
        for (int p = 0; p < half; ++p) folded[p] = V(add)(folded[p + half], folded[p]);
    double total = V(reduce)(folded[0]);
    for (int64_t i = whole; i < count; ++i) total += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)total;
}

// group_generic with the f16 conversions and the accumulator updates a vector at a time.
V(target) static void V(group)(const float *queries, int heads, const uint8_t *keys, const uint8_t *values, size_t row_bytes,
                               int64_t start, int64_t end, int64_t head_dim, float scale, float *maximum, float *sum,
                               float *weighted) {
    uint16_t q16[heads * head_dim], accumulator[heads * head_dim];
    const int64_t vectors = head_dim / V(lanes) * V(lanes);
    for (int h = 0; h < heads; ++h) {
        const float *query = queries + h * head_dim;
        uint16_t *q = q16 + h * head_dim;
        for (int64_t d = 0; d < vectors; d += V(lanes)) V(store_f16)(q + d, V(load)(query + d));
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
            const float score = V(dot_f16)(q16 + h * head_dim, key, head_dim) * scale;
            float rescale = 1, weight = 1;
            if (score > maximum[h]) {
                rescale = expf(maximum[h] - score);
                maximum[h] = score;
                const V(vec) factor = V(set1)(rescale);
                for (int64_t d = 0; d < vectors; d += V(lanes)) V(store_f16)(acc + d, V(mul)(V(load_f16)(acc + d), factor));
                for (int64_t d = vectors; d < head_dim; ++d) acc[d] = f32_to_f16(f16_to_f32(acc[d]) * rescale);
            } else {
                weight = expf(score - maximum[h]);
            }
            const V(vec) w = V(set1)(weight);
            for (int64_t d = 0; d < vectors; d += V(lanes)) {
                V(store_f16)(acc + d, V(fma)(V(load_f16)(value + d), w, V(load_f16)(acc + d)));
            }
            for (int64_t d = vectors; d < head_dim; ++d) acc[d] = f32_to_f16(fmaf(f16_to_f32(value[d]), weight, f16_to_f32(acc[d])));
            sum[h] = fmaf(sum[h], rescale, weight);
        }
    }
    for (int64_t i = 0; i < heads * head_dim; ++i) weighted[i] = f16_to_f32(accumulator[i]);
}

V(target) static void V(load_rows)(uint32_t type, const uint8_t *base, size_t row_bytes, int64_t first, int count, int64_t head_dim,
                                   float *out) {
    if (type != FORGE_TYPE_F16) {
        load_rows(type, base, row_bytes, first, count, head_dim, out);
        return;
    }
    for (int r = 0; r < count; ++r) {
        const uint16_t *row = (const uint16_t *)(base + (size_t)(first + r) * row_bytes);
        for (int64_t d = 0; d < head_dim; d += V(lanes)) V(store)(out + r * head_dim + d, V(load_f16)(row + d));
    }
}

// `keys` (1...score_keys) keys × `row_vectors` (1...4) vectors of rows, lanes being rows, in one
// pass over the head dimension. Inlined with constant counts for the full blocks, so the
// accumulators stay in registers (with counts known only at run time clang kept them on the stack).
V(target) static inline __attribute__((always_inline)) void V(score_block)(tile_scratch *s, int r0, int j, int keys, int row_vectors,
                                                                         int64_t head_dim, V(vec) factor) {
    V(vec) acc[V(score_keys)][4];
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) acc[k][v] = V(zero)();
    for (int64_t d = 0; d < head_dim; ++d) {
        V(vec) q[4];
        for (int v = 0; v < row_vectors; ++v) q[v] = V(load)(s->queries + d * TILE + r0 + V(lanes) * v);
        for (int k = 0; k < keys; ++k) {
            const V(vec) key = V(set1)(s->keys[(j + k) * head_dim + d]);
            for (int v = 0; v < row_vectors; ++v) acc[k][v] = V(fma)(q[v], key, acc[k][v]);
        }
    }
    for (int k = 0; k < keys; ++k)
        for (int v = 0; v < row_vectors; ++v) V(store)(s->scores + (j + k) * TILE + r0 + V(lanes) * v, V(mul)(acc[k][v], factor));
}

V(target) static void V(scores)(tile_scratch *s, int row_count, int count, int64_t head_dim, float scale) {
    enum { BLOCK_ROWS = 4 * V(lanes) };
    const V(vec) factor = V(set1)(scale);
    for (int r0 = 0; r0 < row_count; r0 += BLOCK_ROWS) {
        const int row_vectors = row_count - r0 < BLOCK_ROWS ? (row_count - r0 + V(lanes) - 1) / V(lanes) : 4;
        for (int j = 0; j < count; j += V(score_keys)) {
            const int keys = count - j < V(score_keys) ? count - j : V(score_keys);
            if (keys == V(score_keys) && row_vectors == 4) {
                V(score_block)(s, r0, j, V(score_keys), 4, head_dim, factor);
            } else {
                V(score_block)(s, r0, j, keys, row_vectors, head_dim, factor);
            }
        }
    }
}

// softmax_row_generic for a vector of rows at a time (lanes are rows).
V(target) static void V(softmax_rows)(tile_scratch *s, int row_count, int64_t head_dim) {
    const V(vec) none = V(set1)(-INFINITY);
    for (int base = 0; base < row_count; base += V(lanes)) {
        V(vec) tile_max = none;
        for (int j = 0; j < KV_TILE; ++j) tile_max = V(max)(V(load)(s->scores + j * TILE + base), tile_max);
        const V(vec) previous = V(load)(s->maximum + base);
        const V(mask) live = V(not_equal)(tile_max, none);
        const V(vec) maximum = V(select)(live, V(max)(previous, tile_max), previous);
        const int grows = V(mask_bits)(V(greater)(maximum, previous));
        if (grows) {
            float m[V(lanes)], p[V(lanes)];
            V(store)(m, maximum);
            V(store)(p, previous);
            for (int k = 0; k < V(lanes) && base + k < row_count; ++k) {
                if (!(grows >> k & 1)) continue;
                const float rescale = expf(p[k] - m[k]);
                float *acc = s->accumulator + (base + k) * head_dim;
                for (int64_t d = 0; d < head_dim; d += V(lanes)) V(store)(acc + d, V(mul)(V(load)(acc + d), V(set1)(rescale)));
                s->sum[base + k] *= rescale;
            }
        }
        V(store)(s->maximum + base, maximum);
        V(wide) total = V(wide_zero)();
        for (int chunk = 0; chunk < KV_TILE; chunk += 16) {
            V(vec) e[16], eight[8], four[4];
            for (int k = 0; k < 16; ++k) {
                float *row = s->scores + (chunk + k) * TILE + base;
                e[k] = V(keep)(live, V(exp)(V(sub)(V(load)(row), maximum)));
                V(store)(row, e[k]);
            }
            for (int k = 0; k < 8; ++k) eight[k] = V(add)(e[k + 8], e[k]);
            for (int k = 0; k < 4; ++k) four[k] = V(add)(eight[k + 4], eight[k]);
            total = V(wide_add)(total, V(add)(V(add)(four[0], four[2]), V(add)(four[1], four[3])));
        }
        V(store)(s->sum + base, V(wide_sum)(V(load)(s->sum + base), total));
    }
}

// accumulator[r][d] = fma(p[r][j], V[j][d], accumulator[r][d]) over j in order for `rows` (1...4)
// rows × `vectors` (1...value_vectors) head-dimension vectors; constant counts for full blocks, as above.
V(target) static inline __attribute__((always_inline)) void V(value_block)(tile_scratch *s, int r, int rows, int64_t d0, int vectors,
                                                                         int count, int64_t head_dim) {
    V(vec) acc[4][V(value_vectors)];
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < vectors; ++v) acc[i][v] = V(load)(s->accumulator + (r + i) * head_dim + d0 + V(lanes) * v);
    for (int j = 0; j < count; ++j) {
        V(vec) value[V(value_vectors)];
        for (int v = 0; v < vectors; ++v) value[v] = V(load)(s->values + j * head_dim + d0 + V(lanes) * v);
        for (int i = 0; i < rows; ++i) {
            const V(vec) p = V(set1)(s->scores[j * TILE + r + i]);
            for (int v = 0; v < vectors; ++v) acc[i][v] = V(fma)(p, value[v], acc[i][v]);
        }
    }
    for (int i = 0; i < rows; ++i)
        for (int v = 0; v < vectors; ++v) V(store)(s->accumulator + (r + i) * head_dim + d0 + V(lanes) * v, acc[i][v]);
}

V(target) static void V(accumulate_values)(tile_scratch *s, int row_count, int count, int64_t head_dim) {
    enum { STEP = V(value_vectors) * V(lanes) };
    for (int64_t d0 = 0; d0 < head_dim; d0 += STEP) {
        const int vectors = head_dim - d0 < STEP ? (int)(head_dim - d0) / V(lanes) : V(value_vectors);
        for (int r = 0; r < row_count; r += 4) {
            const int rows = row_count - r < 4 ? row_count - r : 4;
            if (rows == 4 && vectors == V(value_vectors)) {
                V(value_block)(s, r, 4, d0, V(value_vectors), count, head_dim);
            } else {
                V(value_block)(s, r, rows, d0, vectors, count, head_dim);
            }
        }
    }
}

// tile_generic with each step vectorized.
V(target) static void V(tile)(tile_scratch *s, const forge_attention_row *rows, int row_count, uint32_t type, const uint8_t *keys,
                              const uint8_t *values, size_t row_bytes, int64_t head_dim, float scale) {
    prepare_tile(s, rows, row_count, head_dim);
    const int64_t length = longest(rows, row_count);
    for (int64_t first = first_tile(rows, row_count); first < length; first += KV_TILE) {
        const int count = length - first < KV_TILE ? (int)(length - first) : KV_TILE;
        V(load_rows)(type, keys, row_bytes, first, count, head_dim, s->keys);
        V(load_rows)(type, values, row_bytes, first, count, head_dim, s->values);
        V(scores)(s, row_count, count, head_dim, scale);
        mask_scores(s, rows, row_count, first, count);
        V(softmax_rows)(s, row_count, head_dim);
        V(accumulate_values)(s, row_count, count, head_dim);
    }
    finish_rows(s, rows, row_count, head_dim);
}

#undef V
