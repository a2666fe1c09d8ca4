// Element-wise activations, rounded as llama.cpp's AVX-512 build rounds them (its vectorized
// exponential over whole 16-lane steps of a row, the C library's expf for the rest) in every
// variant.
#include "vector_math.h"

static void swiglu_row_generic(float *gate, const float *up, int64_t width) {
    const int64_t whole = width / 16 * 16;
    int64_t i = 0;
    for (; i < whole; ++i) gate[i] = gate[i] / (1.0f + vector_expf(0.0f - gate[i])) * up[i];
    for (; i < width; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

#if defined(__x86_64__)
AVX2 static void swiglu_row_avx2(float *gate, const float *up, int64_t width) {
    const int64_t whole = width / 16 * 16;
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i < whole; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(one, expf_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < width; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

AVX512 static void swiglu_row_avx512(float *gate, const float *up, int64_t width) {
    int64_t i = 0;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (; i + 16 <= width; i += 16) {
        const __m512 x = _mm512_loadu_ps(gate + i);
        const __m512 silu = _mm512_div_ps(x, _mm512_add_ps(one, expf_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
        _mm512_storeu_ps(gate + i, _mm512_mul_ps(silu, _mm512_loadu_ps(up + i)));
    }
    for (; i < width; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
#elif defined(__aarch64__)
static void swiglu_row_neon(float *gate, const float *up, int64_t width) {
    const int64_t whole = width / 16 * 16;
    int64_t i = 0;
    const float32x4_t one = vdupq_n_f32(1.0f);
    for (; i < whole; i += 4) {
        const float32x4_t x = vld1q_f32(gate + i);
        const float32x4_t silu = vdivq_f32(x, vaddq_f32(one, expf_neon(vsubq_f32(vdupq_n_f32(0), x))));
        vst1q_f32(gate + i, vmulq_f32(silu, vld1q_f32(up + i)));
    }
    for (; i < width; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
#endif

void forge_swiglu(forge_isa isa, float *gate, const float *up, int64_t rows, int64_t width) {
    for (int64_t r = 0; r < rows; ++r) {
#if defined(__x86_64__)
        if (isa == FORGE_ISA_AVX512) {
            swiglu_row_avx512(gate + r * width, up + r * width, width);
            continue;
        }
        if (isa == FORGE_ISA_AVX2) {
            swiglu_row_avx2(gate + r * width, up + r * width, width);
            continue;
        }
#elif defined(__aarch64__)
        if (isa_is_neon(isa)) {
            swiglu_row_neon(gate + r * width, up + r * width, width);
            continue;
        }
#endif
        swiglu_row_generic(gate + r * width, up + r * width, width);
    }
}
