// Matrix products of a weight matrix (rows of blocks, straight from the file) with a batch of
// f32 activation rows. The activations are converted once per call to the weight type's
// activation format; rows are then split across the pool.
#include <stdlib.h>
#include "formats.h"

typedef struct {
    forge_dot_fn dot;
    forge_tile_fn tile; // NULL: one dot product per token
    forge_panel_fn panel; // NULL: the tile, row by row
    forge_dot_fn single_dot; // one-token products when their order is not the tile's
    forge_row_panel_fn row_panel; // one-token products; NULL: single_dot or the tile, row by row
    int row_streams;              // the row panel takes rows far apart (FORGE_ROWS_STREAMS)
    forge_lane_panel_fn lane_panel; // batches of FORGE_LANE_TOKENS or more; NULL: the tiles and panels
    uint8_t *lane_blocks;           // the activations as the lane panel reads them, group after group
    size_t lane_block_bytes;        // one entry: forge_lane_block (Q8_K) or forge_lane_block_q8
    int64_t lane_blocks_per_token;  // entries per token group
    int64_t lane_tokens;            // the batch's first tokens, which the lane panel takes
    forge_quantize_fn quantize;
    const uint8_t *weights;
    size_t weight_row_bytes;
    const float *input;
    int64_t columns;
    const uint8_t *activations;
    size_t activation_row_bytes;
    uint32_t activation_type;
    float *scales;          // per token 2 · columns/32 f32 scales for the tiles, or NULL
    int64_t scales_per_token;
    float *group_scales;    // per full tile, the same scales interleaved for the panel, or NULL
    forge_quantize_fn panel_convert; // makes the rows the panel reads, when not the activations
    const uint8_t *panel_input;      // the rows the panel reads; NULL: no panel in this product
    size_t panel_row_bytes;
    float *output;
    int64_t rows;
    int64_t tokens;
    int64_t cached_rows; // CACHED_ROWS or FLOAT_CACHED_ROWS
    int float_panel_tokens; // F32/F16: panels take any number of tokens up to this (per variant); 0 otherwise
} matmul_job;

enum {
    ROW_GRAIN = 4,   // rows per claimable unit
    CACHED_ROWS = 16, // rows whose weights stay cached while every token passes over them
    // Float panels load twice the vectors per multiply-add of the quantized ones, so more rows
    // share each token's activations (the quantized panels are slower with 64).
    FLOAT_CACHED_ROWS = 64,
};

static void quantize_tokens(void *context, int64_t begin, int64_t end) {
    const matmul_job *job = context;
    for (int64_t t = begin; t < end; ++t) {
        uint8_t *activation = (uint8_t *)job->activations + t * job->activation_row_bytes;
        job->quantize(job->input + t * job->columns, activation, job->columns);
        if (job->scales) {
            forge_activation_scales(job->activation_type, activation, job->columns, job->scales + t * job->scales_per_token);
        }
        if (job->panel_convert) {
            job->panel_convert(job->input + t * job->columns, (uint8_t *)job->panel_input + t * job->panel_row_bytes, job->columns);
        }
    }
}

// Token j's 32 activation codes into its lanes as unsigned bytes y + 128 (flipping the sign bit).
static inline void offset_codes(const int8_t codes[QK], forge_lane_block_q8 *lane, int j) {
    for (int i = 0; i < QK / 4; ++i) {
        uint32_t four;
        memcpy(&four, codes + 4 * i, 4);
        four ^= 0x80808080u;
        memcpy(lane->codes[i][j], &four, 4);
    }
}

// The lane blocks of token groups begin..<end from the Q8_K, Q8_0 or Q8_1 activation rows.
static void lay_out_lanes(void *context, int64_t begin, int64_t end) {
    const matmul_job *job = context;
    const int64_t blocks = job->lane_blocks_per_token;
    for (int64_t group = begin; group < end; ++group) {
        const int64_t first = group * FORGE_LANE_TOKENS;
        const int tokens = job->lane_tokens - first < FORGE_LANE_TOKENS ? (int)(job->lane_tokens - first) : FORGE_LANE_TOKENS;
        uint8_t *entries = job->lane_blocks + (size_t)(group * blocks) * job->lane_block_bytes;
        memset(entries, 0, (size_t)blocks * job->lane_block_bytes);
        for (int j = 0; j < tokens; ++j) {
            const uint8_t *row = job->activations + (size_t)(first + j) * job->activation_row_bytes;
            for (int64_t b = 0; b < blocks; ++b) {
                if (job->activation_type == FORGE_TYPE_Q8_K) {
                    forge_lane_block *lane = (forge_lane_block *)entries + b;
                    const block_q8_K *a = (const block_q8_K *)row + b;
                    for (int g = 0; g < QK_K / 4; ++g) memcpy(lane->codes[g][j], a->qs + 4 * g, 4);
                    for (int s = 0; s < QK_K / 16; ++s) lane->sums[s][j] = a->bsums[s];
                    lane->d[j] = a->d;
                } else if (job->activation_type == FORGE_TYPE_Q8_0) {
                    forge_lane_block_q8 *lane = (forge_lane_block_q8 *)entries + b;
                    const block_q8_0 *a = (const block_q8_0 *)row + b;
                    offset_codes(a->qs, lane, j);
                    lane->d[j] = f16_to_f32(a->d);
                } else {
                    forge_lane_block_q8 *lane = (forge_lane_block_q8 *)entries + b;
                    const block_q8_1 *a = (const block_q8_1 *)row + b;
                    offset_codes(a->qs, lane, j);
                    lane->d[j] = f16_to_f32(a->d);
                    lane->s[j] = f16_to_f32(a->s);
                }
            }
        }
    }
}

static void interleave_scales(void *context, int64_t begin, int64_t end) {
    const matmul_job *job = context;
    for (int64_t group = begin; group < end; ++group) {
        forge_group_scales(job->activation_type, job->columns, job->scales + group * FORGE_TILE_TOKENS * job->scales_per_token,
                           (size_t)job->scales_per_token, job->group_scales + group * FORGE_TILE_TOKENS * job->scales_per_token);
    }
}

// The weights of the row block after the current one, fetched into L2 a share at a time while
// the tokens pass over the current block, so the next block's first pass finds them there
// instead of waiting on memory (a model's layers bring a different matrix every call).
typedef struct {
    const uint8_t *start;
    size_t bytes;
    size_t share; // bytes per panel call
} next_block;

static next_block next_block_for(const matmul_job *job, int64_t block_end, int64_t end) {
    const int64_t rows = end - block_end < job->cached_rows ? end - block_end : job->cached_rows;
    const int64_t tokens = job->tokens - job->lane_tokens;
    const int64_t tokens_per_pass = job->float_panel_tokens ? job->float_panel_tokens : 2 * FORGE_TILE_TOKENS;
    const int64_t passes = tokens > tokens_per_pass ? (tokens + tokens_per_pass - 1) / tokens_per_pass : 1;
    const int64_t calls = job->cached_rows / FORGE_PANEL_ROWS * passes;
    const size_t bytes = (size_t)rows * job->weight_row_bytes;
    return (next_block){job->weights + block_end * job->weight_row_bytes, bytes, (bytes / (size_t)calls + 63) / 64 * 64};
}

static inline size_t prefetch_share(next_block next, size_t done) {
    const size_t until = done + next.share < next.bytes ? done + next.share : next.bytes;
    for (size_t offset = done; offset < until; offset += 64) __builtin_prefetch(next.start + offset, 0, 2);
    return until;
}

// A block of `cached_rows` rows stays in cache while every token passes over it; with a tile
// kernel each weight block is decoded once for FORGE_TILE_TOKENS tokens, with a panel kernel once
// for up to twice that (float_panel_tokens for float weights), FORGE_PANEL_ROWS rows at a time.
// Tiles start at multiples of FORGE_TILE_TOKENS from the batch start (the grouping llama.cpp's
// repacked Q4_K product rounds by). A lane panel takes the batch's first `lane_tokens` tokens,
// FORGE_LANE_PANEL_GROUPS token groups at a time for FORGE_LANE_PANEL_ROWS rows.
static void multiply_rows(void *context, int64_t begin, int64_t end) {
    const matmul_job *job = context;
    if (job->lane_panel) {
        for (int64_t t = 0; t < job->lane_tokens; t += FORGE_LANE_PANEL_GROUPS * FORGE_LANE_TOKENS) {
            const int64_t remaining = job->lane_tokens - t;
            const int tokens = remaining < FORGE_LANE_PANEL_GROUPS * FORGE_LANE_TOKENS ? (int)remaining : FORGE_LANE_PANEL_GROUPS * FORGE_LANE_TOKENS;
            const uint8_t *activations = job->lane_blocks + (size_t)(t / FORGE_LANE_TOKENS * job->lane_blocks_per_token) * job->lane_block_bytes;
            for (int64_t r = begin; r < end; r += FORGE_LANE_PANEL_ROWS) {
                const int rows = end - r < FORGE_LANE_PANEL_ROWS ? (int)(end - r) : FORGE_LANE_PANEL_ROWS;
                job->lane_panel(job->columns, job->weights + r * job->weight_row_bytes, job->weight_row_bytes, rows, activations,
                                (tokens + FORGE_LANE_TOKENS - 1) / FORGE_LANE_TOKENS, tokens, job->output + t * job->rows + r,
                                (size_t)job->rows);
            }
        }
    }
    if (job->row_streams) {
        // The rows as FORGE_ROW_PANEL_ROWS streams of `span` adjacent rows, a panel taking the
        // k-th row of each, so a panel's rows lie in different pages and the memory system
        // streams them as eight sequences (as the bandwidth probe's lockstep read).
        const int64_t span = (end - begin) / FORGE_ROW_PANEL_ROWS;
        for (int64_t k = 0; k < span; ++k) {
            float results[FORGE_ROW_PANEL_ROWS];
            job->row_panel(job->columns, job->weights + (begin + k) * job->weight_row_bytes, job->weight_row_bytes * (size_t)span,
                           FORGE_ROW_PANEL_ROWS, job->activations, job->scales, results);
            for (int s = 0; s < FORGE_ROW_PANEL_ROWS; ++s) job->output[begin + s * span + k] = results[s];
        }
        begin += span * FORGE_ROW_PANEL_ROWS;
    }
    if (job->row_panel) {
        for (int64_t r = begin; r < end; r += FORGE_ROW_PANEL_ROWS) {
            const int rows = end - r < FORGE_ROW_PANEL_ROWS ? (int)(end - r) : FORGE_ROW_PANEL_ROWS;
            job->row_panel(job->columns, job->weights + r * job->weight_row_bytes, job->weight_row_bytes, rows, job->activations,
                           job->scales, job->output + r);
        }
        return;
    }
    if (job->single_dot) {
        for (int64_t r = begin; r < end; ++r) {
            job->output[r] = job->single_dot(job->columns, job->weights + r * job->weight_row_bytes, job->activations);
        }
        return;
    }
    for (int64_t panel = begin; panel < end; panel += job->cached_rows) {
        const int64_t panel_end = panel + job->cached_rows < end ? panel + job->cached_rows : end;
        const next_block next = next_block_for(job, panel_end, end);
        size_t prefetched = 0;
        int64_t step;
        for (int64_t t = job->lane_tokens; t < job->tokens; t += step) {
            const int64_t remaining = job->tokens - t;
            const int panel_tokens = !job->panel_input ? 0
                                     : job->float_panel_tokens ? (remaining < job->float_panel_tokens ? (int)remaining : job->float_panel_tokens)
                                     : remaining >= 2 * FORGE_TILE_TOKENS ? 2 * FORGE_TILE_TOKENS
                                     : remaining >= FORGE_TILE_TOKENS ? FORGE_TILE_TOKENS : 0;
            step = panel_tokens ? panel_tokens : remaining < FORGE_TILE_TOKENS ? remaining : FORGE_TILE_TOKENS;
            const uint8_t *activation = job->activations + t * job->activation_row_bytes;
            float *output = job->output + t * job->rows;
            int64_t r = panel;
            if (panel_tokens) {
                const float *group_scales = job->group_scales ? job->group_scales + t * job->scales_per_token : NULL;
                for (; r + FORGE_PANEL_ROWS <= panel_end; r += FORGE_PANEL_ROWS) {
                    prefetched = prefetch_share(next, prefetched);
                    job->panel(job->columns, job->weights + r * job->weight_row_bytes, job->weight_row_bytes,
                               job->panel_input + t * job->panel_row_bytes, job->panel_row_bytes, group_scales, panel_tokens,
                               output + r, (size_t)job->rows);
                }
            }
            for (; r < panel_end; ++r) {
                const uint8_t *weights = job->weights + r * job->weight_row_bytes;
                for (int64_t k0 = 0; k0 < step; k0 += FORGE_TILE_TOKENS) {
                    const int tokens = step - k0 < FORGE_TILE_TOKENS ? (int)(step - k0) : FORGE_TILE_TOKENS;
                    const uint8_t *tile_activation = activation + k0 * job->activation_row_bytes;
                    float *tile_output = output + k0 * job->rows;
                    if (job->tile) {
                        const float *scales = job->scales ? job->scales + (t + k0) * job->scales_per_token : NULL;
                        job->tile(job->columns, weights, tile_activation, job->activation_row_bytes, scales, tokens,
                                  tile_output + r, (size_t)job->rows);
                        continue;
                    }
                    for (int k = 0; k < tokens; ++k) {
                        tile_output[k * job->rows + r] = job->dot(job->columns, weights, tile_activation + k * job->activation_row_bytes);
                    }
                }
            }
        }
    }
}

static int reserve(forge_scratch *scratch, size_t bytes) {
    if (scratch->capacity >= bytes) return 0;
    const size_t rounded = (bytes + 63) / 64 * 64;
    void *grown = aligned_alloc(64, rounded);
    if (!grown) return -1;
    free(scratch->bytes);
    scratch->bytes = grown;
    scratch->capacity = rounded;
    return 0;
}

void forge_scratch_release(forge_scratch *scratch) {
    free(scratch->bytes);
    scratch->bytes = NULL;
    scratch->capacity = 0;
}

int forge_matmul(forge_pool *pool, forge_isa isa, forge_row_order row_order, forge_scratch *scratch, uint32_t weight_type,
                 int64_t rows, int64_t columns, const void *weights, size_t weight_row_bytes,
                 const float *input, float *output, int64_t tokens) {
    const int32_t activation_type = forge_activation_type(weight_type);
    if (activation_type < 0) return -1;
    if (rows <= 0 || tokens <= 0) return 0;
    const int float_weights = weight_type == FORGE_TYPE_F32 || weight_type == FORGE_TYPE_F16;
    matmul_job job = {
        .dot = forge_select_dot(isa, weight_type),
        .tile = forge_select_batch_tile(isa, weight_type, tokens),
        .panel = tokens >= (float_weights ? 2 : FORGE_TILE_TOKENS) ? forge_select_panel(isa, weight_type) : NULL,
        .quantize = forge_select_quantize(isa, (uint32_t)activation_type),
        .weights = weights,
        .weight_row_bytes = weight_row_bytes,
        .input = input,
        .columns = columns,
        .activation_row_bytes = (size_t)(columns / forge_type_block_size((uint32_t)activation_type) *
                                         forge_type_block_bytes((uint32_t)activation_type)),
        .activation_type = (uint32_t)activation_type,
        .output = output,
        .rows = rows,
        .tokens = tokens,
        .cached_rows = float_weights ? FLOAT_CACHED_ROWS : CACHED_ROWS,
        .float_panel_tokens = float_weights ? forge_select_float_panel_tokens(isa, weight_type) : 0,
    };
    job.single_dot = tokens == 1 ? forge_select_single_dot(isa, weight_type) : NULL;
    const forge_row_order order = tokens == 1 ? forge_row_order_resolved(isa, weight_type, row_order) : FORGE_ROWS_ONE_BY_ONE;
    job.row_panel = order != FORGE_ROWS_ONE_BY_ONE ? forge_select_row_panel(isa, weight_type) : NULL;
    job.row_streams = order == FORGE_ROWS_STREAMS;
    job.lane_panel = tokens >= FORGE_LANE_TOKENS ? forge_select_lane_panel(isa, weight_type) : NULL;
    // Q4_K/Q5_K keep the tiles' order: whole groups of FORGE_TILE_TOKENS tokens in the GEMM order,
    // the rest in the GEMV one. The 32-value formats leave a last partial group to the panels,
    // which give the same floats for fewer tokens' work.
    const int k_format = activation_type == FORGE_TYPE_Q8_K;
    const int tile_grouped = weight_type == FORGE_TYPE_Q4_K || weight_type == FORGE_TYPE_Q5_K;
    job.lane_tokens = !job.lane_panel ? 0
                      : !k_format     ? tokens - tokens % FORGE_LANE_TOKENS
                      : tile_grouped  ? tokens - tokens % FORGE_TILE_TOKENS
                                      : tokens;
    job.lane_block_bytes = k_format ? sizeof(forge_lane_block) : sizeof(forge_lane_block_q8);
    job.lane_blocks_per_token = columns / (k_format ? QK_K : QK);
    const int64_t lane_groups = (job.lane_tokens + FORGE_LANE_TOKENS - 1) / FORGE_LANE_TOKENS;
    const size_t lane_bytes = job.lane_block_bytes * (size_t)(lane_groups * job.lane_blocks_per_token);
    if (activation_type == FORGE_TYPE_F32) {
        job.activations = (const uint8_t *)input;
        if (job.panel) {
            job.panel_input = job.activations;
            job.panel_row_bytes = job.activation_row_bytes;
        }
    } else {
        const size_t activation_bytes = (job.activation_row_bytes * (size_t)tokens + 63) / 64 * 64;
        const int wants_scales = (job.tile || job.panel) && (activation_type == FORGE_TYPE_Q8_0 || activation_type == FORGE_TYPE_Q8_1);
        job.scales_per_token = wants_scales ? 2 * (columns / QK) : 0;
        const size_t scale_bytes = sizeof(float) * (size_t)(job.scales_per_token * tokens);
        const int64_t full_tiles = job.panel && wants_scales ? tokens / FORGE_TILE_TOKENS : 0;
        job.panel_convert = job.panel ? forge_select_panel_activations(isa, weight_type) : NULL;
        const size_t panel_bytes = job.panel_convert ? sizeof(float) * (size_t)(columns * tokens) : 0;
        const size_t panel_end = (activation_bytes + 2 * scale_bytes + panel_bytes + 63) / 64 * 64;
        if (reserve(scratch, panel_end + lane_bytes) != 0) return -2;
        job.activations = scratch->bytes;
        job.lane_blocks = lane_bytes ? (uint8_t *)scratch->bytes + panel_end : NULL;
        job.scales = wants_scales ? (float *)((uint8_t *)scratch->bytes + activation_bytes) : NULL;
        job.group_scales = full_tiles > 0 ? job.scales + job.scales_per_token * tokens : NULL;
        // Panels read the activation rows: quantized ones with their interleaved scales (full
        // tiles only), F16 ones as they are or as the variant's f32 rows.
        if (job.panel_convert) {
            job.panel_input = (const uint8_t *)scratch->bytes + activation_bytes + 2 * scale_bytes;
            job.panel_row_bytes = sizeof(float) * (size_t)columns;
        } else if (job.group_scales || (job.panel && float_weights)) {
            job.panel_input = job.activations;
            job.panel_row_bytes = job.activation_row_bytes;
        }
        forge_pool_run(pool, tokens, 1, quantize_tokens, &job);
        if (full_tiles > 0) forge_pool_run(pool, full_tiles, 1, interleave_scales, &job);
        if (lane_groups > 0) forge_pool_run(pool, lane_groups, 1, lay_out_lanes, &job);
    }
    const int64_t grain = job.row_panel ? FORGE_ROW_PANEL_ROWS : job.lane_panel ? FORGE_LANE_PANEL_ROWS : ROW_GRAIN;
    forge_pool_run(pool, rows, grain, multiply_rows, &job);
    return 0;
}
