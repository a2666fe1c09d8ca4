#version 450
// gate ← silu(gate) ⊙ up, element by element.
#include "common.glsl"

layout(binding = 0) buffer Gate { float gate[]; };
layout(binding = 1) readonly buffer Up { float up[]; };

layout(push_constant) uniform Parameters { uint count; } p;

void main() {
    uint i = invocation_index();
    if (i >= p.count) return;
    float g = gate[i];
    gate[i] = g / (1.0 + exp(-g)) * up[i];
}
