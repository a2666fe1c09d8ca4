// The NEON kernel tables against the generic C table, on random inputs of awkward sizes.
// scripts/test-arm64 cross-compiles this with the CForgeKernels sources and runs it under
// qemu-aarch64 once per CPU model: kernel_tests EXPECTED, EXPECTED being the variant
// forge_isa_best must choose there (neon, neon-dotprod or neon-i8mm).
//
// Bit for bit: the activation encoders, attention and SwiGLU against the generic path (every x86
// variant gives the generic bits there too); the dot products against a model of the NEON float
// order built from the generic integer sums, and the three NEON tables against each other (as
// AVX2 and AVX-512 agree); tiles, panels and whole matrix products against their table's dot product.
// Within rounding: the dot products against the generic ones, whose float order differs.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formats.h"

static int passed, failed;

static void check(int ok, const char *format, ...) {
    if (ok) {
        ++passed;
        return;
    }
    ++failed;
    va_list arguments;
    va_start(arguments, format);
    printf("FAIL ");
    vprintf(format, arguments);
    printf("\n");
    va_end(arguments);
}

// MARK: - Random inputs (SplitMix64)

static uint64_t random_state;

static uint64_t next_random(void) {
    uint64_t z = (random_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float uniform(void) { return (float)(next_random() >> 40) * 0x1p-23f - 1; } // [-1, 1)

static float normal(void) { return (uniform() + uniform() + uniform() + uniform()) * 0.866f; }

static void normals(float *values, int64_t count, float scale) {
    for (int64_t i = 0; i < count; ++i) values[i] = normal() * scale;
}

static uint32_t bits_of(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    return bits;
}

static void put_half(uint8_t *at, uint16_t half) { memcpy(at, &half, 2); }

// Random blocks whose f16 scale fields hold small finite values (the Swift tests' recipe).
static void random_weights(uint32_t type, int64_t count, uint8_t *bytes) {
    const int64_t block_size = forge_type_block_size(type), block_bytes = forge_type_block_bytes(type);
    const int64_t blocks = count / block_size;
    for (int64_t i = 0; i < blocks * block_bytes; ++i) bytes[i] = (uint8_t)next_random();
    if (type == FORGE_TYPE_F32) {
        for (int64_t i = 0; i < count; ++i) ((float *)bytes)[i] = uniform();
        return;
    }
    if (type == FORGE_TYPE_F16 || type == FORGE_TYPE_BF16) {
        for (int64_t i = 0; i < count; ++i) {
            const float value = uniform();
            put_half(bytes + 2 * i, type == FORGE_TYPE_F16 ? f32_to_f16(value) : f32_to_bf16(value));
        }
        return;
    }
    const int offsets = type == FORGE_TYPE_Q4_1 || type == FORGE_TYPE_Q5_1 || type == FORGE_TYPE_Q4_K || type == FORGE_TYPE_Q5_K;
    const size_t first = type == FORGE_TYPE_Q6_K ? offsetof(block_q6_K, d) : 0;
    for (int64_t b = 0; b < blocks; ++b) {
        put_half(bytes + b * block_bytes + first, f32_to_f16(uniform() * 0.05f));
        if (offsets) put_half(bytes + b * block_bytes + 2, f32_to_f16(uniform() * 0.05f));
    }
}

static size_t row_bytes_of(uint32_t type, int64_t count) {
    return (size_t)(count / forge_type_block_size(type) * forge_type_block_bytes(type));
}

// MARK: - The NEON float order, from the generic integer sums

static int has_offsets(uint32_t type) { return type == FORGE_TYPE_Q4_1 || type == FORGE_TYPE_Q5_1; }

// One block's integer total (rounded to float as the kernels round it): the generic dot product
// of copies whose scales are 1 and offsets 0. Q4_K/Q5_K: `part` 0 gives Σ scale·q·y, 1 gives
// Σ min·bsum (scale fields swapped).
static float block_total(uint32_t type, const uint8_t *weights, const uint8_t *activations, int part) {
    uint8_t w[512], a[512];
    const uint32_t activation_type = (uint32_t)forge_activation_type(type);
    const int64_t values = forge_type_block_size(type);
    memcpy(w, weights, (size_t)forge_type_block_bytes(type));
    memcpy(a, activations, (size_t)forge_type_block_bytes(activation_type));
    const uint16_t one = 0x3c00;
    if (activation_type == FORGE_TYPE_Q8_K) {
        const float unit = 1;
        memcpy(a, &unit, 4);
        if (type == FORGE_TYPE_Q6_K) {
            put_half(w + offsetof(block_q6_K, d), one);
        } else {
            put_half(w, part == 0 ? one : 0);
            put_half(w + 2, part == 0 ? 0 : one);
        }
        const float total = forge_dot(FORGE_ISA_GENERIC, type, values, w, a);
        return part == 0 ? total : -total;
    }
    put_half(w, one);
    if (has_offsets(type)) put_half(w + 2, 0);
    put_half(a, one);
    return forge_dot(FORGE_ISA_GENERIC, type, values, w, a);
}

// Four chains of fused products over steps of sixteen values, folded as the NEON kernels fold them.
static float model_float(uint32_t type, int64_t count, const void *weights, const void *activations) {
    float values[2][count];
    for (int side = 0; side < 2; ++side) forge_dequantize(type, side == 0 ? weights : activations, values[side], count);
    float chains[4][4] = {{0}};
    int64_t i = 0;
    for (; i + 16 <= count; i += 16)
        for (int k = 0; k < 4; ++k)
            for (int l = 0; l < 4; ++l) chains[k][l] = fmaf(values[0][i + 4 * k + l], values[1][i + 4 * k + l], chains[k][l]);
    float folded[4];
    for (int l = 0; l < 4; ++l) folded[l] = (chains[0][l] + chains[1][l]) + (chains[2][l] + chains[3][l]);
    float sum = (folded[0] + folded[1]) + (folded[2] + folded[3]);
    for (; i < count; ++i) sum = fmaf(values[0][i], values[1][i], sum);
    return sum;
}

static float half_field(const uint8_t *at) {
    uint16_t half;
    memcpy(&half, at, 2);
    return f16_to_f32(half);
}

static float model_dot(uint32_t type, int64_t count, const uint8_t *w, const uint8_t *a) {
    if (type == FORGE_TYPE_F32 || type == FORGE_TYPE_F16 || type == FORGE_TYPE_BF16) return model_float(type, count, w, a);
    const uint32_t activation_type = (uint32_t)forge_activation_type(type);
    const int64_t block_size = forge_type_block_size(type), blocks = count / block_size;
    const size_t w_bytes = (size_t)forge_type_block_bytes(type), a_bytes = (size_t)forge_type_block_bytes(activation_type);
    if (block_size == QK) {
        float chains[4] = {0};
        for (int64_t b = 0; b < blocks; ++b) {
            const uint8_t *x = w + b * w_bytes, *y = a + b * a_bytes;
            chains[b % 4] = fmaf(block_total(type, x, y, 0), half_field(x) * half_field(y), chains[b % 4]);
            if (has_offsets(type)) chains[b % 4] = fmaf(half_field(x + 2), half_field(y + 2), chains[b % 4]);
        }
        return (chains[0] + chains[1]) + (chains[2] + chains[3]);
    }
    float sum = 0;
    for (int64_t b = 0; b < blocks; ++b) {
        const uint8_t *x = w + b * w_bytes, *y = a + b * a_bytes;
        float d_y;
        memcpy(&d_y, y, 4);
        if (type == FORGE_TYPE_Q6_K) {
            sum = fmaf(half_field(x + offsetof(block_q6_K, d)) * d_y, block_total(type, x, y, 0), sum);
        } else {
            sum = fmaf(half_field(x) * d_y, block_total(type, x, y, 0), sum);
            sum = fmaf(-(half_field(x + 2) * d_y), block_total(type, x, y, 1), sum);
        }
    }
    return sum;
}

// Σ |w·y| with Q4_1/Q5_1/Q4_K/Q5_K weights split into their scaled part and their offset part
// (which cancel in the sum but each round): the scale of the float rounding error.
static double magnitude(uint32_t type, int64_t count, const uint8_t *w, const uint8_t *a) {
    const uint32_t activation_type = (uint32_t)forge_activation_type(type);
    const int split = type == FORGE_TYPE_Q4_1 || type == FORGE_TYPE_Q5_1 || type == FORGE_TYPE_Q4_K || type == FORGE_TYPE_Q5_K;
    const size_t bytes = row_bytes_of(type, count), block_bytes = (size_t)forge_type_block_bytes(type);
    float y[count], parts[2][count];
    uint8_t copy[bytes];
    forge_dequantize(activation_type, a, y, count);
    for (int part = 0; part < (split ? 2 : 1); ++part) {
        memcpy(copy, w, bytes);
        if (split) {
            for (size_t b = 0; b < bytes / block_bytes; ++b) put_half(copy + b * block_bytes + (part == 0 ? 2 : 0), 0);
        }
        forge_dequantize(type, copy, parts[part], count);
    }
    double total = 0;
    for (int64_t i = 0; i < count; ++i) total += (fabs(parts[0][i]) + (split ? fabs(parts[1][i]) : 0)) * fabs(y[i]);
    return total;
}

// MARK: - Checks

typedef struct {
    forge_isa isa;
    const char *name;
    const forge_kernel_table *table;
} variant;

static const variant variants[] = {
    {FORGE_ISA_NEON, "neon", &forge_neon_kernels},
    {FORGE_ISA_NEON_DOTPROD, "neon-dotprod", &forge_neon_dotprod_kernels},
    {FORGE_ISA_NEON_I8MM, "neon-i8mm", &forge_neon_i8mm_kernels},
};
enum { VARIANTS = sizeof(variants) / sizeof(variants[0]) };

static const uint32_t weight_types[] = {FORGE_TYPE_F32, FORGE_TYPE_F16, FORGE_TYPE_BF16, FORGE_TYPE_Q4_0, FORGE_TYPE_Q4_1,
                                        FORGE_TYPE_Q5_0, FORGE_TYPE_Q5_1, FORGE_TYPE_Q8_0, FORGE_TYPE_IQ4_NL, FORGE_TYPE_Q4_K,
                                        FORGE_TYPE_Q5_K, FORGE_TYPE_Q6_K};
enum { WEIGHT_TYPES = sizeof(weight_types) / sizeof(weight_types[0]) };

// Row lengths: blocks of the format, or ragged value counts for the float formats.
static int64_t length_for(uint32_t type, int index) {
    static const int64_t floats[] = {1, 15, 16, 17, 100, 907}, blocks32[] = {1, 3, 4, 7, 13, 37}, blocks256[] = {1, 2, 3, 5, 6, 9};
    const int64_t block_size = forge_type_block_size(type);
    return block_size == 1 ? floats[index] : block_size == QK ? blocks32[index] * QK : blocks256[index] * QK_K;
}
enum { LENGTHS = 6, SEEDS = 3 };

static void random_activations(uint32_t type, int64_t count, uint8_t *bytes) {
    const uint32_t activation_type = (uint32_t)forge_activation_type(type);
    float input[count];
    normals(input, count, 1.5f);
    forge_quantize_activations(FORGE_ISA_GENERIC, activation_type, input, bytes, count);
}

static void check_dot_products(const variant *v, int supported[]) {
    for (int t = 0; t < WEIGHT_TYPES; ++t) {
        const uint32_t type = weight_types[t];
        if (!v->table->dot[type]) continue;
        for (int l = 0; l < LENGTHS; ++l) {
            for (int seed = 0; seed < SEEDS; ++seed) {
                random_state = 1000 * type + 10 * l + seed;
                const int64_t count = length_for(type, l);
                uint8_t *w = malloc(row_bytes_of(type, count)), *a = malloc(4 * (size_t)count + 64);
                random_weights(type, count, w);
                random_activations(type, count, a);
                const float got = v->table->dot[type](count, w, a);
                const float generic = forge_dot(FORGE_ISA_GENERIC, type, count, w, a);
                const float model = model_dot(type, count, w, a);
                const double bound = 1e-5 * magnitude(type, count, w, a) + 1e-30;
                int same_across = 1;
                for (int other = 0; other < VARIANTS; ++other) {
                    if (supported[other] && variants[other].table->dot[type]) {
                        same_across &= bits_of(variants[other].table->dot[type](count, w, a)) == bits_of(got);
                    }
                }
                check(bits_of(got) == bits_of(model) && fabs((double)got - generic) <= bound && same_across,
                      "%s dot type %u, %lld values, seed %d: %.9g, model %.9g, generic %.9g (bound %.3g), same across variants %d",
                      v->name, type, (long long)count, seed, got, model, generic, bound, same_across);
                free(w);
                free(a);
            }
        }
    }
}

// Inputs the encoders must round as the generic ones: normals, zeros, ties of largest magnitude
// of both signs, the f16 subnormal range, a value past f16, exact .5 ties, and values at and
// beside the halfway points of f16 and of bf16.
static void fill_encoder_input(float *x, int64_t count, int kind) {
    static const uint32_t f16_halfway[3] = {0x1000, 0x0fff, 0x1001}, bf16_halfway[3] = {0x8000, 0x7fff, 0x8001};
    normals(x, count, 4);
    for (int64_t i = 0; i < count; ++i) {
        uint32_t bits = bits_of(x[i]);
        switch (kind) {
        case 1: x[i] = 0; break;
        case 2: x[i] = (float)(i % 7) - 3; break;
        case 3: x[i] *= 1e-30f; break;
        case 4: if (i == count / 2) x[i] = 70000; break;
        case 5: x[i] = i % 32 == 0 ? 127 : (float)(i % 32 - 16) + 0.5f; break;
        case 6: bits = (bits & ~0x1fffu) | f16_halfway[i % 3]; memcpy(&x[i], &bits, 4); break;
        case 7: bits = (bits & ~0xffffu) | bf16_halfway[i % 3]; memcpy(&x[i], &bits, 4); break;
        default: break;
        }
    }
}
enum { ENCODER_INPUTS = 8 };

static void check_encoders(const variant *v) {
    static const uint32_t types[] = {FORGE_TYPE_F16, FORGE_TYPE_BF16, FORGE_TYPE_Q8_0, FORGE_TYPE_Q8_1, FORGE_TYPE_Q8_K};
    static const int64_t counts[][2] = {{37, 259}, {37, 259}, {96, 416}, {96, 416}, {256, 768}};
    for (int t = 0; t < 5; ++t) {
        // Through the dispatcher: the dotprod and i8mm tables take the plain NEON encoders.
        const forge_quantize_fn quantize = forge_select_quantize(v->isa, types[t]);
        if (!quantize) continue;
        for (int c = 0; c < 2; ++c) {
            for (int kind = 0; kind < ENCODER_INPUTS; ++kind) {
                random_state = 77 + 10 * kind + c;
                const int64_t count = counts[t][c];
                float x[count];
                fill_encoder_input(x, count, kind);
                const size_t bytes = row_bytes_of(types[t], count);
                uint8_t got[bytes], expected[bytes];
                memset(got, 0x55, bytes);
                memset(expected, 0xaa, bytes);
                quantize(x, got, count);
                forge_quantize_activations(FORGE_ISA_GENERIC, types[t], x, expected, count);
                size_t first = 0;
                while (first < bytes && got[first] == expected[first]) ++first;
                check(first == bytes, "%s encoder type %u, %lld values, input %d: bytes differ from %zu on", v->name, types[t],
                      (long long)count, kind, first);
            }
        }
    }
}

// Each (row, token) of a panel of FORGE_PANEL_ROWS rows × one or two tiles equals the dot product.
static void check_panels(const variant *v) {
    for (int t = 0; t < WEIGHT_TYPES; ++t) {
        const uint32_t type = weight_types[t];
        if (!v->table->panel[type]) continue;
        const uint32_t activation_type = (uint32_t)forge_activation_type(type);
        for (int l = 0; l < LENGTHS; l += 2) {
            for (int tokens = FORGE_TILE_TOKENS; tokens <= 2 * FORGE_TILE_TOKENS; tokens += FORGE_TILE_TOKENS) {
                random_state = 500 + 10 * type + l + tokens;
                const int64_t count = length_for(type, l), per_token = 2 * (count / QK);
                const size_t row_bytes = row_bytes_of(type, count), stride = row_bytes_of(activation_type, count);
                uint8_t *w = malloc(row_bytes * FORGE_PANEL_ROWS), *a = malloc(stride * (size_t)tokens);
                float token_scales[per_token * tokens], group_scales[per_token * tokens], out[5 * tokens];
                random_weights(type, count * FORGE_PANEL_ROWS, w);
                float input[count * tokens];
                normals(input, count * tokens, 1.5f);
                forge_quantize_activations(FORGE_ISA_GENERIC, activation_type, input, a, count * tokens);
                for (int k = 0; k < tokens; ++k) forge_activation_scales(activation_type, a + k * stride, count, token_scales + k * per_token);
                for (int g = 0; g < tokens / FORGE_TILE_TOKENS; ++g) {
                    const int64_t offset = g * FORGE_TILE_TOKENS * per_token;
                    forge_group_scales(activation_type, count, token_scales + offset, (size_t)per_token, group_scales + offset);
                }
                v->table->panel[type](count, w, row_bytes, a, stride, group_scales, tokens, out, 5);
                int same = 1;
                for (int k = 0; k < tokens; ++k)
                    for (int r = 0; r < FORGE_PANEL_ROWS; ++r)
                        same &= bits_of(out[5 * k + r]) == bits_of(v->table->dot[type](count, w + r * row_bytes, a + k * stride));
                check(same, "%s panel type %u, %lld values, %d tokens: differs from the dot product", v->name, type, (long long)count, tokens);
                free(w);
                free(a);
            }
        }
    }
}

// A tile of 1...FORGE_TILE_TOKENS tokens (rows `stride` apart, with spare bytes between them) gives
// each token the dot product's bits.
static void check_tiles(const variant *v) {
    for (int t = 0; t < WEIGHT_TYPES; ++t) {
        const uint32_t type = weight_types[t];
        if (!v->table->tile[type]) continue;
        const uint32_t activation_type = (uint32_t)forge_activation_type(type);
        for (int l = 0; l < LENGTHS; l += 2) {
            random_state = 700 + 10 * type + l;
            const int64_t count = length_for(type, l);
            const size_t stride = row_bytes_of(activation_type, count) + 6;
            uint8_t *w = malloc(row_bytes_of(type, count)), *a = malloc(stride * FORGE_TILE_TOKENS);
            random_weights(type, count, w);
            for (int k = 0; k < FORGE_TILE_TOKENS; ++k) random_activations(type, count, a + k * stride);
            for (int tokens = 1; tokens <= FORGE_TILE_TOKENS; ++tokens) {
                float out[3 * FORGE_TILE_TOKENS];
                v->table->tile[type](count, w, a, stride, NULL, tokens, out, 3);
                int same = 1;
                for (int k = 0; k < tokens; ++k) same &= bits_of(out[3 * k]) == bits_of(v->table->dot[type](count, w, a + k * stride));
                check(same, "%s tile type %u, %lld values, %d tokens: differs from the dot product", v->name, type, (long long)count, tokens);
            }
            free(w);
            free(a);
        }
    }
}

// forge_matmul through the dispatcher (panels and tiles where the table has them) against the
// variant's dot product per (row, token).
static void check_matmul(const variant *v) {
    static const int shapes[][3] = {{9, 3, 1}, {13, 2, 11}, {6, 1, 4}}; // rows, blocks per row, tokens
    forge_scratch scratch = {0};
    for (int t = 0; t < WEIGHT_TYPES; ++t) {
        const uint32_t type = weight_types[t];
        const uint32_t activation_type = (uint32_t)forge_activation_type(type);
        for (int s = 0; s < 3; ++s) {
            const int rows = shapes[s][0], tokens = shapes[s][2];
            const int64_t block_size = forge_type_block_size(type);
            const int64_t columns = block_size == 1 ? shapes[s][1] * 32 + 13 : shapes[s][1] * block_size;
            random_state = 900 + 10 * type + s;
            const size_t row_bytes = row_bytes_of(type, columns), stride = row_bytes_of(activation_type, columns);
            uint8_t *w = malloc(row_bytes * (size_t)rows), *a = malloc(stride * (size_t)tokens);
            float input[columns * tokens], output[rows * tokens];
            random_weights(type, columns * rows, w);
            normals(input, columns * tokens, 1.5f);
            const int status = forge_matmul(NULL, v->isa, FORGE_ROWS_FASTEST, &scratch, type, rows, columns, w, row_bytes, input, output, tokens);
            forge_quantize_activations(v->isa, activation_type, input, a, columns * tokens);
            int same = status == 0;
            for (int k = 0; k < tokens; ++k)
                for (int r = 0; r < rows; ++r)
                    same &= bits_of(output[k * rows + r]) == bits_of(forge_dot(v->isa, type, columns, w + r * row_bytes, a + k * stride));
            check(same, "%s matmul type %u, %d×%lld×%d: differs from the dot products", v->name, type, rows, (long long)columns, tokens);
            free(w);
            free(a);
        }
    }
    forge_scratch_release(&scratch);
}

static int same_floats(const float *a, const float *b, int64_t count) {
    for (int64_t i = 0; i < count; ++i)
        if (bits_of(a[i]) != bits_of(b[i])) return 0;
    return 1;
}

enum { KV_HEADS = 2, KEYS = 150 };

// A cache of KEYS rows of KV_HEADS heads (f16 or f32), keys of scale 1.5 and values of scale 1.
static void *random_cache(uint32_t type, int64_t head_dim, float scale) {
    const int64_t count = KEYS * KV_HEADS * head_dim;
    float *values = malloc(sizeof(float) * (size_t)count);
    normals(values, count, scale);
    if (type == FORGE_TYPE_F32) return values;
    uint16_t *halves = malloc(2 * (size_t)count);
    for (int64_t i = 0; i < count; ++i) halves[i] = f32_to_f16(values[i]);
    free(values);
    return halves;
}

static void check_attention(const variant *v) {
    static const int64_t head_dims[] = {64, 80, 128};
    static const int64_t runs[][2] = {{1, 1}, {63, 63}, {KEYS, KEYS}, {KEYS, 64}}; // length, keys per chunk
    const int heads = 7;
    for (int h = 0; h < 3; ++h) {
        const int64_t d = head_dims[h];
        random_state = 31 + d;
        void *keys = random_cache(FORGE_TYPE_F16, d, 1.5f), *values = random_cache(FORGE_TYPE_F16, d, 1);
        const size_t row_bytes = KV_HEADS * (size_t)d * 2;
        float queries[heads * d], got[heads * d], expected[heads * d];
        normals(queries, heads * d, 1);
        for (int r = 0; r < 4; ++r) {
            forge_attention_group(v->isa, queries, got, heads, (uint8_t *)keys + 2 * d, (uint8_t *)values + 2 * d, row_bytes, runs[r][0], 0, runs[r][1], d, 0.11f);
            forge_attention_group(FORGE_ISA_GENERIC, queries, expected, heads, (uint8_t *)keys + 2 * d, (uint8_t *)values + 2 * d, row_bytes, runs[r][0], 0, runs[r][1], d, 0.11f);
            check(same_floats(got, expected, heads * d), "%s attention group, head size %lld, length %lld, chunk %lld", v->name,
                  (long long)d, (long long)runs[r][0], (long long)runs[r][1]);
        }
        free(keys);
        free(values);
    }
    static const int row_counts[] = {1, 5, 37, 64};
    for (int kv = 0; kv < 2; ++kv) {
        const uint32_t type = kv == 0 ? FORGE_TYPE_F16 : FORGE_TYPE_F32;
        for (int h = 0; h < 2; ++h) {
            const int64_t d = head_dims[h];
            random_state = 57 + d + kv;
            void *keys = random_cache(type, d, 1.5f), *values = random_cache(type, d, 1);
            const size_t row_bytes = KV_HEADS * (size_t)d * (type == FORGE_TYPE_F16 ? 2 : 4);
            for (int c = 0; c < 4; ++c) {
                const int rows = row_counts[c];
                float queries[rows * d], got[rows * d], expected[rows * d];
                normals(queries, rows * d, 1);
                forge_attention_row tile[rows], reference[rows];
                for (int r = 0; r < rows; ++r) {
                    const int64_t length = 1 + (r * 53 + 17) % KEYS;
                    tile[r] = (forge_attention_row){queries + r * d, got + r * d, length};
                    reference[r] = (forge_attention_row){queries + r * d, expected + r * d, length};
                }
                const int status = forge_attention_tile(v->isa, tile, rows, type, keys, values, row_bytes, d, 0.11f);
                forge_attention_tile(FORGE_ISA_GENERIC, reference, rows, type, keys, values, row_bytes, d, 0.11f);
                check(status == 0 && same_floats(got, expected, rows * d), "%s attention tile, %s cache, head size %lld, %d rows",
                      v->name, type == FORGE_TYPE_F16 ? "f16" : "f32", (long long)d, rows);
            }
            free(keys);
            free(values);
        }
    }
}

static void check_swiglu(const variant *v) {
    enum { ROWS = 3, WIDTH = 16 * 5 + 7 };
    for (int seed = 0; seed < 2; ++seed) {
        random_state = 5 + seed;
        float gate[ROWS * WIDTH], up[ROWS * WIDTH], got[ROWS * WIDTH];
        normals(gate, ROWS * WIDTH, 4);
        normals(up, ROWS * WIDTH, 1);
        gate[3] = 200, gate[4] = -200, gate[5] = 95, gate[6] = -95; // past the exponential's saturation, and near it
        memcpy(got, gate, sizeof(gate));
        forge_swiglu(v->isa, got, up, ROWS, WIDTH);
        forge_swiglu(FORGE_ISA_GENERIC, gate, up, ROWS, WIDTH);
        check(same_floats(got, gate, ROWS * WIDTH), "%s SwiGLU, seed %d", v->name, seed);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: kernel_tests neon|neon-dotprod|neon-i8mm (the variant this CPU must choose)\n");
        return 2;
    }
    int supported[VARIANTS];
    const char *best = "none";
    for (int i = 0; i < VARIANTS; ++i) {
        supported[i] = forge_isa_supported(variants[i].isa);
        if (forge_isa_best() == variants[i].isa) best = variants[i].name;
    }
    printf("detected: dotprod %s, i8mm %s; forge_isa_best: %s\n", supported[1] ? "yes" : "no", supported[2] ? "yes" : "no", best);
    check(strcmp(best, argv[1]) == 0, "expected %s to be chosen, got %s", argv[1], best);
    for (int i = 0; i < VARIANTS; ++i) {
        if (!supported[i]) continue;
        check_encoders(&variants[i]);
        check_dot_products(&variants[i], supported);
        check_tiles(&variants[i]);
        check_panels(&variants[i]);
        check_matmul(&variants[i]);
        check_attention(&variants[i]);
        check_swiglu(&variants[i]);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
