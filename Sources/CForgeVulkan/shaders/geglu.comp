#version 450
// gate ← gelu(gate) ⊙ up, element by element, GELU in its tanh form (Gemma). The CPU backend
// rounds the gate to f16 and looks GELU up in a table of f16 results, as llama.cpp's does; this
// computes it in f32, a difference far below the tests' bounds.
#include "common.glsl"

layout(binding = 0) buffer Gate { float gate[]; };
layout(binding = 1) readonly buffer Up { float up[]; };

layout(push_constant) uniform Parameters { uint count; } p;

void main() {
    uint i = invocation_index();
    if (i >= p.count) return;
    float x = gate[i];
    // tanh(z) as 1 − 2 / (e^{2z} + 1): GLSL's tanh may overflow to NaN for large |z| on some drivers.
    float z = 0.79788456080286535587989211986876 * x * (1.0 + 0.044715 * x * x);
    float t = 1.0 - 2.0 / (exp(2.0 * z) + 1.0);
    gate[i] = x <= -10.0 ? 0.0 : x >= 10.0 ? x * up[i] : 0.5 * x * (1.0 + t) * up[i];
}
