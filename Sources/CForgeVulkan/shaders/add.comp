#version 450
// destination[i] += source[i mod period]: the residual connection (period = count) and a bias
// added to every row (period = row width).
#include "common.glsl"

layout(binding = 0) buffer Destination { float destination[]; };
layout(binding = 1) readonly buffer Source { float source[]; };

layout(push_constant) uniform Parameters {
    uint count;
    uint period;
} p;

void main() {
    uint i = invocation_index();
    if (i >= p.count) return;
    destination[i] += source[i % p.period];
}
