#ifndef FORGE_FORMATS_H
#define FORGE_FORMATS_H
// Block layouts of the ggml tensor formats (byte-compatible with GGUF files) and the scalar
// helpers every kernel variant shares. Structs are packed because weight rows come straight
// from the mapped file, where a row may start at any even offset.
#include <stdint.h>
#include <string.h>
#include "CForgeKernels.h"

#define QK 32    // values per block of the 32-value formats
#define QK_K 256 // values per super-block of the K formats

#define PACKED __attribute__((packed))

// Scales are IEEE half (f16) bit patterns unless noted.

// Q4_0: value = d · (q − 8), q a 4-bit nibble. Byte j holds value j (low nibble) and j+16 (high).
typedef struct PACKED { uint16_t d; uint8_t qs[QK / 2]; } block_q4_0;
// Q4_1: value = d · q + m.
typedef struct PACKED { uint16_t d; uint16_t m; uint8_t qs[QK / 2]; } block_q4_1;
// Q5_0: value = d · (q − 16); the fifth bit of value j is bit j of the little-endian qh word.
typedef struct PACKED { uint16_t d; uint8_t qh[4]; uint8_t qs[QK / 2]; } block_q5_0;
// Q5_1: value = d · q + m, bits as Q5_0.
typedef struct PACKED { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[QK / 2]; } block_q5_1;
// Q8_0: value = d · q, q signed.
typedef struct PACKED { uint16_t d; int8_t qs[QK]; } block_q8_0;
// Q8_1: as Q8_0 plus s = d · Σq, which folds the Q4_1/Q5_1 offset into one product per block.
typedef struct PACKED { uint16_t d; uint16_t s; int8_t qs[QK]; } block_q8_1;

// Q2_K: 16 sub-blocks of 16; scales[i] has a 4-bit scale (low) and 4-bit min (high):
// value = d · scale · q − dmin · min, q 2 bits. Bytes qs[0..31] serve the first 128 values,
// bit pair 2k of byte l holding value 32k + l (l < 32 indexes qs within each 128-half).
typedef struct PACKED { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d; uint16_t dmin; } block_q2_K;
// Q3_K: value = d · (scale − 32) · (q − 4·!h), q 2 low bits laid out as Q2_K, h the bit from hmask
// (bit k of hmask[l] belongs to value 32k + l); 16 six-bit scales packed in 12 bytes.
typedef struct PACKED { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; } block_q3_K;
// Q4_K: 8 sub-blocks of 32; value = d · scale · q − dmin · min with 6-bit scale/min pairs packed
// in 12 bytes. Each 32 bytes of qs hold 64 values: low nibbles first, then high nibbles.
typedef struct PACKED { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; } block_q4_K;
// Q5_K: as Q4_K plus a fifth bit: bit k of qh[l] belongs to value 32k + l.
typedef struct PACKED { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
// Q6_K: 16 sub-blocks of 16; value = d · scale · (q − 32), q = 4 bits of ql and 2 bits of qh,
// signed 8-bit scales. Per 128 values: ql[0..63] and qh[0..31] (see the dequantizer for the order).
typedef struct PACKED { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } block_q6_K;
// Q8_K: the activation format of the K types; d is f32, bsums[i] is the sum of qs over the 16
// values of sub-block i (lets the K dot products apply the per-sub-block minimum in one step).
typedef struct PACKED { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;
// IQ4_NL: value = d · kvalues_iq4nl[q], a non-linear 4-bit code; nibble order as Q4_0.
typedef struct PACKED { uint16_t d; uint8_t qs[QK / 2]; } block_iq4_nl;

extern const int8_t kvalues_iq4nl[16];

static inline uint32_t float_bits(float value) { uint32_t bits; memcpy(&bits, &value, 4); return bits; }
static inline float bits_float(uint32_t bits) { float value; memcpy(&value, &bits, 4); return value; }

// Exact f16 → f32 without branches: normal numbers (and inf/NaN) are the f16 exponent and
// mantissa shifted into f32 position and rebased by a power-of-two multiply; subnormals are
// rebuilt by subtracting a bias from a constructed float. Both are computed, one is kept.
static inline float f16_to_f32(uint16_t half) {
    const uint32_t shifted = (uint32_t)half << 17; // exponent+mantissa at the top, sign dropped
    const uint32_t sign = (uint32_t)(half & 0x8000) << 16;
    // 2^-112 moves the exponent bias from 15 to 127; the pre-bias exponent 0xE0 + 31 = 255
    // keeps infinities and NaNs what they are.
    const float normal = bits_float((shifted >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float subnormal = bits_float((shifted >> 17) | (126u << 23)) - 0.5f;
    const uint32_t magnitude = shifted >= (1u << 27) ? float_bits(normal) : float_bits(subnormal);
    return bits_float(sign | magnitude);
}

// f32 → f16 rounding to nearest even, as ggml_fp32_to_fp16 (NaN becomes a quiet NaN).
static inline uint16_t f32_to_f16(float value) {
    const uint32_t bits = float_bits(value);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    const uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return sign | 0x7e00;
    if (magnitude >= 0x477ff000u) return sign | 0x7c00; // 65520 and up round to infinity
    if (magnitude >= 0x38800000u) {                    // normal in f16
        const uint32_t rebased = magnitude - 0x38000000u; // exponent bias 127 → 15
        return sign | (uint16_t)((rebased + 0x0fffu + ((rebased >> 13) & 1)) >> 13);
    }
    const int shift = 126 - (int)(magnitude >> 23); // subnormal: units of 2^-24
    if (shift > 24) return sign;
    const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    uint32_t quotient = mantissa >> shift;
    const uint32_t remainder = mantissa & ((1u << shift) - 1);
    const uint32_t half_unit = 1u << (shift - 1);
    if (remainder > half_unit || (remainder == half_unit && (quotient & 1))) quotient += 1;
    return sign | (uint16_t)quotient;
}

static inline float bf16_to_f32(uint16_t value) { return bits_float((uint32_t)value << 16); }

// f32 → bf16 rounding to nearest even, as ggml_compute_fp32_to_bf16.
static inline uint16_t f32_to_bf16(float value) {
    const uint32_t bits = float_bits(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 64);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block: j < 4 are stored in the
// low 6 bits of bytes j and j+4; the others split over a nibble of bytes j+4 and the top two bits
// of bytes j−4 (scale) and j (min).
static inline void k4_scale_min(int j, const uint8_t *packed, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = packed[j] & 63;
        *min = packed[j + 4] & 63;
    } else {
        *scale = (uint8_t)((packed[j + 4] & 0x0f) | ((packed[j - 4] >> 6) << 4));
        *min = (uint8_t)((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

// All eight Q4_K/Q5_K scales and mins at once (the same packing as k4_scale_min), as bytes
// 0..7 of two 64-bit words.
static inline void k4_scales_mins(const uint8_t packed[12], uint64_t *scales, uint64_t *mins) {
    uint32_t words[3];
    memcpy(words, packed, 12);
    const uint32_t low_scales = words[0] & 0x3f3f3f3fu, low_mins = words[1] & 0x3f3f3f3fu;
    const uint32_t high_scales = (words[2] & 0x0f0f0f0fu) | ((words[0] >> 6) & 0x03030303u) << 4;
    const uint32_t high_mins = ((words[2] >> 4) & 0x0f0f0f0fu) | ((words[1] >> 6) & 0x03030303u) << 4;
    *scales = (uint64_t)low_scales | (uint64_t)high_scales << 32;
    *mins = (uint64_t)low_mins | (uint64_t)high_mins << 32;
}

// The sixteen 6-bit Q3_K scales (still offset by 32): low nibbles in bytes 0..7, high two bits in 8..11.
static inline void q3k_scales(const uint8_t *packed, int8_t scales[16]) {
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? packed[j] & 0x0f : packed[j - 8] >> 4;
        const int high = (packed[8 + (j % 4)] >> (2 * (j / 4))) & 3;
        scales[j] = (int8_t)(low | (high << 4));
    }
}

// Q5_0/Q5_1 fifth bits as a word (bit j ↔ value j).
static inline uint32_t q5_high_bits(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) | ((uint32_t)qh[3] << 24);
}

typedef float (*forge_dot_fn)(int64_t count, const void *weights, const void *activations);
typedef void (*forge_quantize_fn)(const float *source, void *destination, int64_t count);
// One weight row against `tokens` (1...4) activation rows `activation_stride` bytes apart;
// out[t · out_stride] receives token t. Same per-token arithmetic as the variant's dot product,
// except a full 4-token Q4_K/Q5_K tile (llama.cpp's repacked GEMM order).
// For Q8_0/Q8_1 activations `scales` holds, per token, 2 · count/32 floats: every block's d,
// then every block's s (see forge_activation_scales).
typedef void (*forge_tile_fn)(int64_t count, const void *weights, const void *activations, size_t activation_stride,
                              const float *scales, int tokens, float *out, size_t out_stride);

// FORGE_PANEL_ROWS weight rows `weight_row_bytes` apart against `tokens` activation rows, one or
// two full tiles (FORGE_TILE_TOKENS or twice that; F32/F16 panels take any number from 1);
// out[t · out_stride + r] receives row r, token t, bit-identical to the variant's dot product.
// `group_scales` holds each tile's activation scales interleaved per block (see
// forge_group_scales), tile after tile.
typedef void (*forge_panel_fn)(int64_t count, const void *weights, size_t weight_row_bytes, const void *activations,
                               size_t activation_stride, const float *group_scales, int tokens, float *out, size_t out_stride);
#define FORGE_PANEL_ROWS 4

// Up to FORGE_ROW_PANEL_ROWS weight rows `weight_row_bytes` apart against one activation row, as
// a tile takes it (`scales` too): out[r] receives row r, bit-identical to the variant's dot product.
typedef void (*forge_row_panel_fn)(int64_t count, const void *weights, size_t weight_row_bytes, int rows,
                                   const void *activation, const float *scales, float *out);
#define FORGE_ROW_PANEL_ROWS 8

// A batch's Q8_K activations laid out for the lane panels, FORGE_LANE_TOKENS tokens a group and
// one super-block an entry: 4-value group g of token j at codes[g][j], the 16-value sums widened
// (sums[s][j]) and the scales (d[j]); lanes past the batch's last token are zero.
#define FORGE_LANE_TOKENS 16
typedef struct {
    int8_t codes[QK_K / 4][FORGE_LANE_TOKENS][4];
    int32_t sums[QK_K / 16][FORGE_LANE_TOKENS];
    float d[FORGE_LANE_TOKENS];
} forge_lane_block;

// The same for the Q8_0/Q8_1 activations of the 32-value formats, one block an entry: 4-value
// group i of token j at codes[i][j] as unsigned bytes y + 128, d[j] and (Q8_1) s[j] as f32.
typedef struct {
    uint8_t codes[QK / 4][FORGE_LANE_TOKENS][4];
    float d[FORGE_LANE_TOKENS];
    float s[FORGE_LANE_TOKENS];
} forge_lane_block_q8;

// Up to FORGE_LANE_PANEL_ROWS weight rows against `groups` token groups (each count/QK_K
// forge_lane_block entries for the K formats, count/QK forge_lane_block_q8 ones for the
// others, group after group), one token per vector lane: out[t · out_stride + r] receives row r,
// token t for t < tokens, bit-identical to the variant's wide tile (K formats) or dot product.
typedef void (*forge_lane_panel_fn)(int64_t count, const void *weights, size_t weight_row_bytes, int rows,
                                    const void *activations, int groups, int tokens, float *out, size_t out_stride);
#define FORGE_LANE_PANEL_ROWS 8
#define FORGE_LANE_PANEL_GROUPS 4 // at most, per call

// A full tile's scales for a panel, from the per-token scales of forge_activation_scales: d of
// block b for token t at [4b + t], then for Q8_1 s at [4·blocks + 4b + t].
void forge_group_scales(uint32_t activation_type, int64_t count, const float *token_scales, size_t scales_per_token,
                        float *group_scales);

// The f32 scales a tile takes for one activation row of `count` values (no-op for other formats).
void forge_activation_scales(uint32_t activation_type, const void *activations, int64_t count, float *scales);

// One instruction-set variant: dot products and tiles indexed by weight type, activation
// quantizers by activation type. A NULL dot or quantizer falls back per entry to the next variant
// (AVX-512 → AVX2 → generic, i8mm → dotprod → NEON → generic), and a weight type's other entries
// come from the table its dot product came from (dispatch.c); a NULL tile means "one dot product
// per token". `wide_tile` replaces `tile` in products of at least FORGE_WIDE_BATCH tokens, where
// llama.cpp takes its tiled K-quant kernel (another float order).
// `panel` (NULL: none) takes FORGE_PANEL_ROWS rows of one or two full tiles (float formats: of
// any number of tokens) at once, in the tile's order, reading the tile's activation rows;
// `panel_activations` (NULL: the tile's rows) makes the f32 rows a panel reads instead;
// `single_dot` (NULL: `dot`) is the dot product of one-token matrix products where llama.cpp takes
// another kernel for them than for batches (ggml_vec_dot instead of tinyBLAS for F32/F16);
// `row_panel` (NULL: none) takes the rows of a one-token product FORGE_ROW_PANEL_ROWS at a time,
// bit-identical to `single_dot`; `lane_panel` (NULL: none) takes batches of at least
// FORGE_LANE_TOKENS tokens in place of `wide_tile` or `panel`, bit-identical to them.
// `float_panel_tokens` is how many tokens an F32/F16 panel takes per call.
typedef struct {
    forge_dot_fn dot[FORGE_TYPE_LIMIT];
    forge_dot_fn single_dot[FORGE_TYPE_LIMIT];
    forge_tile_fn tile[FORGE_TYPE_LIMIT];
    forge_tile_fn wide_tile[FORGE_TYPE_LIMIT];
    forge_panel_fn panel[FORGE_TYPE_LIMIT];
    forge_row_panel_fn row_panel[FORGE_TYPE_LIMIT];
    uint8_t row_panel_streams[FORGE_TYPE_LIMIT]; // by default the row panel takes rows far apart (FORGE_ROWS_STREAMS)
    forge_lane_panel_fn lane_panel[FORGE_TYPE_LIMIT];
    forge_quantize_fn quantize[FORGE_TYPE_LIMIT];
    forge_quantize_fn panel_activations[FORGE_TYPE_LIMIT];
    int float_panel_tokens;
} forge_kernel_table;

extern const forge_kernel_table forge_generic_kernels;
#if defined(__x86_64__)
extern const forge_kernel_table forge_avx2_kernels;
extern const forge_kernel_table forge_avx512_kernels;
#include <emmintrin.h>
// 32 bits into a vector's low lane through a general register: left to itself the compiler loads
// them with vpinsrw/vpinsrd into whatever register is free, a false dependency on that register's
// last writer which chains a loop's iterations together (BENCHMARKS.md, run AH).
static inline __m128i low_lane(uint32_t bits) {
    __asm__("" : "+r"(bits));
    return _mm_cvtsi32_si128((int)bits);
}
#elif defined(__aarch64__)
extern const forge_kernel_table forge_neon_kernels;
extern const forge_kernel_table forge_neon_dotprod_kernels;
extern const forge_kernel_table forge_neon_i8mm_kernels;
// The three NEON variants share every kernel but the integer dot products and panels.
static inline int isa_is_neon(forge_isa isa) {
    return isa == FORGE_ISA_NEON || isa == FORGE_ISA_NEON_DOTPROD || isa == FORGE_ISA_NEON_I8MM;
}
#endif

/// The entry for `type` in the variant `isa`, or in the first variant it falls back to that has one.
forge_dot_fn forge_select_dot(forge_isa isa, uint32_t weight_type);
forge_quantize_fn forge_select_quantize(forge_isa isa, uint32_t activation_type);
forge_tile_fn forge_select_tile(forge_isa isa, uint32_t weight_type);
/// The panel for `type` in the variant `isa`, or NULL (then rows go through the tile, or the dot product, one by one).
forge_panel_fn forge_select_panel(forge_isa isa, uint32_t weight_type);
/// The dot product of one-token products of `type` when it is not the tile's, or NULL.
forge_dot_fn forge_select_single_dot(forge_isa isa, uint32_t weight_type);
/// The row panel for `type` in the variant `isa`, or NULL (then one-token products take the
/// single dot product, or the tile).
forge_row_panel_fn forge_select_row_panel(forge_isa isa, uint32_t weight_type);
/// The lane panel for `type` in the variant `isa`, or NULL (then batches take the wide tile).
forge_lane_panel_fn forge_select_lane_panel(forge_isa isa, uint32_t weight_type);
/// What makes the f32 activation rows the panel of `type` reads (4 bytes per value), or NULL when
/// it reads the tile's activation rows.
forge_quantize_fn forge_select_panel_activations(forge_isa isa, uint32_t weight_type);
/// How many tokens an F32/F16 panel of `type` in the variant `isa` takes per call.
int forge_select_float_panel_tokens(forge_isa isa, uint32_t weight_type);
/// The tile for a product of `batch_tokens` tokens: the wide tile from FORGE_WIDE_BATCH tokens on.
forge_tile_fn forge_select_batch_tile(forge_isa isa, uint32_t weight_type, int64_t batch_tokens);

// In wide tiles, r = (float)total · d_x rounded, then sum + r · d_y as llama.cpp's compiler forms it.
#define FORGE_WIDE_BATCH 8
#define WIDE_STEP(sum, r, dy) __builtin_fmaf((r), (dy), (sum))

#endif
