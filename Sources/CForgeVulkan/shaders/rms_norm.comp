#version 450
// RMS normalization, one workgroup per row: y = x / sqrt(mean(x²) + ε) ⊙ weight. Rows may be
// tokens (width = embedding) or heads (QK-norm: width = head size, one weight for all heads).
#include "common.glsl"

layout(binding = 0) readonly buffer Input { float input_values[]; };
layout(binding = 1) readonly buffer Weight { float weight[]; };
layout(binding = 2) buffer Output { float output_values[]; };

layout(push_constant) uniform Parameters {
    uint rows;
    uint width;
    float epsilon;
} p;

void main() {
    uint r = group_index();
    if (r >= p.rows) return;
    uint start = r * p.width;
    float sum = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.width; i += gl_WorkGroupSize.x) {
        float x = input_values[start + i];
        sum += x * x;
    }
    float scale = inversesqrt(workgroup_sum(sum) / float(p.width) + p.epsilon);
    for (uint i = gl_LocalInvocationID.x; i < p.width; i += gl_WorkGroupSize.x) {
        output_values[start + i] = input_values[start + i] * scale * weight[i];
    }
}
