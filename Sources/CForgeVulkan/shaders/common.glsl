// What every Forge compute shader shares: the workgroup size from specialization constant 0,
// workgroup ids folded from a 2-D grid (dispatches past maxComputeWorkGroupCount[0] use y), and
// workgroup-wide reductions that never assume a subgroup size.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x_id = 0) in;

// Workgroups hold at most 256 invocations (the host checks), so at most 256 subgroups.
#define MAX_SUBGROUPS 256

uint group_index() {
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

uint invocation_index() {
    return group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

shared float subgroup_partials[MAX_SUBGROUPS];

float workgroup_sum(float value) {
    value = subgroupAdd(value);
    if (subgroupElect()) subgroup_partials[gl_SubgroupID] = value;
    barrier();
    float total = 0.0;
    for (uint i = 0; i < gl_NumSubgroups; ++i) total += subgroup_partials[i];
    barrier();
    return total;
}

float workgroup_max(float value) {
    value = subgroupMax(value);
    if (subgroupElect()) subgroup_partials[gl_SubgroupID] = value;
    barrier();
    float result = subgroup_partials[0];
    for (uint i = 1; i < gl_NumSubgroups; ++i) result = max(result, subgroup_partials[i]);
    barrier();
    return result;
}
