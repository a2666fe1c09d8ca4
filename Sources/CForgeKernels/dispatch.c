// Type geometry, the choice of kernel variant, and the entry points that take a variant.
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "formats.h"
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

int64_t forge_type_block_size(uint32_t type) {
    switch (type) {
    case FORGE_TYPE_F32: case FORGE_TYPE_F16: case FORGE_TYPE_BF16: return 1;
    case FORGE_TYPE_Q4_0: case FORGE_TYPE_Q4_1: case FORGE_TYPE_Q5_0: case FORGE_TYPE_Q5_1:
    case FORGE_TYPE_Q8_0: case FORGE_TYPE_Q8_1: case FORGE_TYPE_IQ4_NL: return QK;
    case FORGE_TYPE_Q2_K: case FORGE_TYPE_Q3_K: case FORGE_TYPE_Q4_K: case FORGE_TYPE_Q5_K:
    case FORGE_TYPE_Q6_K: case FORGE_TYPE_Q8_K: return QK_K;
    default: return 0;
    }
}

int64_t forge_type_block_bytes(uint32_t type) {
    switch (type) {
    case FORGE_TYPE_F32: return 4;
    case FORGE_TYPE_F16: case FORGE_TYPE_BF16: return 2;
    case FORGE_TYPE_Q4_0: return sizeof(block_q4_0);
    case FORGE_TYPE_Q4_1: return sizeof(block_q4_1);
    case FORGE_TYPE_Q5_0: return sizeof(block_q5_0);
    case FORGE_TYPE_Q5_1: return sizeof(block_q5_1);
    case FORGE_TYPE_Q8_0: return sizeof(block_q8_0);
    case FORGE_TYPE_Q8_1: return sizeof(block_q8_1);
    case FORGE_TYPE_IQ4_NL: return sizeof(block_iq4_nl);
    case FORGE_TYPE_Q2_K: return sizeof(block_q2_K);
    case FORGE_TYPE_Q3_K: return sizeof(block_q3_K);
    case FORGE_TYPE_Q4_K: return sizeof(block_q4_K);
    case FORGE_TYPE_Q5_K: return sizeof(block_q5_K);
    case FORGE_TYPE_Q6_K: return sizeof(block_q6_K);
    case FORGE_TYPE_Q8_K: return sizeof(block_q8_K);
    default: return 0;
    }
}

int32_t forge_activation_type(uint32_t weight_type) {
    switch (weight_type) {
    case FORGE_TYPE_F32: case FORGE_TYPE_F16: case FORGE_TYPE_BF16: return (int32_t)weight_type;
    case FORGE_TYPE_Q4_0: case FORGE_TYPE_Q5_0: case FORGE_TYPE_Q8_0: case FORGE_TYPE_IQ4_NL: return FORGE_TYPE_Q8_0;
    case FORGE_TYPE_Q4_1: case FORGE_TYPE_Q5_1: return FORGE_TYPE_Q8_1;
    case FORGE_TYPE_Q2_K: case FORGE_TYPE_Q3_K: case FORGE_TYPE_Q4_K: case FORGE_TYPE_Q5_K: case FORGE_TYPE_Q6_K:
        return FORGE_TYPE_Q8_K;
    default: return -1;
    }
}

#if defined(__aarch64__) && defined(__APPLE__)
static int sysctl_flag(const char *name) {
    int value = 0;
    size_t size = sizeof(value);
    return sysctlbyname(name, &value, &size, NULL, 0) == 0 && value != 0;
}
#endif

#if defined(__aarch64__)
// Other systems (no auxiliary vector, no sysctl names) get plain NEON.
static int arm_has_dotprod(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__APPLE__)
    return sysctl_flag("hw.optional.arm.FEAT_DotProd");
#else
    return 0;
#endif
}

static int arm_has_i8mm(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
#elif defined(__APPLE__)
    return sysctl_flag("hw.optional.arm.FEAT_I8MM");
#else
    return 0;
#endif
}
#endif

int forge_isa_supported(forge_isa isa) {
    switch (isa) {
    case FORGE_ISA_GENERIC: return 1;
#if defined(__x86_64__)
    case FORGE_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case FORGE_ISA_AVX512:
        return forge_isa_supported(FORGE_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512vnni");
#elif defined(__aarch64__)
    case FORGE_ISA_NEON: return 1;
    case FORGE_ISA_NEON_DOTPROD: return arm_has_dotprod();
    // The i8mm table keeps the dotprod dot products.
    case FORGE_ISA_NEON_I8MM: return arm_has_dotprod() && arm_has_i8mm();
#endif
    default: return 0;
    }
}

forge_isa forge_isa_best(void) {
#if defined(__aarch64__)
    if (forge_isa_supported(FORGE_ISA_NEON_I8MM)) return FORGE_ISA_NEON_I8MM;
    if (forge_isa_supported(FORGE_ISA_NEON_DOTPROD)) return FORGE_ISA_NEON_DOTPROD;
    return FORGE_ISA_NEON;
#else
    if (forge_isa_supported(FORGE_ISA_AVX512)) return FORGE_ISA_AVX512;
    if (forge_isa_supported(FORGE_ISA_AVX2)) return FORGE_ISA_AVX2;
    return FORGE_ISA_GENERIC;
#endif
}

static const forge_kernel_table *table_for(forge_isa isa) {
#if defined(__x86_64__)
    if (isa == FORGE_ISA_AVX512) return &forge_avx512_kernels;
    if (isa == FORGE_ISA_AVX2) return &forge_avx2_kernels;
#elif defined(__aarch64__)
    if (isa == FORGE_ISA_NEON_I8MM) return &forge_neon_i8mm_kernels;
    if (isa == FORGE_ISA_NEON_DOTPROD) return &forge_neon_dotprod_kernels;
    if (isa == FORGE_ISA_NEON) return &forge_neon_kernels;
#endif
    (void)isa;
    return &forge_generic_kernels;
}

// Where a table without an entry looks next: AVX-512 → AVX2 → generic, i8mm → dotprod → NEON →
// generic (each variant's CPU has the next one's instructions).
static forge_isa fallback_of(forge_isa isa) {
    switch (isa) {
    case FORGE_ISA_AVX512: return FORGE_ISA_AVX2;
    case FORGE_ISA_NEON_I8MM: return FORGE_ISA_NEON_DOTPROD;
    case FORGE_ISA_NEON_DOTPROD: return FORGE_ISA_NEON;
    default: return FORGE_ISA_GENERIC;
    }
}

// The table a weight type's kernels come from: the first along the fallback chain with a dot
// product for it. Its tiles and panels must give that dot product's bits, so they come from the
// same table or not at all.
static const forge_kernel_table *kernels_for(forge_isa isa, uint32_t weight_type) {
    const forge_kernel_table *table = table_for(isa);
    while (!table->dot[weight_type] && isa != FORGE_ISA_GENERIC) {
        isa = fallback_of(isa);
        table = table_for(isa);
    }
    return table;
}

forge_dot_fn forge_select_dot(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    return kernels_for(isa, weight_type)->dot[weight_type];
}

forge_quantize_fn forge_select_quantize(forge_isa isa, uint32_t activation_type) {
    if (activation_type >= FORGE_TYPE_LIMIT) return NULL;
    for (;; isa = fallback_of(isa)) {
        const forge_quantize_fn chosen = table_for(isa)->quantize[activation_type];
        if (chosen || isa == FORGE_ISA_GENERIC) return chosen;
    }
}

forge_tile_fn forge_select_tile(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    return kernels_for(isa, weight_type)->tile[weight_type];
}

forge_panel_fn forge_select_panel(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    return kernels_for(isa, weight_type)->panel[weight_type];
}

forge_dot_fn forge_select_single_dot(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    return kernels_for(isa, weight_type)->single_dot[weight_type];
}

forge_row_panel_fn forge_select_row_panel(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    const forge_kernel_table *table = kernels_for(isa, weight_type);
    return table->tile[weight_type] ? table->row_panel[weight_type] : NULL;
}

// What FORGE_ROWS_FASTEST means per variant and weight type; FORGE_ROWS_FASTEST (0): the default.
// Atomic because a calibration may set an entry while other threads multiply.
enum { ISA_LIMIT = FORGE_ISA_NEON_I8MM + 1 };
static _Atomic uint8_t row_strategies[ISA_LIMIT][FORGE_TYPE_LIMIT];

void forge_set_row_strategy(forge_isa isa, uint32_t weight_type, forge_row_order order) {
    if ((unsigned)isa >= ISA_LIMIT || weight_type >= FORGE_TYPE_LIMIT || (unsigned)order > FORGE_ROWS_STREAMS) return;
    atomic_store_explicit(&row_strategies[isa][weight_type], (uint8_t)order, memory_order_relaxed);
}

forge_row_order forge_row_order_resolved(forge_isa isa, uint32_t weight_type, forge_row_order order) {
    if (!forge_select_row_panel(isa, weight_type)) return FORGE_ROWS_ONE_BY_ONE;
    if (order == FORGE_ROWS_FASTEST && (unsigned)isa < ISA_LIMIT) {
        order = (forge_row_order)atomic_load_explicit(&row_strategies[isa][weight_type], memory_order_relaxed);
    }
    if (order != FORGE_ROWS_FASTEST) return order;
    return kernels_for(isa, weight_type)->row_panel_streams[weight_type] ? FORGE_ROWS_STREAMS : FORGE_ROWS_PANELS;
}

forge_lane_panel_fn forge_select_lane_panel(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    const forge_kernel_table *table = kernels_for(isa, weight_type);
    return table->tile[weight_type] ? table->lane_panel[weight_type] : NULL;
}

forge_quantize_fn forge_select_panel_activations(forge_isa isa, uint32_t weight_type) {
    return forge_select_panel(isa, weight_type) ? kernels_for(isa, weight_type)->panel_activations[weight_type] : NULL;
}

int forge_select_float_panel_tokens(forge_isa isa, uint32_t weight_type) {
    if (weight_type >= FORGE_TYPE_LIMIT) return 0;
    return kernels_for(isa, weight_type)->float_panel_tokens;
}

forge_tile_fn forge_select_batch_tile(forge_isa isa, uint32_t weight_type, int64_t batch_tokens) {
    if (weight_type >= FORGE_TYPE_LIMIT) return NULL;
    const forge_tile_fn wide = kernels_for(isa, weight_type)->wide_tile[weight_type];
    return batch_tokens >= FORGE_WIDE_BATCH && wide ? wide : forge_select_tile(isa, weight_type);
}

int forge_quantize_activations(forge_isa isa, uint32_t type, const float *source, void *destination, int64_t count) {
    const forge_quantize_fn quantize = forge_select_quantize(isa, type);
    if (!quantize) return -1;
    quantize(source, destination, count);
    return 0;
}

float forge_dot(forge_isa isa, uint32_t weight_type, int64_t count, const void *weights, const void *activations) {
    const forge_dot_fn dot = forge_select_dot(isa, weight_type);
    return dot ? dot(count, weights, activations) : NAN;
}

float forge_dot_single(forge_isa isa, uint32_t weight_type, int64_t count, const void *weights, const void *activations) {
    const forge_dot_fn single = forge_select_single_dot(isa, weight_type);
    return single ? single(count, weights, activations) : forge_dot(isa, weight_type, count, weights, activations);
}

void forge_activation_scales(uint32_t activation_type, const void *activations, int64_t count, float *scales) {
    const int64_t blocks = count / QK;
    if (activation_type == FORGE_TYPE_Q8_0) {
        const block_q8_0 *rows = activations;
        for (int64_t b = 0; b < blocks; ++b) scales[b] = f16_to_f32(rows[b].d);
    } else if (activation_type == FORGE_TYPE_Q8_1) {
        const block_q8_1 *rows = activations;
        for (int64_t b = 0; b < blocks; ++b) {
            scales[b] = f16_to_f32(rows[b].d);
            scales[blocks + b] = f16_to_f32(rows[b].s);
        }
    }
}

void forge_group_scales(uint32_t activation_type, int64_t count, const float *token_scales, size_t scales_per_token,
                        float *group_scales) {
    const int64_t blocks = count / QK;
    for (int t = 0; t < FORGE_TILE_TOKENS; ++t) {
        const float *own = token_scales + (size_t)t * scales_per_token;
        for (int64_t b = 0; b < blocks; ++b) {
            group_scales[4 * b + t] = own[b];
            if (activation_type == FORGE_TYPE_Q8_1) group_scales[4 * blocks + 4 * b + t] = own[blocks + b];
        }
    }
}

int forge_dot_tokens(forge_isa isa, uint32_t weight_type, int64_t count, const void *weights, const void *activations,
                     size_t activation_stride, int tokens, float *out, size_t out_stride) {
    const forge_dot_fn dot = forge_select_dot(isa, weight_type);
    if (!dot || tokens < 1 || tokens > FORGE_TILE_TOKENS) return -1;
    const forge_tile_fn tile = forge_select_tile(isa, weight_type);
    if (tile) {
        const int64_t per_token = 2 * (count / QK);
        float *scales = malloc(sizeof(float) * (size_t)(per_token * tokens + 1));
        if (!scales) return -1;
        for (int t = 0; t < tokens; ++t) {
            forge_activation_scales((uint32_t)forge_activation_type(weight_type),
                                    (const uint8_t *)activations + (size_t)t * activation_stride, count, scales + t * per_token);
        }
        tile(count, weights, activations, activation_stride, scales, tokens, out, out_stride);
        free(scales);
    } else {
        for (int t = 0; t < tokens; ++t) {
            out[(size_t)t * out_stride] = dot(count, weights, (const uint8_t *)activations + (size_t)t * activation_stride);
        }
    }
    return 0;
}
