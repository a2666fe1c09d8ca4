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

// Which read pattern is fastest depends on the machine, as it does for decode, whose products
// read rows one after another or eight in lockstep (forge_row_order, chosen by calibration). So
// the probe reads both ways, or it would report a ceiling below what the kernels reach.
enum { STREAMS = 8, STREAM_SPAN = 4096, STREAM_GROUP = STREAMS * STREAM_SPAN };

#define AVX2 __attribute__((target("avx2")))

// The 64-byte line at `line` added into `acc` as 64-bit lanes.
AVX2 static inline __m256i add_line(__m256i acc, const uint8_t *line) {
    return _mm256_add_epi64(acc, _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)line),
                                                  _mm256_loadu_si256((const __m256i *)(line + 32))));
}

// Every lane of the `count` accumulators, plus the words from `done` on, read one by one.
AVX2 static uint64_t finish_sum(const __m256i *accumulators, int count, const uint64_t *words, size_t done, size_t word_count) {
    __m256i sum = accumulators[0];
    for (int a = 1; a < count; ++a) sum = _mm256_add_epi64(sum, accumulators[a]);
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, sum);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + stream_sum_generic(words + done, word_count - done);
}

// One sequential stream, four 64-byte lines a step into independent accumulators.
AVX2 static uint64_t sequential_sum_avx2(const uint64_t *words, size_t count) {
    const uint8_t *bytes = (const uint8_t *)words;
    const size_t steps = count * sizeof(uint64_t) / 256;
    __m256i acc[4];
    for (int a = 0; a < 4; ++a) acc[a] = _mm256_setzero_si256();
    for (size_t step = 0; step < steps; ++step) {
        for (int a = 0; a < 4; ++a) acc[a] = add_line(acc[a], bytes + step * 256 + 64 * a);
    }
    return finish_sum(acc, 4, words, steps * 256 / sizeof(uint64_t), count);
}

// Eight 4 KiB streams in lockstep, the next group prefetched.
AVX2 static uint64_t stream_sum_avx2(const uint64_t *words, size_t count) {
    const uint8_t *bytes = (const uint8_t *)words;
    const size_t groups = count * sizeof(uint64_t) / STREAM_GROUP;
    __m256i acc[STREAMS];
    for (int s = 0; s < STREAMS; ++s) acc[s] = _mm256_setzero_si256();
    for (size_t g = 0; g < groups; ++g) {
        const uint8_t *group = bytes + g * STREAM_GROUP;
        for (size_t offset = 0; offset < STREAM_SPAN; offset += 64) {
            for (int s = 0; s < STREAMS; ++s) {
                const uint8_t *line = group + (size_t)s * STREAM_SPAN + offset;
                _mm_prefetch((const char *)line + STREAM_GROUP, _MM_HINT_T0);
                acc[s] = add_line(acc[s], line);
            }
        }
    }
    return finish_sum(acc, STREAMS, words, groups * STREAM_GROUP / sizeof(uint64_t), count);
}
#endif

uint64_t forge_stream_sum(const void *bytes, size_t count, int lockstep) {
    const uint64_t *words = bytes;
    const size_t word_count = count / sizeof(uint64_t);
    uint64_t sum;
#if defined(__x86_64__)
    if (forge_isa_supported(FORGE_ISA_AVX2)) {
        sum = lockstep ? stream_sum_avx2(words, word_count) : sequential_sum_avx2(words, word_count);
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
