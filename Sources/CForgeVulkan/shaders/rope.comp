#version 450
// Rotates the first `rotated` values of every head of every token by its position's angles,
// read from a cos/sin table the host fills per batch (as the CPU path fills it, so both agree
// and no shader evaluates sin of a large angle). Normal style pairs (2i, 2i+1); NeoX style
// pairs (i, i + rotated/2). One invocation per pair.
#include "common.glsl"

layout(binding = 0) buffer Vectors { float vectors[]; };
layout(binding = 1) readonly buffer Angles { float angles[]; }; // (tokens, rotated): cos, sin per pair

layout(push_constant) uniform Parameters {
    uint tokens;
    uint heads;
    uint head_dim;
    uint rotated;
    uint neox;
} p;

void main() {
    uint pairs = p.rotated / 2u;
    uint index = invocation_index();
    if (index >= p.tokens * p.heads * pairs) return;
    uint pair = index % pairs, head = (index / pairs) % p.heads, token = index / (pairs * p.heads);
    uint base = (token * p.heads + head) * p.head_dim;
    uint i = p.neox != 0u ? pair : 2u * pair;
    uint j = p.neox != 0u ? pair + pairs : 2u * pair + 1u;
    float c = angles[token * p.rotated + 2u * pair], s = angles[token * p.rotated + 2u * pair + 1u];
    float x0 = vectors[base + i], x1 = vectors[base + j];
    vectors[base + i] = x0 * c - x1 * s;
    vectors[base + j] = x0 * s + x1 * c;
}
