#ifndef FORGE_VECTOR_MATH_H
#define FORGE_VECTOR_MATH_H
// The f32 vector operations of each instruction set, under one name per operation (as ggml's
// simd-mappings.h): avx2_add, avx512_add, neon_add. A kernel that is one algorithm at several
// widths is written once over them (attention_simd.h, included once per set with VECTOR_ISA
// naming the prefix) and keeps per-set code only where the instructions differ. Among them
// llama.cpp's vectorized exponential (ggml_v_expf of its AVX-512 build), also as a scalar that
// gives the same bits, so every kernel variant rounds softmax and SiLU as it does.
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

// The name a kernel written once (attention_simd.h) gives operation `name` of the set VECTOR_ISA.
#define VECTOR_OP(isa, name) VECTOR_PASTE(isa, name)
#define VECTOR_PASTE(isa, name) isa##_##name

// Every set: `vec` (lanes f32 values), `mask` (a truth value per lane), `wide` (a vec's lanes as
// doubles), and target (the function attribute its code needs). fma(a, b, c) is a·b + c rounded
// once; max is the set's own maximum instruction; reduce sums the lanes by halves (lanes i and
// i + lanes/2, down to 0 + 1), the order of _mm512_reduce_add_ps; f16 conversions round to
// nearest even.

#if defined(__x86_64__)

#define avx2_target AVX2
enum { avx2_lanes = 8 };
typedef __m256 avx2_vec;
typedef __m256 avx2_mask;
typedef struct { __m256d low, high; } avx2_wide;
AVX2 static inline __m256 avx2_zero(void) { return _mm256_setzero_ps(); }
AVX2 static inline __m256 avx2_set1(float x) { return _mm256_set1_ps(x); }
AVX2 static inline __m256 avx2_load(const float *p) { return _mm256_loadu_ps(p); }
AVX2 static inline void avx2_store(float *p, __m256 v) { _mm256_storeu_ps(p, v); }
AVX2 static inline __m256 avx2_load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
AVX2 static inline void avx2_store_f16(uint16_t *p, __m256 v) {
    _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
AVX2 static inline __m256 avx2_add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
AVX2 static inline __m256 avx2_sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
AVX2 static inline __m256 avx2_mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
AVX2 static inline __m256 avx2_div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
AVX2 static inline __m256 avx2_fma(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
AVX2 static inline __m256 avx2_max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
AVX2 static inline float avx2_reduce(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_add_ss(half, _mm_movehdup_ps(half)));
}
AVX2 static inline __m256 avx2_not_equal(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
AVX2 static inline __m256 avx2_greater(__m256 a, __m256 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
AVX2 static inline int avx2_mask_bits(__m256 mask) { return _mm256_movemask_ps(mask); }
AVX2 static inline __m256 avx2_select(__m256 mask, __m256 a, __m256 b) { return _mm256_blendv_ps(b, a, mask); }
AVX2 static inline __m256 avx2_keep(__m256 mask, __m256 v) { return _mm256_and_ps(mask, v); }
AVX2 static inline avx2_wide avx2_wide_zero(void) { return (avx2_wide){_mm256_setzero_pd(), _mm256_setzero_pd()}; }
AVX2 static inline avx2_wide avx2_wide_add(avx2_wide sum, __m256 v) {
    return (avx2_wide){_mm256_add_pd(sum.low, _mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                       _mm256_add_pd(sum.high, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)))};
}
// (float)((double)v + sum) per lane.
AVX2 static inline __m256 avx2_wide_sum(__m256 v, avx2_wide sum) {
    const __m128 low = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), sum.low));
    const __m128 high = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), sum.high));
    return _mm256_set_m128(high, low);
}

#define avx512_target AVX512
enum { avx512_lanes = 16 };
typedef __m512 avx512_vec;
typedef __mmask16 avx512_mask;
typedef struct { __m512d low, high; } avx512_wide;
AVX512 static inline __m256 avx512_upper_half(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }
AVX512 static inline __m512 avx512_zero(void) { return _mm512_setzero_ps(); }
AVX512 static inline __m512 avx512_set1(float x) { return _mm512_set1_ps(x); }
AVX512 static inline __m512 avx512_load(const float *p) { return _mm512_loadu_ps(p); }
AVX512 static inline void avx512_store(float *p, __m512 v) { _mm512_storeu_ps(p, v); }
AVX512 static inline __m512 avx512_load_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
AVX512 static inline void avx512_store_f16(uint16_t *p, __m512 v) {
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
AVX512 static inline __m512 avx512_add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
AVX512 static inline __m512 avx512_sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
AVX512 static inline __m512 avx512_mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
AVX512 static inline __m512 avx512_div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
AVX512 static inline __m512 avx512_fma(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
AVX512 static inline __m512 avx512_max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
AVX512 static inline float avx512_reduce(__m512 v) {
    const __m256 eight = _mm256_add_ps(avx512_upper_half(v), _mm512_castps512_ps256(v));
    const __m128 four = _mm_add_ps(_mm256_extractf128_ps(eight, 1), _mm256_castps256_ps128(eight));
    const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    return _mm_cvtss_f32(_mm_add_ss(two, _mm_movehdup_ps(two)));
}
AVX512 static inline __mmask16 avx512_not_equal(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
AVX512 static inline __mmask16 avx512_greater(__m512 a, __m512 b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
AVX512 static inline int avx512_mask_bits(__mmask16 mask) { return mask; }
AVX512 static inline __m512 avx512_select(__mmask16 mask, __m512 a, __m512 b) { return _mm512_mask_blend_ps(mask, b, a); }
AVX512 static inline __m512 avx512_keep(__mmask16 mask, __m512 v) { return _mm512_maskz_mov_ps(mask, v); }
AVX512 static inline avx512_wide avx512_wide_zero(void) { return (avx512_wide){_mm512_setzero_pd(), _mm512_setzero_pd()}; }
AVX512 static inline avx512_wide avx512_wide_add(avx512_wide sum, __m512 v) {
    return (avx512_wide){_mm512_add_pd(sum.low, _mm512_cvtps_pd(_mm512_castps512_ps256(v))),
                         _mm512_add_pd(sum.high, _mm512_cvtps_pd(avx512_upper_half(v)))};
}
AVX512 static inline __m512 avx512_wide_sum(__m512 v, avx512_wide sum) {
    const __m256 low = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), sum.low));
    const __m256 high = _mm512_cvtpd_ps(_mm512_add_pd(_mm512_cvtps_pd(avx512_upper_half(v)), sum.high));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(low)), _mm256_castps_pd(high), 1));
}
AVX512 static inline __m512 avx512_exp(__m512 x) {
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
AVX2 static inline __m256 avx2_exp(__m256 x) {
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
// avx2_exp forms it: j · 2^⌊n/2⌋ exact, times 2^(n − ⌊n/2⌋) rounded once.
static inline float32x4_t neon_exp(float32x4_t x) {
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

#define neon_target
enum { neon_lanes = 4 };
typedef float32x4_t neon_vec;
typedef uint32x4_t neon_mask;
typedef struct { float64x2_t low, high; } neon_wide;
static inline float32x4_t neon_zero(void) { return vdupq_n_f32(0); }
static inline float32x4_t neon_set1(float x) { return vdupq_n_f32(x); }
static inline float32x4_t neon_load(const float *p) { return vld1q_f32(p); }
static inline void neon_store(float *p, float32x4_t v) { vst1q_f32(p, v); }
static inline float32x4_t neon_load_f16(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
static inline void neon_store_f16(uint16_t *p, float32x4_t v) { vst1_u16(p, vreinterpret_u16_f16(vcvt_f16_f32(v))); }
static inline float32x4_t neon_add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
static inline float32x4_t neon_sub(float32x4_t a, float32x4_t b) { return vsubq_f32(a, b); }
static inline float32x4_t neon_mul(float32x4_t a, float32x4_t b) { return vmulq_f32(a, b); }
static inline float32x4_t neon_div(float32x4_t a, float32x4_t b) { return vdivq_f32(a, b); }
static inline float32x4_t neon_fma(float32x4_t a, float32x4_t b, float32x4_t c) { return vfmaq_f32(c, a, b); }
static inline float32x4_t neon_max(float32x4_t a, float32x4_t b) { return vmaxnmq_f32(a, b); }
static inline float neon_reduce(float32x4_t v) {
    const float32x2_t two = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(two, 0) + vget_lane_f32(two, 1);
}
static inline uint32x4_t neon_not_equal(float32x4_t a, float32x4_t b) { return vmvnq_u32(vceqq_f32(a, b)); }
static inline uint32x4_t neon_greater(float32x4_t a, float32x4_t b) { return vcgtq_f32(a, b); }
static inline int neon_mask_bits(uint32x4_t mask) {
    const uint32x4_t bits = {1, 2, 4, 8};
    return (int)vaddvq_u32(vandq_u32(mask, bits));
}
static inline float32x4_t neon_select(uint32x4_t mask, float32x4_t a, float32x4_t b) { return vbslq_f32(mask, a, b); }
static inline float32x4_t neon_keep(uint32x4_t mask, float32x4_t v) {
    return vreinterpretq_f32_u32(vandq_u32(mask, vreinterpretq_u32_f32(v)));
}
static inline neon_wide neon_wide_zero(void) { return (neon_wide){vdupq_n_f64(0), vdupq_n_f64(0)}; }
static inline neon_wide neon_wide_add(neon_wide sum, float32x4_t v) {
    return (neon_wide){vaddq_f64(sum.low, vcvt_f64_f32(vget_low_f32(v))), vaddq_f64(sum.high, vcvt_high_f64_f32(v))};
}
static inline float32x4_t neon_wide_sum(float32x4_t v, neon_wide sum) {
    const float32x2_t low = vcvt_f32_f64(vaddq_f64(vcvt_f64_f32(vget_low_f32(v)), sum.low));
    return vcvt_high_f32_f64(low, vaddq_f64(vcvt_high_f64_f32(v), sum.high));
}

#endif

#endif
