#ifndef FORGE_VECTOR_MATH_H
#define FORGE_VECTOR_MATH_H
// llama.cpp's vectorized exponential (ggml_v_expf of its AVX-512 build), as a vector and as a
// scalar that gives the same bits, so every kernel variant rounds softmax and SiLU as it does.
#include <math.h>
#include "formats.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

// ggml_v_expf of the AVX-512 build, one lane: a polynomial in the reduced argument, scaled by a
// power of two (scalef), with saturation to 0 or infinity outside ±192 binades.
static inline float vector_expf(float x) {
    const float shifter = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, shifter);
    const float n = z - shifter;
    if (n != n) return n;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    return ldexpf(j, (int)n);
}

#if defined(__x86_64__)
AVX512 static inline __m512 expf_avx512(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 saturated = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 result = _mm512_scalef_ps(j, n);
    if (_mm512_kortestz(saturated, saturated)) return result;
    const __m512 zero = _mm512_setzero_ps();
    const __m512 limit = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, zero, _CMP_LE_OQ), _mm512_set1_ps(INFINITY), zero);
    return _mm512_mask_blend_ps(saturated, result, limit);
}

// ggml_v_expf of the AVX-512 build in eight lanes (vector_expf per lane). Its scalef(j, n) is
// j · 2^n rounded once: here j · 2^⌊n/2⌋, exact while both factors stay normal (|n| ≤ 192), then
// times 2^(n − ⌊n/2⌋), the one rounding.
AVX2 static inline __m256 expf_avx2(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    const __m256i exponent = _mm256_cvttps_epi32(n);
    const __m256i first = _mm256_srai_epi32(exponent, 1), second = _mm256_sub_epi32(exponent, first);
    const __m256 first_power = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(first, _mm256_set1_epi32(127)), 23));
    const __m256 second_power = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(second, _mm256_set1_epi32(127)), 23));
    const __m256 result = _mm256_mul_ps(_mm256_mul_ps(j, first_power), second_power);
    const __m256 saturated = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(192), _CMP_GT_OQ);
    if (_mm256_testz_ps(saturated, saturated)) return result;
    const __m256 limit = _mm256_blendv_ps(_mm256_set1_ps(INFINITY), _mm256_setzero_ps(), _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
    return _mm256_blendv_ps(result, limit, saturated);
}

#elif defined(__aarch64__)

// ggml_v_expf of the AVX-512 build in four lanes (vector_expf per lane), its scalef formed as
// expf_avx2 forms it: j · 2^⌊n/2⌋ exact, times 2^(n − ⌊n/2⌋) rounded once.
static inline float32x4_t expf_neon(float32x4_t x) {
    const float32x4_t r = vdupq_n_f32(0x1.8p23f);
    const float32x4_t n = vsubq_f32(vfmaq_f32(r, x, vdupq_n_f32(0x1.715476p+0f)), r);
    const float32x4_t b = vfmsq_f32(vfmsq_f32(x, n, vdupq_n_f32(0x1.62e4p-1f)), n, vdupq_n_f32(0x1.7f7d1cp-20f));
    const float32x4_t u = vmulq_f32(b, b);
    const float32x4_t j = vfmaq_f32(
        vfmaq_f32(vdupq_n_f32(1.0f), vdupq_n_f32(0x1.ffffecp-1f), b),
        vfmaq_f32(vfmaq_f32(vdupq_n_f32(0x1.fffdb6p-2f), vdupq_n_f32(0x1.555e66p-3f), b),
                  vfmaq_f32(vdupq_n_f32(0x1.573e2ep-5f), vdupq_n_f32(0x1.0e4020p-7f), b), u),
        u);
    const int32x4_t exponent = vcvtq_s32_f32(n);
    const int32x4_t first = vshrq_n_s32(exponent, 1), second = vsubq_s32(exponent, first);
    const float32x4_t first_power = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(first, vdupq_n_s32(127)), 23));
    const float32x4_t second_power = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(second, vdupq_n_s32(127)), 23));
    const float32x4_t result = vmulq_f32(vmulq_f32(j, first_power), second_power);
    const uint32x4_t saturated = vcagtq_f32(n, vdupq_n_f32(192));
    const float32x4_t limit = vbslq_f32(vcleq_f32(n, vdupq_n_f32(0)), vdupq_n_f32(0), vdupq_n_f32(INFINITY));
    return vbslq_f32(saturated, limit, result);
}

#endif

#endif
