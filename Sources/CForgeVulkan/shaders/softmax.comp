#version 450
// Softmax of each row in place, one workgroup per row, scaled first: y = exp(s·x − max) / Σ.
#include "common.glsl"

layout(binding = 0) buffer Values { float values[]; };

layout(push_constant) uniform Parameters {
    uint rows;
    uint width;
    float scale;
} p;

void main() {
    uint r = group_index();
    if (r >= p.rows) return;
    uint start = r * p.width;
    float maximum = -1.0 / 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.width; i += gl_WorkGroupSize.x) maximum = max(maximum, p.scale * values[start + i]);
    maximum = workgroup_max(maximum);
    float sum = 0.0;
    for (uint i = gl_LocalInvocationID.x; i < p.width; i += gl_WorkGroupSize.x) {
        float e = exp(p.scale * values[start + i] - maximum);
        values[start + i] = e;
        sum += e;
    }
    float inverse = 1.0 / workgroup_sum(sum);
    for (uint i = gl_LocalInvocationID.x; i < p.width; i += gl_WorkGroupSize.x) values[start + i] *= inverse;
}
