// The multiply-add probe behind `forge bench`'s compute ceiling: prompt processing with float
// weights is one fused multiply-add per weight and token with the operands in registers or cache,
// so the rate a core issues them at bounds its prompt tokens per second, as the streaming read
// bounds decode.
#include <stdint.h>
#include "CForgeKernels.h"

// Independent chains: more than an FMA's latency times the FMA pipes on the cores seen so far,
// so the pipes never wait for a result. The multiplier and addend keep every chain finite.
enum { CHAINS = 12 };
#define MULTIPLIER 0.999999f
#define ADDEND 1e-7f

static double chains_generic(int64_t steps, float *sink) {
    float a[CHAINS];
    for (int c = 0; c < CHAINS; ++c) a[c] = (float)c;
    for (int64_t s = 0; s < steps; ++s) {
        for (int c = 0; c < CHAINS; ++c) a[c] = a[c] * MULTIPLIER + ADDEND;
    }
    for (int c = 0; c < CHAINS; ++c) *sink += a[c];
    return 2.0 * CHAINS * (double)steps;
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static double chains_avx2(int64_t steps, float *sink) {
    __m256 a[CHAINS];
    const __m256 multiplier = _mm256_set1_ps(MULTIPLIER), addend = _mm256_set1_ps(ADDEND);
    for (int c = 0; c < CHAINS; ++c) a[c] = _mm256_set1_ps((float)c);
    for (int64_t s = 0; s < steps; ++s) {
        for (int c = 0; c < CHAINS; ++c) a[c] = _mm256_fmadd_ps(a[c], multiplier, addend);
    }
    for (int c = 0; c < CHAINS; ++c) *sink += _mm256_cvtss_f32(a[c]);
    return 2.0 * 8 * CHAINS * (double)steps;
}

__attribute__((target("avx512f"))) static double chains_avx512(int64_t steps, float *sink) {
    __m512 a[CHAINS];
    const __m512 multiplier = _mm512_set1_ps(MULTIPLIER), addend = _mm512_set1_ps(ADDEND);
    for (int c = 0; c < CHAINS; ++c) a[c] = _mm512_set1_ps((float)c);
    for (int64_t s = 0; s < steps; ++s) {
        for (int c = 0; c < CHAINS; ++c) a[c] = _mm512_fmadd_ps(a[c], multiplier, addend);
    }
    for (int c = 0; c < CHAINS; ++c) *sink += _mm512_cvtss_f32(a[c]);
    return 2.0 * 16 * CHAINS * (double)steps;
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

static double chains_neon(int64_t steps, float *sink) {
    float32x4_t a[CHAINS];
    const float32x4_t multiplier = vdupq_n_f32(MULTIPLIER), addend = vdupq_n_f32(ADDEND);
    for (int c = 0; c < CHAINS; ++c) a[c] = vdupq_n_f32((float)c);
    for (int64_t s = 0; s < steps; ++s) {
        for (int c = 0; c < CHAINS; ++c) a[c] = vfmaq_f32(addend, a[c], multiplier);
    }
    for (int c = 0; c < CHAINS; ++c) *sink += vgetq_lane_f32(a[c], 0);
    return 2.0 * 4 * CHAINS * (double)steps;
}
#endif

double forge_fma_chains(forge_isa isa, int64_t steps, float *sink) {
    if (!forge_isa_supported(isa)) return 0;
    switch (isa) {
#if defined(__x86_64__)
    case FORGE_ISA_AVX2: return chains_avx2(steps, sink);
    case FORGE_ISA_AVX512: return chains_avx512(steps, sink);
#endif
#if defined(__aarch64__)
    case FORGE_ISA_NEON:
    case FORGE_ISA_NEON_DOTPROD:
    case FORGE_ISA_NEON_I8MM: return chains_neon(steps, sink);
#endif
    default: return chains_generic(steps, sink);
    }
}
