#ifndef CFORGE_KERNELS_H
#define CFORGE_KERNELS_H
// Quantized dot products, (de)quantizers, the matrix-product row loops and the thread pool.
// Swift (ForgeKernels) is the only caller; types are named by their GGUF/ggml type ids.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    FORGE_TYPE_F32 = 0, FORGE_TYPE_F16 = 1, FORGE_TYPE_Q4_0 = 2, FORGE_TYPE_Q4_1 = 3,
    FORGE_TYPE_Q5_0 = 6, FORGE_TYPE_Q5_1 = 7, FORGE_TYPE_Q8_0 = 8, FORGE_TYPE_Q8_1 = 9,
    FORGE_TYPE_Q2_K = 10, FORGE_TYPE_Q3_K = 11, FORGE_TYPE_Q4_K = 12, FORGE_TYPE_Q5_K = 13,
    FORGE_TYPE_Q6_K = 14, FORGE_TYPE_Q8_K = 15, FORGE_TYPE_IQ4_NL = 20, FORGE_TYPE_BF16 = 30,
    FORGE_TYPE_LIMIT = 40
};

/// Instruction-set variants of the kernels. Every variant computes the same integer sums; only
/// the order of float additions differs.
typedef enum {
    FORGE_ISA_GENERIC = 0,
    FORGE_ISA_AVX2 = 1,   // avx2 + fma + f16c
    FORGE_ISA_AVX512 = 2, // avx512f/bw/vl + vnni
    FORGE_ISA_NEON = 3,         // arm64 Advanced SIMD, which every arm64 CPU has
    FORGE_ISA_NEON_DOTPROD = 4, // + SDOT (FEAT_DotProd)
    FORGE_ISA_NEON_I8MM = 5,    // + SMMLA (FEAT_I8MM)
} forge_isa;

/// Whether this build has `isa` and the running CPU supports it.
int forge_isa_supported(forge_isa isa);
/// The fastest supported variant.
forge_isa forge_isa_best(void);

/// Elements per block and bytes per block of a type, or 0 for a type these kernels do not know.
int64_t forge_type_block_size(uint32_t type);
int64_t forge_type_block_bytes(uint32_t type);

/// The activation format a weight type is multiplied with (llama.cpp's vec_dot_type), or -1
/// when the kernels cannot compute with the weight type.
int32_t forge_activation_type(uint32_t weight_type);

/// `count` values (a whole number of blocks) decoded to f32. Returns 0, or -1 for an unknown type.
int forge_dequantize(uint32_t type, const void *source, float *destination, int64_t count);

/// `count` values encoded byte for byte like ggml's reference quantizers. Returns 0, or -1 when
/// the type has no quantizer here.
int forge_quantize_reference(uint32_t type, const float *source, void *destination, int64_t count);

/// `count` activations encoded the way llama.cpp's x86 CPU backend does before a dot product
/// (its Q8_0/Q8_1 differ from the reference quantizers in rounding). Returns 0 or -1.
int forge_quantize_activations(forge_isa isa, uint32_t type, const float *source, void *destination, int64_t count);

/// Σ weights·activations over `count` values: one weight row (type `weight_type`) against one
/// activation row already in `forge_activation_type(weight_type)`. NaN for an unknown type.
float forge_dot(forge_isa isa, uint32_t weight_type, int64_t count, const void *weights, const void *activations);

/// The same product as a one-token matrix product computes it: forge_dot but for F32/F16 in the
/// AVX-512 variant, which follow ggml_vec_dot there as llama.cpp does for a batch of one token.
float forge_dot_single(forge_isa isa, uint32_t weight_type, int64_t count, const void *weights, const void *activations);

/// The most activation rows one weight row is multiplied with at once (the prefill tile).
#define FORGE_TILE_TOKENS 4

/// One weight row against `tokens` (1...FORGE_TILE_TOKENS) activation rows `activation_stride`
/// bytes apart; out[t · out_stride] = the dot product with token t, bit-identical to forge_dot
/// except for a full tile of Q4_K/Q5_K, which rounds per 64 values as llama.cpp's repacked GEMM.
/// Returns 0, or -1 for an unknown type or token count.
int forge_dot_tokens(forge_isa isa, uint32_t weight_type, int64_t count, const void *weights, const void *activations,
                     size_t activation_stride, int tokens, float *out, size_t out_stride);

/// Query rows one attention tile call takes at most.
#define FORGE_ATTENTION_TILE_ROWS 64

/// One query row of an attention tile: it sees keys and values first..<length (first > 0: a
/// sliding window; the others are masked as llama.cpp masks them).
typedef struct forge_attention_row {
    const float *query;
    float *output;
    int64_t length;
    int64_t first;
} forge_attention_row;

/// `heads` query rows (`head_dim` apart, outputs likewise) of one KV head over `length` f16
/// key/value rows `row_bytes` apart, as llama.cpp's CPU flash attention computes each of them
/// for batches under FORGE_ATTENTION_TILE_ROWS query rows (Q rounded to f16, the V accumulator in
/// f16), bit for bit; each key/value row is read once for all the heads.
/// `chunk` keys at a time (≤ 0 or ≥ length: all at once) with the chunks' partial results merged
/// as llama.cpp merges the per-thread KV chunks of a lone decode row (a batch of one query row
/// whose padded KV view has 512 rows or more). Rows before `first` (a sliding window) are skipped
/// within their chunks, as llama.cpp skips masked keys.
void forge_attention_group(forge_isa isa, const float *queries, float *outputs, int heads, const void *keys,
                           const void *values, size_t row_bytes, int64_t length, int64_t first, int64_t chunk,
                           int64_t head_dim, float scale);

/// Up to FORGE_ATTENTION_TILE_ROWS query rows sharing one KV head (f16 or f32 rows `row_bytes`
/// apart), as llama.cpp's tiled CPU flash attention computes them for larger batches, bit for bit;
/// each key/value row is read once for the whole tile. head_dim must be a multiple of 16.
/// Returns 0, -1 for arguments out of range, -2 when scratch cannot be allocated.
int forge_attention_tile(forge_isa isa, const forge_attention_row *rows, int row_count, uint32_t kv_type,
                         const void *keys, const void *values, size_t row_bytes, int64_t head_dim, float scale);

/// gate ← silu(gate) · up over `rows` rows of `width` values, rounded as llama.cpp's AVX-512 build
/// rounds its fused SwiGLU (every variant gives the same bits).
void forge_swiglu(forge_isa isa, float *gate, const float *up, int64_t rows, int64_t width);

/// A persistent pool of worker threads; the thread calling `forge_pool_run` takes part too.
typedef struct forge_pool forge_pool;
typedef void (*forge_range_body)(void *context, int64_t begin, int64_t end);

/// A pool of `thread_count` participants (thread_count - 1 workers). NULL if threads cannot be made.
forge_pool *forge_pool_create(int thread_count);
/// Stops and joins the workers.
void forge_pool_destroy(forge_pool *pool);
int forge_pool_thread_count(const forge_pool *pool);
/// Runs body over 0..<count in contiguous chunks of at least `grain` items (a multiple of it
/// except the last), claimed dynamically by all participants; returns when every chunk is done.
/// A call made while the pool is busy (from a body, or from another thread), or with a NULL
/// pool, runs inline.
void forge_pool_run(forge_pool *pool, int64_t count, int64_t grain, forge_range_body body, void *context);

/// The sum of `count` bytes read as little-endian 64-bit words (and trailing bytes), computed with
/// independent wide loads: the streaming-read bandwidth probe of `forge bench`. `lockstep`
/// nonzero reads eight 4 KiB streams side by side, zero one sequential stream (same sum).
uint64_t forge_stream_sum(const void *bytes, size_t count, int lockstep);

/// `steps` rounds of fused multiply-adds on independent chains in `isa`'s widest float vectors:
/// the compute-ceiling probe of `forge bench`. Returns the floating-point operations done (0 when
/// `isa` is unsupported); `sink` receives a value of the chains so none is optimized away.
double forge_fma_chains(forge_isa isa, int64_t steps, float *sink);

/// Activation scratch for matrix products: grown on demand, reused between calls.
typedef struct forge_scratch {
    void *bytes;
    size_t capacity;
} forge_scratch;
void forge_scratch_release(forge_scratch *scratch);

/// How one-token products read their weight rows (the results are the same bits either way).
typedef enum {
    FORGE_ROWS_FASTEST = 0,    // as set for the variant and weight type (forge_set_row_strategy)
    FORGE_ROWS_PANELS = 1,     // the variant's row panels over adjacent rows
    FORGE_ROWS_ONE_BY_ONE = 2,
    FORGE_ROWS_STREAMS = 3,    // row panels over rows far apart: a thread's rows as one stream per panel row
} forge_row_order;

/// Sets for the whole process what FORGE_ROWS_FASTEST means for one-token products of
/// `weight_type` in the variant `isa`. FORGE_ROWS_FASTEST restores the default: the row panels
/// where the variant has them, as streams where its table marks the type.
void forge_set_row_strategy(forge_isa isa, uint32_t weight_type, forge_row_order order);

/// The order a one-token product of `weight_type` asking for `order` runs: never FASTEST, and
/// ONE_BY_ONE where the variant has no row panel for the type.
forge_row_order forge_row_order_resolved(forge_isa isa, uint32_t weight_type, forge_row_order order);

/// output[t * rows + r] = Σ_c W[r, c] · input[t * columns + c] for t in 0..<tokens.
/// The activations are first converted to forge_activation_type(weight_type) into `scratch`.
/// Returns 0, -1 for a type the kernels cannot compute with, -2 when scratch cannot be allocated.
int forge_matmul(forge_pool *pool, forge_isa isa, forge_row_order row_order, forge_scratch *scratch, uint32_t weight_type,
                 int64_t rows, int64_t columns, const void *weights, size_t weight_row_bytes,
                 const float *input, float *output, int64_t tokens);

#ifdef __cplusplus
}
#endif
#endif
