// The integer dot products of the NEON tables, included once per variant by dot_neon.c with
// NEON_NAME (the variant's suffix), NEON_TARGET (its function attribute) and IDOT(acc, x, y)
// (acc plus the sixteen products x·y summed in four 32-bit lanes: SDOT, or widening multiplies
// and pairwise adds). Only the lanes' total is used, so every variant gives the same bits.
//
// Float order, the same in every variant (and in the i8mm panels): a 32-value block's total goes
// into chain b mod 4 as fma(Σ, d_x·d_y, chain) (Q4_1/Q5_1 then fma(m, s, chain)), the chains
// summed (0 + 1) + (2 + 3); a K super-block adds fma(d, Σ scaled, sum) then fma(−dmin, Σ mins, sum).

// Each kernel takes one weight row against `tokens` activation rows `stride` bytes apart, every
// weight block decoded once for all of them and each token computed as alone: the dot product is
// the one-token case, a full tile the four-token one (other tiles are dot products token by token).
#define TOKEN_KERNELS(name, core, ...)                                                                                  \
    NEON_TARGET static float NEON_NAME(dot_##name)(int64_t count, const void *weights, const void *activations) {       \
        float out;                                                                                                      \
        NEON_NAME(core)(count, weights, activations, 0, 1, &out, 0, ##__VA_ARGS__);                                     \
        return out;                                                                                                     \
    }                                                                                                                   \
    NEON_TARGET static void NEON_NAME(tile_##name)(int64_t count, const void *weights, const void *activations,         \
                                                   size_t stride, const float *scales, int tokens, float *out,          \
                                                   size_t out_stride) {                                                 \
        (void)scales;                                                                                                   \
        if (tokens == FORGE_TILE_TOKENS) {                                                                              \
            NEON_NAME(core)(count, weights, activations, stride, FORGE_TILE_TOKENS, out, out_stride, ##__VA_ARGS__);    \
            return;                                                                                                     \
        }                                                                                                               \
        for (int t = 0; t < tokens; ++t) {                                                                              \
            out[(size_t)t * out_stride] = NEON_NAME(dot_##name)(count, weights, (const uint8_t *)activations + (size_t)t * stride); \
        }                                                                                                               \
    }

// The 32-value formats: per step of four blocks, their totals as one vector of the four chains.
INLINE NEON_TARGET void NEON_NAME(blocks_tokens)(int64_t count, const void *weights, const void *activations, size_t stride,
                                                 int tokens, float *out, size_t out_stride, enum block_format format) {
    const uint8_t *w = weights, *a = activations;
    const size_t w_bytes = weight_block_bytes(format);
    const int offsets = has_offsets(format);
    const size_t a_bytes = offsets ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const size_t a_codes = offsets ? offsetof(block_q8_1, qs) : offsetof(block_q8_0, qs);
    const int64_t blocks = count / QK;
    float32x4_t chains[FORGE_TILE_TOKENS];
    for (int t = 0; t < tokens; ++t) chains[t] = vdupq_n_f32(0);
    int64_t b = 0;
    for (; b + 4 <= blocks; b += 4) {
        int8x16_t x[4][2];
        for (int k = 0; k < 4; ++k) decode_block(format, w + (b + k) * w_bytes, &x[k][0], &x[k][1]);
        const float32x4_t w_d = halves_at(w + b * w_bytes, w_bytes);
        for (int t = 0; t < tokens; ++t) {
            const uint8_t *y = a + (size_t)t * stride + b * a_bytes;
            int32x4_t sums[4];
            for (int k = 0; k < 4; ++k) {
                const int8_t *codes = (const int8_t *)(y + k * a_bytes + a_codes);
                sums[k] = IDOT(IDOT(vdupq_n_s32(0), x[k][0], vld1q_s8(codes)), x[k][1], vld1q_s8(codes + 16));
            }
            const int32x4_t totals = vpaddq_s32(vpaddq_s32(sums[0], sums[1]), vpaddq_s32(sums[2], sums[3]));
            chains[t] = vfmaq_f32(chains[t], vcvtq_f32_s32(totals), vmulq_f32(w_d, halves_at(y, a_bytes)));
            if (offsets) chains[t] = vfmaq_f32(chains[t], halves_at(w + b * w_bytes + 2, w_bytes), halves_at(y + 2, a_bytes));
        }
    }
    float c[FORGE_TILE_TOKENS][4];
    for (int t = 0; t < tokens; ++t) vst1q_f32(c[t], chains[t]);
    for (; b < blocks; ++b) {
        const uint8_t *x = w + b * w_bytes;
        int8x16_t x0, x1;
        decode_block(format, x, &x0, &x1);
        for (int t = 0; t < tokens; ++t) {
            const uint8_t *y = a + (size_t)t * stride + b * a_bytes;
            const int8_t *codes = (const int8_t *)(y + a_codes);
            const int32_t total = vaddvq_s32(IDOT(IDOT(vdupq_n_s32(0), x0, vld1q_s8(codes)), x1, vld1q_s8(codes + 16)));
            float *chain = &c[t][b % 4];
            *chain = fmaf((float)total, f16_to_f32(half_at(x)) * f16_to_f32(half_at(y)), *chain);
            if (offsets) *chain = fmaf(f16_to_f32(half_at(x + 2)), f16_to_f32(half_at(y + 2)), *chain);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = (c[t][0] + c[t][1]) + (c[t][2] + c[t][3]);
}

TOKEN_KERNELS(q4_0, blocks_tokens, BLOCK_Q4_0)
TOKEN_KERNELS(q4_1, blocks_tokens, BLOCK_Q4_1)
TOKEN_KERNELS(q5_0, blocks_tokens, BLOCK_Q5_0)
TOKEN_KERNELS(q5_1, blocks_tokens, BLOCK_Q5_1)
TOKEN_KERNELS(q8_0, blocks_tokens, BLOCK_Q8_0)
TOKEN_KERNELS(iq4_nl, blocks_tokens, BLOCK_IQ4_NL)

// Q4_K and Q5_K: per pair of sub-blocks 32 bytes of nibbles (low: the first sub-block, high: the
// second); Q5_K's fifth bit of value 32·sub + l is bit sub of qh[l].
INLINE NEON_TARGET void NEON_NAME(k4_k5_tokens)(int64_t count, const void *weights, const void *activations, size_t stride,
                                                int tokens, float *out, size_t out_stride, int is_q5) {
    const size_t block_bytes = is_q5 ? sizeof(block_q5_K) : sizeof(block_q4_K);
    const size_t codes_offset = is_q5 ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs);
    const uint8_t *x = weights;
    const uint8x16_t nibble = vdupq_n_u8(0x0f), fifth = vdupq_n_u8(0x10);
    float sums[FORGE_TILE_TOKENS] = {0};
    for (int64_t b = 0; b < count / QK_K; ++b, x += block_bytes) {
        uint64_t scale_bytes, min_bytes;
        k4_scales_mins(x + 4, &scale_bytes, &min_bytes);
        uint8_t scales[8];
        memcpy(scales, &scale_bytes, 8);
        const int16x8_t mins = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(min_bytes)));
        const uint8_t *codes = x + codes_offset;
        uint8x16_t high0 = vdupq_n_u8(0), high1 = vdupq_n_u8(0);
        if (is_q5) {
            high0 = vld1q_u8(x + offsetof(block_q5_K, qh));
            high1 = vld1q_u8(x + offsetof(block_q5_K, qh) + 16);
        }
        int8x16_t values[16]; // per pair of sub-blocks: the first's two vectors, then the second's
        for (int k = 0; k < 4; ++k, codes += 32) {
            const uint8x16_t c0 = vld1q_u8(codes), c1 = vld1q_u8(codes + 16);
            uint8x16_t l0 = vandq_u8(c0, nibble), l1 = vandq_u8(c1, nibble);
            uint8x16_t h0 = vshrq_n_u8(c0, 4), h1 = vshrq_n_u8(c1, 4);
            if (is_q5) {
                l0 = vorrq_u8(l0, vandq_u8(vshlq_n_u8(high0, 4), fifth));
                l1 = vorrq_u8(l1, vandq_u8(vshlq_n_u8(high1, 4), fifth));
                h0 = vorrq_u8(h0, vandq_u8(vshlq_n_u8(high0, 3), fifth));
                h1 = vorrq_u8(h1, vandq_u8(vshlq_n_u8(high1, 3), fifth));
                high0 = vshrq_n_u8(high0, 2);
                high1 = vshrq_n_u8(high1, 2);
            }
            values[4 * k] = vreinterpretq_s8_u8(l0);
            values[4 * k + 1] = vreinterpretq_s8_u8(l1);
            values[4 * k + 2] = vreinterpretq_s8_u8(h0);
            values[4 * k + 3] = vreinterpretq_s8_u8(h1);
        }
        const float d_x = f16_to_f32(half_at(x)), dmin_x = f16_to_f32(half_at(x + 2));
        for (int t = 0; t < tokens; ++t) {
            const block_q8_K *a = (const block_q8_K *)((const uint8_t *)activations + (size_t)t * stride) + b;
            const uint8_t *bsums = (const uint8_t *)a + offsetof(block_q8_K, bsums); // packed: read as bytes
            const int16x8_t pair_sums = vpaddq_s16(vreinterpretq_s16_u8(vld1q_u8(bsums)), vreinterpretq_s16_u8(vld1q_u8(bsums + 16)));
            const int32x4_t min_products = vmlal_high_s16(vmull_s16(vget_low_s16(pair_sums), vget_low_s16(mins)), pair_sums, mins);
            int32x4_t scaled = vdupq_n_s32(0);
            for (int k = 0; k < 4; ++k) {
                const int8_t *y = a->qs + 64 * k;
                const int32x4_t low = IDOT(IDOT(vdupq_n_s32(0), values[4 * k], vld1q_s8(y)), values[4 * k + 1], vld1q_s8(y + 16));
                const int32x4_t high = IDOT(IDOT(vdupq_n_s32(0), values[4 * k + 2], vld1q_s8(y + 32)), values[4 * k + 3], vld1q_s8(y + 48));
                scaled = vmlaq_n_s32(scaled, low, scales[2 * k]);
                scaled = vmlaq_n_s32(scaled, high, scales[2 * k + 1]);
            }
            const float d = d_x * a->d, dmin = dmin_x * a->d;
            sums[t] = fmaf(d, (float)vaddvq_s32(scaled), sums[t]);
            sums[t] = fmaf(-dmin, (float)vaddvq_s32(min_products), sums[t]);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sums[t];
}

TOKEN_KERNELS(q4_K, k4_k5_tokens, 0)
TOKEN_KERNELS(q5_K, k4_k5_tokens, 1)

// Q6_K: per 128 values, 64 bytes of low nibbles and 32 of two-bit pairs make eight vectors of
// sixteen values, each one sub-block (its scale in order), taken signed as q − 32.
INLINE NEON_TARGET void NEON_NAME(q6_K_tokens)(int64_t count, const void *weights, const void *activations, size_t stride,
                                               int tokens, float *out, size_t out_stride) {
    const block_q6_K *w = weights;
    const uint8x16_t nibble = vdupq_n_u8(0x0f), pair = vdupq_n_u8(0x30);
    const int8x16_t offset = vdupq_n_s8(32);
    float sums[FORGE_TILE_TOKENS] = {0};
    for (int64_t b = 0; b < count / QK_K; ++b) {
        int8x16_t values[16];
        for (int half = 0; half < 2; ++half) {
            const uint8_t *ql = w[b].ql + 64 * half, *qh = w[b].qh + 32 * half;
            const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
            const uint8x16_t l0 = vld1q_u8(ql), l1 = vld1q_u8(ql + 16), l2 = vld1q_u8(ql + 32), l3 = vld1q_u8(ql + 48);
            const uint8x16_t codes[8] = {
                vorrq_u8(vandq_u8(l0, nibble), vandq_u8(vshlq_n_u8(h0, 4), pair)),
                vorrq_u8(vandq_u8(l1, nibble), vandq_u8(vshlq_n_u8(h1, 4), pair)),
                vorrq_u8(vandq_u8(l2, nibble), vandq_u8(vshlq_n_u8(h0, 2), pair)),
                vorrq_u8(vandq_u8(l3, nibble), vandq_u8(vshlq_n_u8(h1, 2), pair)),
                vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h0, pair)),
                vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(h1, pair)),
                vorrq_u8(vshrq_n_u8(l2, 4), vandq_u8(vshrq_n_u8(h0, 2), pair)),
                vorrq_u8(vshrq_n_u8(l3, 4), vandq_u8(vshrq_n_u8(h1, 2), pair)),
            };
            for (int i = 0; i < 8; ++i) values[8 * half + i] = vsubq_s8(vreinterpretq_s8_u8(codes[i]), offset);
        }
        const float d_x = f16_to_f32(w[b].d);
        for (int t = 0; t < tokens; ++t) {
            const block_q8_K *a = (const block_q8_K *)((const uint8_t *)activations + (size_t)t * stride) + b;
            int32x4_t total = vdupq_n_s32(0);
            for (int i = 0; i < 16; ++i) total = vmlaq_n_s32(total, IDOT(vdupq_n_s32(0), values[i], vld1q_s8(a->qs + 16 * i)), w[b].scales[i]);
            sums[t] = fmaf(d_x * a->d, (float)vaddvq_s32(total), sums[t]);
        }
    }
    for (int t = 0; t < tokens; ++t) out[(size_t)t * out_stride] = sums[t];
}

TOKEN_KERNELS(q6_K, q6_K_tokens)

#undef TOKEN_KERNELS
