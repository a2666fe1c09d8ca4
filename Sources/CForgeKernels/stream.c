// The streaming-read probe behind `forge bench`'s bandwidth ceiling: decode reads every weight
// once per token, so the fastest a core can stream memory bounds its tokens per second.
//
// Written in C rather than Swift so the loop is plain wide loads into independent accumulators
// whatever Swift's SIMD lowering does; the AVX2 variant is chosen at run time like the kernels.
#include <stddef.h>
#include <stdint.h>
#include "CForgeKernels.h"

// Eight independent 64-bit lanes per step keep enough loads in flight to saturate memory rather
// than an adder's latency chain.
static uint64_t stream_sum_generic(const uint64_t *words, size_t count) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        a0 += words[i]; a1 += words[i + 1]; a2 += words[i + 2]; a3 += words[i + 3];
        a4 += words[i + 4]; a5 += words[i + 5]; a6 += words[i + 6]; a7 += words[i + 7];
    }
    for (; i < count; ++i) a0 += words[i];
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

#if defined(__x86_64__)
#include <immintrin.h>

// Four 256-bit accumulators: two full cache lines per step.
__attribute__((target("avx2"))) static uint64_t stream_sum_avx2(const uint64_t *words, size_t count) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i *)(words + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i *)(words + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i *)(words + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i *)(words + i + 12)));
    }
    const __m256i sum = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, sum);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + stream_sum_generic(words + i, count - i);
}
#endif

uint64_t forge_stream_sum(const void *bytes, size_t count) {
    const uint64_t *words = bytes;
    const size_t word_count = count / sizeof(uint64_t);
    uint64_t sum;
#if defined(__x86_64__)
    if (forge_isa_supported(FORGE_ISA_AVX2)) {
        sum = stream_sum_avx2(words, word_count);
    } else {
        sum = stream_sum_generic(words, word_count);
    }
#else
    sum = stream_sum_generic(words, word_count);
#endif
    const uint8_t *tail = (const uint8_t *)bytes + word_count * sizeof(uint64_t);
    for (size_t i = 0; i < count % sizeof(uint64_t); ++i) sum += tail[i];
    return sum;
}
