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

// swiglu_row_generic a vector at a time, written once over vector_math.h's operations of the set
// VECTOR_ISA names where it is expanded.
#define V(name) VECTOR_OP(VECTOR_ISA, name)
#define SWIGLU_ROW                                                                                    \
    V(target) static void V(swiglu_row)(float *gate, const float *up, int64_t width) {                \
        const int64_t whole = width / 16 * 16;                                                        \
        const V(vec) one = V(set1)(1.0f);                                                             \
        int64_t i = 0;                                                                                \
        for (; i < whole; i += V(lanes)) {                                                            \
            const V(vec) x = V(load)(gate + i);                                                       \
            const V(vec) silu = V(div)(x, V(add)(one, V(exp)(V(sub)(V(zero)(), x))));                \
            V(store)(gate + i, V(mul)(silu, V(load)(up + i)));                                        \
        }                                                                                             \
        for (; i < width; ++i) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];                   \
    }

#if defined(__x86_64__)
#define VECTOR_ISA avx2
SWIGLU_ROW
#undef VECTOR_ISA
#define VECTOR_ISA avx512
SWIGLU_ROW
#undef VECTOR_ISA
#elif defined(__aarch64__)
#define VECTOR_ISA neon
SWIGLU_ROW
#undef VECTOR_ISA
#endif

void forge_swiglu(forge_isa isa, float *gate, const float *up, int64_t rows, int64_t width) {
    for (int64_t r = 0; r < rows; ++r) {
#if defined(__x86_64__)
        if (isa == FORGE_ISA_AVX512) {
            avx512_swiglu_row(gate + r * width, up + r * width, width);
            continue;
        }
        if (isa == FORGE_ISA_AVX2) {
            avx2_swiglu_row(gate + r * width, up + r * width, width);
            continue;
        }
#elif defined(__aarch64__)
        if (isa_is_neon(isa)) {
            neon_swiglu_row(gate + r * width, up + r * width, width);
            continue;
        }
#endif
        swiglu_row_generic(gate + r * width, up + r * width, width);
    }
}
