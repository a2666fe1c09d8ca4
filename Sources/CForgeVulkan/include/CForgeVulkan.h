#ifndef CFORGE_VULKAN_H
#define CFORGE_VULKAN_H
// The Vulkan compute host layer: instance, devices, buffers, pipelines, recorded dispatches.
// The Vulkan loader (libvulkan.so.1) is opened at run time and the Vulkan headers are used only
// where installed, so this interface is the same on every machine and a build without Vulkan
// answers every call with "Vulkan not available". Swift (ForgeVulkan) is the only caller.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct forge_vk_instance forge_vk_instance;
typedef struct forge_vk_device forge_vk_device;
typedef struct forge_vk_buffer forge_vk_buffer;
typedef struct forge_vk_pipeline forge_vk_pipeline;

/// VkPhysicalDeviceType's values.
enum { FORGE_VK_OTHER = 0, FORGE_VK_INTEGRATED = 1, FORGE_VK_DISCRETE = 2, FORGE_VK_VIRTUAL = 3, FORGE_VK_CPU = 4 };

/// What a physical device is and the limits the backend queries instead of assuming.
typedef struct {
    char name[256];
    int32_t type;
    uint32_t api_version;
    uint64_t device_local_bytes;  // the largest device-local heap
    int32_t unified_memory;       // a device-local memory type is also host-visible
    uint32_t subgroup_size;
    int32_t subgroup_arithmetic;  // subgroupAdd and friends in compute shaders
    uint64_t max_storage_buffer_range;
    uint64_t max_allocation_bytes;
    uint32_t max_workgroup_count[3];
    uint32_t max_workgroup_invocations;
    uint32_t max_shared_memory_bytes;
    uint32_t max_push_constant_bytes;
    uint32_t min_storage_buffer_offset_alignment;
    int32_t storage_buffer_16bit;
    int32_t storage_buffer_8bit;
    int32_t shader_float16;
    int32_t shader_int8;
} forge_vk_device_info;

/// Whether the build has the Vulkan headers (0: every call below fails with an explanation).
int forge_vk_compiled(void);

/// Opens the loader and creates an instance; with `validation`, enables the Khronos validation
/// layer and records every warning and error it reports (forge_vk_take_messages).
/// NULL on failure, with the reason in `error`.
forge_vk_instance *forge_vk_instance_create(int validation, char *error, size_t error_size);
void forge_vk_instance_destroy(forge_vk_instance *instance);
/// Whether the Khronos validation layer is installed (the loader must open).
int forge_vk_validation_available(void);
uint32_t forge_vk_device_count(const forge_vk_instance *instance);
void forge_vk_device_describe(const forge_vk_instance *instance, uint32_t index, forge_vk_device_info *info);
/// The validation messages recorded since the last call, separated by newlines, into `buffer`
/// (truncated to fit); returns how many there were.
uint32_t forge_vk_take_messages(forge_vk_instance *instance, char *buffer, size_t buffer_size);

/// A logical device with one compute queue on physical device `index`.
forge_vk_device *forge_vk_device_create(forge_vk_instance *instance, uint32_t index, char *error, size_t error_size);
void forge_vk_device_destroy(forge_vk_device *device);

/// A device-local storage buffer of `size` bytes (contents undefined until written).
forge_vk_buffer *forge_vk_buffer_create(forge_vk_device *device, uint64_t size, char *error, size_t error_size);
void forge_vk_buffer_destroy(forge_vk_device *device, forge_vk_buffer *buffer);
/// Copies host memory into a buffer through a host-visible staging buffer, as discrete GPUs
/// need, and waits. Not while a recording is open.
int forge_vk_upload(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, const void *data, uint64_t size,
                    char *error, size_t error_size);
/// Copies a buffer's bytes to host memory through the staging buffer, and waits.
int forge_vk_download(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, void *data, uint64_t size,
                      char *error, size_t error_size);

/// A compute pipeline from SPIR-V: `binding_count` storage buffers in set 0 (bindings 0...),
/// `push_constant_bytes` of push constants, specialization constant 0 = the workgroup size.
forge_vk_pipeline *forge_vk_pipeline_create(forge_vk_device *device, const uint32_t *code, size_t code_bytes,
                                            uint32_t binding_count, uint32_t push_constant_bytes, uint32_t workgroup_size,
                                            char *error, size_t error_size);
void forge_vk_pipeline_destroy(forge_vk_device *device, forge_vk_pipeline *pipeline);

/// One storage-buffer binding of a dispatch: a range of a buffer.
typedef struct {
    forge_vk_buffer *buffer;
    uint64_t offset;
    uint64_t range;
} forge_vk_binding;

/// Starts recording; dispatches run in order, each seeing the writes of those before it.
int forge_vk_begin(forge_vk_device *device, char *error, size_t error_size);
/// Records a copy of `size` bytes (a multiple of 4) of host memory into a buffer at `offset`.
int forge_vk_record_write(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, const void *data,
                          uint64_t size, char *error, size_t error_size);
int forge_vk_record_dispatch(forge_vk_device *device, forge_vk_pipeline *pipeline, const forge_vk_binding *bindings,
                             uint32_t binding_count, const void *push_constants, uint32_t push_constant_bytes,
                             uint32_t groups_x, uint32_t groups_y, uint32_t groups_z, char *error, size_t error_size);
/// Records a copy of a buffer range into the read-back area (forge_vk_readback after submitting).
int forge_vk_record_readback(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, uint64_t size,
                             char *error, size_t error_size);
/// Submits the recording and waits for it.
int forge_vk_submit(forge_vk_device *device, char *error, size_t error_size);
/// Ends a recording without running it (after a failed record call).
void forge_vk_abandon(forge_vk_device *device);
/// The bytes the last submitted recording read back.
const void *forge_vk_readback(const forge_vk_device *device);

/// Compiled shaders, generated by scripts/compile-shaders into spirv.c.
typedef struct {
    const char *name;
    const uint32_t *code;
    size_t bytes;
} forge_vk_shader;
extern const forge_vk_shader forge_vk_shaders[];
extern const size_t forge_vk_shader_count;
/// The compiled shader called `name`, or NULL.
const forge_vk_shader *forge_vk_find_shader(const char *name);

#ifdef __cplusplus
}
#endif

#endif
