// The Vulkan host layer over the loader opened with dlopen. Vulkan's headers are used when the
// build machine has them (libvulkan-dev); without them this file compiles to the answers at the
// end, which say what to install, so a machine without any Vulkan package builds and runs Forge
// on the CPU.
#include "CForgeVulkan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void fail(char *error, size_t error_size, const char *format, ...) {
    if (!error || error_size == 0) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
}

const forge_vk_shader *forge_vk_find_shader(const char *name) {
    for (size_t i = 0; i < forge_vk_shader_count; ++i) {
        if (strcmp(forge_vk_shaders[i].name, name) == 0) return &forge_vk_shaders[i];
    }
    return NULL;
}

#if !defined(FORGE_WITHOUT_VULKAN) && __has_include(<vulkan/vulkan.h>)

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"
#define STAGING_BYTES (16u << 20)
#define SETS_PER_POOL 512u
#define MAX_BINDINGS 8u
#define WRITE_CHUNK 65536u // vkCmdUpdateBuffer's limit per call

#define GLOBAL_FUNCTIONS(X) X(vkCreateInstance) X(vkEnumerateInstanceLayerProperties) X(vkEnumerateInstanceExtensionProperties)
#define INSTANCE_FUNCTIONS(X)                                                                                            \
    X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties)                                  \
    X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2) X(vkGetPhysicalDeviceMemoryProperties)             \
    X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkCreateDevice) X(vkGetDeviceProcAddr)
#define DEVICE_FUNCTIONS(X)                                                                                              \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements)         \
    X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory) X(vkCreateShaderModule)                     \
    X(vkDestroyShaderModule) X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout)    \
    X(vkDestroyPipelineLayout) X(vkCreateComputePipelines) X(vkDestroyPipeline) X(vkCreateDescriptorPool)                \
    X(vkDestroyDescriptorPool) X(vkResetDescriptorPool) X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)            \
    X(vkCreateCommandPool) X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) X(vkBeginCommandBuffer)                   \
    X(vkEndCommandBuffer) X(vkResetCommandBuffer) X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets) X(vkCmdPushConstants)  \
    X(vkCmdDispatch) X(vkCmdPipelineBarrier) X(vkCmdCopyBuffer) X(vkCmdUpdateBuffer) X(vkCreateFence) X(vkDestroyFence)  \
    X(vkResetFences) X(vkWaitForFences) X(vkQueueSubmit)

#define DECLARE(name) PFN_##name name;

// MARK: - Loader

static struct {
    pthread_once_t once;
    void *library;
    char error[256];
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
    GLOBAL_FUNCTIONS(DECLARE)
} loader = {.once = PTHREAD_ONCE_INIT};

static void open_loader(void) {
#if defined(__APPLE__)
    const char *names[] = {"libvulkan.1.dylib", "libMoltenVK.dylib"};
#else
    const char *names[] = {"libvulkan.so.1", "libvulkan.so"};
#endif
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !loader.library; ++i) {
        loader.library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (!loader.library) {
        snprintf(loader.error, sizeof loader.error, "Vulkan not available: no Vulkan loader (%s); install mesa-vulkan-drivers "
                 "(or a GPU driver) and libvulkan1", names[0]);
        return;
    }
    loader.vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(loader.library, "vkGetInstanceProcAddr");
    if (!loader.vkGetInstanceProcAddr) {
        snprintf(loader.error, sizeof loader.error, "Vulkan not available: %s lacks vkGetInstanceProcAddr", names[0]);
        return;
    }
#define LOAD_GLOBAL(name) loader.name = (PFN_##name)loader.vkGetInstanceProcAddr(NULL, #name);
    GLOBAL_FUNCTIONS(LOAD_GLOBAL)
    if (!loader.vkCreateInstance || !loader.vkEnumerateInstanceLayerProperties || !loader.vkEnumerateInstanceExtensionProperties) {
        snprintf(loader.error, sizeof loader.error, "Vulkan not available: the loader lacks its global functions");
    }
}

static int loader_ready(char *error, size_t error_size) {
    pthread_once(&loader.once, open_loader);
    if (loader.error[0]) {
        fail(error, error_size, "%s", loader.error);
        return 0;
    }
    return 1;
}

int forge_vk_compiled(void) { return 1; }

// MARK: - Instance

typedef struct {
    VkPhysicalDevice handle;
    forge_vk_device_info info;
    uint32_t compute_family;
} physical_device;

struct forge_vk_instance {
    VkInstance handle;
    INSTANCE_FUNCTIONS(DECLARE)
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
    PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
    VkDebugUtilsMessengerEXT messenger;
    pthread_mutex_t messages_lock;
    char *messages;
    size_t messages_length;
    uint32_t message_count;
    physical_device *devices;
    uint32_t device_count;
};

static VKAPI_ATTR VkBool32 VKAPI_CALL record_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT types,
                                                     const VkDebugUtilsMessengerCallbackDataEXT *data, void *context) {
    (void)types;
    forge_vk_instance *instance = context;
    const char *level = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning";
    const char *text = data && data->pMessage ? data->pMessage : "(no message)";
    pthread_mutex_lock(&instance->messages_lock);
    const size_t length = strlen(level) + strlen(text) + 3;
    char *grown = realloc(instance->messages, instance->messages_length + length + 1);
    if (grown) {
        instance->messages = grown;
        instance->messages_length += (size_t)snprintf(grown + instance->messages_length, length + 1, "%s: %s\n", level, text);
    }
    instance->message_count += 1;
    pthread_mutex_unlock(&instance->messages_lock);
    return VK_FALSE;
}

static int has_layer(const char *name) {
    uint32_t count = 0;
    if (loader.vkEnumerateInstanceLayerProperties(&count, NULL) != VK_SUCCESS || count == 0) return 0;
    VkLayerProperties *layers = calloc(count, sizeof *layers);
    int found = 0;
    if (layers && loader.vkEnumerateInstanceLayerProperties(&count, layers) == VK_SUCCESS) {
        for (uint32_t i = 0; i < count && !found; ++i) found = strcmp(layers[i].layerName, name) == 0;
    }
    free(layers);
    return found;
}

static int has_instance_extension(const char *name) {
    uint32_t count = 0;
    if (loader.vkEnumerateInstanceExtensionProperties(NULL, &count, NULL) != VK_SUCCESS || count == 0) return 0;
    VkExtensionProperties *extensions = calloc(count, sizeof *extensions);
    int found = 0;
    if (extensions && loader.vkEnumerateInstanceExtensionProperties(NULL, &count, extensions) == VK_SUCCESS) {
        for (uint32_t i = 0; i < count && !found; ++i) found = strcmp(extensions[i].extensionName, name) == 0;
    }
    free(extensions);
    return found;
}

int forge_vk_validation_available(void) {
    return loader_ready(NULL, 0) && has_layer(VALIDATION_LAYER);
}

static void describe(forge_vk_instance *instance, physical_device *device) {
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 properties = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &subgroup};
    instance->vkGetPhysicalDeviceProperties2(device->handle, &properties);
    VkPhysicalDeviceMaintenance3Properties maintenance = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 more = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &maintenance};
    instance->vkGetPhysicalDeviceProperties2(device->handle, &more);
    VkPhysicalDeviceShaderFloat16Int8Features float16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice8BitStorageFeatures storage8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES, .pNext = &float16};
    VkPhysicalDevice16BitStorageFeatures storage16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES, .pNext = &storage8};
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &storage16};
    const uint32_t api = properties.properties.apiVersion;
    // The 1.2 structures are only filled by 1.2 devices; older ones leave them zero.
    if (api >= VK_API_VERSION_1_2) instance->vkGetPhysicalDeviceFeatures2(device->handle, &features);
    VkPhysicalDeviceMemoryProperties memory;
    instance->vkGetPhysicalDeviceMemoryProperties(device->handle, &memory);

    forge_vk_device_info *info = &device->info;
    const VkPhysicalDeviceLimits *limits = &properties.properties.limits;
    snprintf(info->name, sizeof info->name, "%s", properties.properties.deviceName);
    info->type = (int32_t)properties.properties.deviceType;
    info->api_version = api;
    for (uint32_t h = 0; h < memory.memoryHeapCount; ++h) {
        if ((memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && memory.memoryHeaps[h].size > info->device_local_bytes) {
            info->device_local_bytes = memory.memoryHeaps[h].size;
        }
    }
    const VkMemoryPropertyFlags unified = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    for (uint32_t t = 0; t < memory.memoryTypeCount; ++t) {
        if ((memory.memoryTypes[t].propertyFlags & unified) == unified) info->unified_memory = 1;
    }
    info->subgroup_size = subgroup.subgroupSize;
    info->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    info->max_storage_buffer_range = limits->maxStorageBufferRange;
    info->max_allocation_bytes = maintenance.maxMemoryAllocationSize;
    for (int i = 0; i < 3; ++i) info->max_workgroup_count[i] = limits->maxComputeWorkGroupCount[i];
    info->max_workgroup_invocations = limits->maxComputeWorkGroupInvocations;
    info->max_shared_memory_bytes = limits->maxComputeSharedMemorySize;
    info->max_push_constant_bytes = limits->maxPushConstantsSize;
    info->min_storage_buffer_offset_alignment = (uint32_t)limits->minStorageBufferOffsetAlignment;
    info->storage_buffer_16bit = storage16.storageBuffer16BitAccess;
    info->storage_buffer_8bit = storage8.storageBuffer8BitAccess;
    info->shader_float16 = float16.shaderFloat16;
    info->shader_int8 = float16.shaderInt8;

    uint32_t family_count = 0;
    instance->vkGetPhysicalDeviceQueueFamilyProperties(device->handle, &family_count, NULL);
    VkQueueFamilyProperties *families = calloc(family_count ? family_count : 1, sizeof *families);
    device->compute_family = UINT32_MAX;
    if (families) {
        instance->vkGetPhysicalDeviceQueueFamilyProperties(device->handle, &family_count, families);
        for (uint32_t f = 0; f < family_count && device->compute_family == UINT32_MAX; ++f) {
            if (families[f].queueFlags & VK_QUEUE_COMPUTE_BIT) device->compute_family = f;
        }
    }
    free(families);
}

forge_vk_instance *forge_vk_instance_create(int validation, char *error, size_t error_size) {
    if (!loader_ready(error, error_size)) return NULL;
    if (validation && !has_layer(VALIDATION_LAYER)) {
        fail(error, error_size, "validation requested but the Khronos validation layer is not installed (vulkan-validationlayers)");
        return NULL;
    }
    forge_vk_instance *instance = calloc(1, sizeof *instance);
    if (!instance) {
        fail(error, error_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&instance->messages_lock, NULL);

    const char *extensions[2];
    uint32_t extension_count = 0;
    VkInstanceCreateFlags flags = 0;
    if (validation) extensions[extension_count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    // MoltenVK's devices are listed only to instances that accept portability drivers.
    if (has_instance_extension("VK_KHR_portability_enumeration")) {
        extensions[extension_count++] = "VK_KHR_portability_enumeration";
        flags |= 0x00000001; // VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR
    }
    const char *layers[] = {VALIDATION_LAYER};
    VkDebugUtilsMessengerCreateInfoEXT messenger = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = record_message,
        .pUserData = instance,
    };
    const VkApplicationInfo application = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "forge",
        .pEngineName = "forge",
        .apiVersion = VK_API_VERSION_1_1,
    };
    const VkInstanceCreateInfo create = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &messenger : NULL,
        .flags = flags,
        .pApplicationInfo = &application,
        .enabledLayerCount = validation ? 1 : 0,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = extension_count,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult result = loader.vkCreateInstance(&create, NULL, &instance->handle);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "vkCreateInstance failed (VkResult %d)", (int)result);
        pthread_mutex_destroy(&instance->messages_lock);
        free(instance);
        return NULL;
    }
#define LOAD_INSTANCE(name) instance->name = (PFN_##name)loader.vkGetInstanceProcAddr(instance->handle, #name);
    INSTANCE_FUNCTIONS(LOAD_INSTANCE)
    LOAD_INSTANCE(vkCreateDebugUtilsMessengerEXT)
    LOAD_INSTANCE(vkDestroyDebugUtilsMessengerEXT)
    if (validation && instance->vkCreateDebugUtilsMessengerEXT) {
        instance->vkCreateDebugUtilsMessengerEXT(instance->handle, &messenger, NULL, &instance->messenger);
    }

    uint32_t count = 0;
    instance->vkEnumeratePhysicalDevices(instance->handle, &count, NULL);
    VkPhysicalDevice *handles = calloc(count ? count : 1, sizeof *handles);
    instance->devices = calloc(count ? count : 1, sizeof *instance->devices);
    if (!handles || !instance->devices) {
        free(handles);
        forge_vk_instance_destroy(instance);
        fail(error, error_size, "out of memory");
        return NULL;
    }
    instance->vkEnumeratePhysicalDevices(instance->handle, &count, handles);
    for (uint32_t i = 0; i < count; ++i) {
        VkPhysicalDeviceProperties properties;
        instance->vkGetPhysicalDeviceProperties(handles[i], &properties);
        if (properties.apiVersion < VK_API_VERSION_1_1) continue; // subgroup queries need 1.1
        physical_device *device = &instance->devices[instance->device_count++];
        device->handle = handles[i];
        describe(instance, device);
    }
    free(handles);
    return instance;
}

void forge_vk_instance_destroy(forge_vk_instance *instance) {
    if (!instance) return;
    if (instance->messenger) instance->vkDestroyDebugUtilsMessengerEXT(instance->handle, instance->messenger, NULL);
    if (instance->handle) instance->vkDestroyInstance(instance->handle, NULL);
    pthread_mutex_destroy(&instance->messages_lock);
    free(instance->messages);
    free(instance->devices);
    free(instance);
}

uint32_t forge_vk_device_count(const forge_vk_instance *instance) { return instance->device_count; }

void forge_vk_device_describe(const forge_vk_instance *instance, uint32_t index, forge_vk_device_info *info) {
    *info = instance->devices[index].info;
}

uint32_t forge_vk_take_messages(forge_vk_instance *instance, char *buffer, size_t buffer_size) {
    pthread_mutex_lock(&instance->messages_lock);
    const uint32_t count = instance->message_count;
    if (buffer && buffer_size) snprintf(buffer, buffer_size, "%s", instance->messages ? instance->messages : "");
    instance->message_count = 0;
    instance->messages_length = 0;
    if (instance->messages) instance->messages[0] = 0;
    pthread_mutex_unlock(&instance->messages_lock);
    return count;
}

// MARK: - Device

struct forge_vk_buffer {
    VkBuffer handle;
    VkDeviceMemory memory;
    uint64_t size;
    void *mapped; // host-visible buffers only
};

struct forge_vk_pipeline {
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline handle;
    uint32_t binding_count;
    uint32_t push_constant_bytes;
};

struct forge_vk_device {
    forge_vk_instance *instance;
    const physical_device *physical;
    VkDevice handle;
    DEVICE_FUNCTIONS(DECLARE)
    VkPhysicalDeviceMemoryProperties memory;
    VkQueue queue;
    VkCommandPool command_pool;
    VkCommandBuffer commands;
    VkFence fence;
    VkDescriptorPool *pools;
    uint32_t pool_count, pool_capacity, current_pool;
    forge_vk_buffer staging;
    forge_vk_buffer readback;
    uint64_t readback_used;
    int recording;
    int needs_barrier;
};

static int find_memory_type(const forge_vk_device *device, uint32_t allowed, VkMemoryPropertyFlags wanted) {
    for (uint32_t t = 0; t < device->memory.memoryTypeCount; ++t) {
        if ((allowed & (1u << t)) && (device->memory.memoryTypes[t].propertyFlags & wanted) == wanted) return (int)t;
    }
    return -1;
}

static int make_buffer(forge_vk_device *device, uint64_t size, VkMemoryPropertyFlags wanted, forge_vk_buffer *buffer,
                       char *error, size_t error_size) {
    memset(buffer, 0, sizeof *buffer);
    const VkBufferCreateInfo create = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult result = device->vkCreateBuffer(device->handle, &create, NULL, &buffer->handle);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "vkCreateBuffer of %llu bytes failed (VkResult %d)", (unsigned long long)size, (int)result);
        return -1;
    }
    VkMemoryRequirements requirements;
    device->vkGetBufferMemoryRequirements(device->handle, buffer->handle, &requirements);
    const int type = find_memory_type(device, requirements.memoryTypeBits, wanted);
    if (type < 0) {
        device->vkDestroyBuffer(device->handle, buffer->handle, NULL);
        fail(error, error_size, "no memory type with properties 0x%x for a buffer", (unsigned)wanted);
        return -1;
    }
    const VkMemoryAllocateInfo allocate = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = requirements.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    result = device->vkAllocateMemory(device->handle, &allocate, NULL, &buffer->memory);
    if (result == VK_SUCCESS) result = device->vkBindBufferMemory(device->handle, buffer->handle, buffer->memory, 0);
    if (result == VK_SUCCESS && (wanted & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        result = device->vkMapMemory(device->handle, buffer->memory, 0, VK_WHOLE_SIZE, 0, &buffer->mapped);
    }
    if (result != VK_SUCCESS) {
        if (buffer->memory) device->vkFreeMemory(device->handle, buffer->memory, NULL);
        device->vkDestroyBuffer(device->handle, buffer->handle, NULL);
        fail(error, error_size, "cannot allocate %llu bytes of device memory (VkResult %d)", (unsigned long long)size, (int)result);
        return -1;
    }
    buffer->size = size;
    return 0;
}

static void release_buffer(forge_vk_device *device, forge_vk_buffer *buffer) {
    if (buffer->handle) device->vkDestroyBuffer(device->handle, buffer->handle, NULL);
    if (buffer->memory) device->vkFreeMemory(device->handle, buffer->memory, NULL); // unmaps too
    memset(buffer, 0, sizeof *buffer);
}

static const VkMemoryPropertyFlags host_memory = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

static int add_pool(forge_vk_device *device, char *error, size_t error_size) {
    if (device->pool_count == device->pool_capacity) {
        const uint32_t capacity = device->pool_capacity ? 2 * device->pool_capacity : 4;
        VkDescriptorPool *grown = realloc(device->pools, capacity * sizeof *grown);
        if (!grown) {
            fail(error, error_size, "out of memory");
            return -1;
        }
        device->pools = grown;
        device->pool_capacity = capacity;
    }
    const VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * MAX_BINDINGS};
    const VkDescriptorPoolCreateInfo create = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 1,
        .pPoolSizes = &size,
    };
    VkResult result = device->vkCreateDescriptorPool(device->handle, &create, NULL, &device->pools[device->pool_count]);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "vkCreateDescriptorPool failed (VkResult %d)", (int)result);
        return -1;
    }
    device->pool_count += 1;
    return 0;
}

forge_vk_device *forge_vk_device_create(forge_vk_instance *instance, uint32_t index, char *error, size_t error_size) {
    if (index >= instance->device_count) {
        fail(error, error_size, "no Vulkan device %u (%u found)", index, instance->device_count);
        return NULL;
    }
    const physical_device *physical = &instance->devices[index];
    if (physical->compute_family == UINT32_MAX) {
        fail(error, error_size, "%s has no compute queue", physical->info.name);
        return NULL;
    }
    forge_vk_device *device = calloc(1, sizeof *device);
    if (!device) {
        fail(error, error_size, "out of memory");
        return NULL;
    }
    device->instance = instance;
    device->physical = physical;
    const float priority = 1;
    const VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = physical->compute_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    const VkDeviceCreateInfo create = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
    };
    VkResult result = instance->vkCreateDevice(physical->handle, &create, NULL, &device->handle);
    if (result != VK_SUCCESS) {
        free(device);
        fail(error, error_size, "vkCreateDevice failed on %s (VkResult %d)", physical->info.name, (int)result);
        return NULL;
    }
#define LOAD_DEVICE(name) device->name = (PFN_##name)instance->vkGetDeviceProcAddr(device->handle, #name);
    DEVICE_FUNCTIONS(LOAD_DEVICE)
    instance->vkGetPhysicalDeviceMemoryProperties(physical->handle, &device->memory);
    device->vkGetDeviceQueue(device->handle, physical->compute_family, 0, &device->queue);

    const VkCommandPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = physical->compute_family,
    };
    const VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    result = device->vkCreateCommandPool(device->handle, &pool, NULL, &device->command_pool);
    if (result == VK_SUCCESS) {
        const VkCommandBufferAllocateInfo allocate = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = device->command_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        result = device->vkAllocateCommandBuffers(device->handle, &allocate, &device->commands);
    }
    if (result == VK_SUCCESS) result = device->vkCreateFence(device->handle, &fence, NULL, &device->fence);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "cannot create the command buffer and fence (VkResult %d)", (int)result);
        forge_vk_device_destroy(device);
        return NULL;
    }
    uint64_t staging = STAGING_BYTES;
    if (physical->info.max_allocation_bytes && staging > physical->info.max_allocation_bytes) staging = physical->info.max_allocation_bytes;
    if (add_pool(device, error, error_size) != 0 || make_buffer(device, staging, host_memory, &device->staging, error, error_size) != 0) {
        forge_vk_device_destroy(device);
        return NULL;
    }
    return device;
}

void forge_vk_device_destroy(forge_vk_device *device) {
    if (!device) return;
    release_buffer(device, &device->staging);
    release_buffer(device, &device->readback);
    for (uint32_t i = 0; i < device->pool_count; ++i) device->vkDestroyDescriptorPool(device->handle, device->pools[i], NULL);
    free(device->pools);
    if (device->fence) device->vkDestroyFence(device->handle, device->fence, NULL);
    if (device->command_pool) device->vkDestroyCommandPool(device->handle, device->command_pool, NULL);
    device->vkDestroyDevice(device->handle, NULL);
    free(device);
}

forge_vk_buffer *forge_vk_buffer_create(forge_vk_device *device, uint64_t size, char *error, size_t error_size) {
    forge_vk_buffer *buffer = malloc(sizeof *buffer);
    if (!buffer) {
        fail(error, error_size, "out of memory");
        return NULL;
    }
    if (size == 0 || make_buffer(device, size, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, buffer, error, error_size) != 0) {
        if (size == 0) fail(error, error_size, "a buffer needs at least one byte");
        free(buffer);
        return NULL;
    }
    return buffer;
}

void forge_vk_buffer_destroy(forge_vk_device *device, forge_vk_buffer *buffer) {
    if (!buffer) return;
    release_buffer(device, buffer);
    free(buffer);
}

// MARK: - Recording

// Every command sees the writes of all before it: one global barrier between commands. Simple
// and always right; finer barriers wait for a real GPU to measure them on.
static void barrier(forge_vk_device *device) {
    if (!device->needs_barrier) return;
    const VkMemoryBarrier memory = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    device->vkCmdPipelineBarrier(device->commands, stages, stages, 0, 1, &memory, 0, NULL, 0, NULL);
}

int forge_vk_begin(forge_vk_device *device, char *error, size_t error_size) {
    if (device->recording) {
        fail(error, error_size, "a recording is already open");
        return -1;
    }
    for (uint32_t i = 0; i < device->pool_count; ++i) device->vkResetDescriptorPool(device->handle, device->pools[i], 0);
    device->current_pool = 0;
    device->readback_used = 0;
    device->needs_barrier = 0;
    device->vkResetCommandBuffer(device->commands, 0);
    const VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    VkResult result = device->vkBeginCommandBuffer(device->commands, &begin);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "vkBeginCommandBuffer failed (VkResult %d)", (int)result);
        return -1;
    }
    device->recording = 1;
    return 0;
}

static int check_range(const forge_vk_buffer *buffer, uint64_t offset, uint64_t size, char *error, size_t error_size) {
    if (offset > buffer->size || size > buffer->size - offset) {
        fail(error, error_size, "range %llu+%llu outside a buffer of %llu bytes", (unsigned long long)offset,
             (unsigned long long)size, (unsigned long long)buffer->size);
        return -1;
    }
    return 0;
}

int forge_vk_record_write(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, const void *data,
                          uint64_t size, char *error, size_t error_size) {
    if (!device->recording || check_range(buffer, offset, size, error, error_size) != 0) {
        if (!device->recording) fail(error, error_size, "no recording is open");
        return -1;
    }
    if (size % 4 || offset % 4) {
        fail(error, error_size, "writes are whole 4-byte words (offset %llu, size %llu)", (unsigned long long)offset,
             (unsigned long long)size);
        return -1;
    }
    barrier(device);
    for (uint64_t done = 0; done < size; done += WRITE_CHUNK) {
        const uint64_t chunk = size - done < WRITE_CHUNK ? size - done : WRITE_CHUNK;
        device->vkCmdUpdateBuffer(device->commands, buffer->handle, offset + done, chunk, (const char *)data + done);
    }
    device->needs_barrier = 1;
    return 0;
}

static VkResult allocate_set(forge_vk_device *device, const forge_vk_pipeline *pipeline, VkDescriptorSet *set, char *error,
                             size_t error_size) {
    for (;;) {
        const VkDescriptorSetAllocateInfo allocate = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = device->pools[device->current_pool],
            .descriptorSetCount = 1,
            .pSetLayouts = &pipeline->set_layout,
        };
        VkResult result = device->vkAllocateDescriptorSets(device->handle, &allocate, set);
        if (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL) return result;
        device->current_pool += 1;
        if (device->current_pool == device->pool_count && add_pool(device, error, error_size) != 0) return result;
    }
}

int forge_vk_record_dispatch(forge_vk_device *device, forge_vk_pipeline *pipeline, const forge_vk_binding *bindings,
                             uint32_t binding_count, const void *push_constants, uint32_t push_constant_bytes,
                             uint32_t groups_x, uint32_t groups_y, uint32_t groups_z, char *error, size_t error_size) {
    const forge_vk_device_info *info = &device->physical->info;
    if (!device->recording) {
        fail(error, error_size, "no recording is open");
        return -1;
    }
    if (binding_count != pipeline->binding_count || push_constant_bytes != pipeline->push_constant_bytes) {
        fail(error, error_size, "dispatch with %u bindings and %u push-constant bytes for a pipeline of %u and %u", binding_count,
             push_constant_bytes, pipeline->binding_count, pipeline->push_constant_bytes);
        return -1;
    }
    if (groups_x > info->max_workgroup_count[0] || groups_y > info->max_workgroup_count[1] || groups_z > info->max_workgroup_count[2]) {
        fail(error, error_size, "%u × %u × %u workgroups exceed the device's %u × %u × %u", groups_x, groups_y, groups_z,
             info->max_workgroup_count[0], info->max_workgroup_count[1], info->max_workgroup_count[2]);
        return -1;
    }
    VkDescriptorBufferInfo buffers[MAX_BINDINGS];
    VkWriteDescriptorSet writes[MAX_BINDINGS];
    VkDescriptorSet set;
    VkResult result = allocate_set(device, pipeline, &set, error, error_size);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "vkAllocateDescriptorSets failed (VkResult %d)", (int)result);
        return -1;
    }
    for (uint32_t b = 0; b < binding_count; ++b) {
        if (check_range(bindings[b].buffer, bindings[b].offset, bindings[b].range, error, error_size) != 0) return -1;
        if (bindings[b].range > info->max_storage_buffer_range) {
            fail(error, error_size, "binding %u of %llu bytes exceeds maxStorageBufferRange %llu", b,
                 (unsigned long long)bindings[b].range, (unsigned long long)info->max_storage_buffer_range);
            return -1;
        }
        buffers[b] = (VkDescriptorBufferInfo){bindings[b].buffer->handle, bindings[b].offset, bindings[b].range};
        writes[b] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = set,
            .dstBinding = b,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &buffers[b],
        };
    }
    device->vkUpdateDescriptorSets(device->handle, binding_count, writes, 0, NULL);
    barrier(device);
    device->vkCmdBindPipeline(device->commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->handle);
    device->vkCmdBindDescriptorSets(device->commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline->layout, 0, 1, &set, 0, NULL);
    if (push_constant_bytes) {
        device->vkCmdPushConstants(device->commands, pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes,
                                   push_constants);
    }
    device->vkCmdDispatch(device->commands, groups_x, groups_y, groups_z);
    device->needs_barrier = 1;
    return 0;
}

int forge_vk_record_readback(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, uint64_t size,
                             char *error, size_t error_size) {
    if (!device->recording || check_range(buffer, offset, size, error, error_size) != 0) {
        if (!device->recording) fail(error, error_size, "no recording is open");
        return -1;
    }
    if (device->readback.size < device->readback_used + size) {
        // The area may only be replaced while no copy into it is recorded.
        if (device->readback_used) {
            fail(error, error_size, "read-backs of one recording must fit %llu bytes", (unsigned long long)device->readback.size);
            return -1;
        }
        release_buffer(device, &device->readback);
        if (make_buffer(device, size, host_memory, &device->readback, error, error_size) != 0) return -1;
    }
    barrier(device);
    const VkBufferCopy copy = {offset, device->readback_used, size};
    device->vkCmdCopyBuffer(device->commands, buffer->handle, device->readback.handle, 1, &copy);
    device->readback_used += size;
    device->needs_barrier = 1;
    return 0;
}

static int finish(forge_vk_device *device, char *error, size_t error_size) {
    // The host reads what transfers wrote once the fence has signalled.
    const VkMemoryBarrier to_host = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
    };
    device->vkCmdPipelineBarrier(device->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);
    device->recording = 0;
    VkResult result = device->vkEndCommandBuffer(device->commands);
    const VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &device->commands,
    };
    if (result == VK_SUCCESS) result = device->vkResetFences(device->handle, 1, &device->fence);
    if (result == VK_SUCCESS) result = device->vkQueueSubmit(device->queue, 1, &submit, device->fence);
    if (result == VK_SUCCESS) result = device->vkWaitForFences(device->handle, 1, &device->fence, VK_TRUE, UINT64_MAX);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "submitting to %s failed (VkResult %d)", device->physical->info.name, (int)result);
        return -1;
    }
    return 0;
}

int forge_vk_submit(forge_vk_device *device, char *error, size_t error_size) {
    if (!device->recording) {
        fail(error, error_size, "no recording is open");
        return -1;
    }
    return finish(device, error, error_size);
}

void forge_vk_abandon(forge_vk_device *device) {
    if (!device->recording) return;
    device->vkEndCommandBuffer(device->commands);
    device->vkResetCommandBuffer(device->commands, 0);
    device->recording = 0;
}

const void *forge_vk_readback(const forge_vk_device *device) { return device->readback.mapped; }

// One staged copy per staging-buffer load: host → staging → buffer, or the reverse.
static int staged_copy(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, void *host, uint64_t size,
                       int upload, char *error, size_t error_size) {
    if (check_range(buffer, offset, size, error, error_size) != 0) return -1;
    for (uint64_t done = 0; done < size; done += device->staging.size) {
        const uint64_t chunk = size - done < device->staging.size ? size - done : device->staging.size;
        if (upload) memcpy(device->staging.mapped, (const char *)host + done, chunk);
        if (forge_vk_begin(device, error, error_size) != 0) return -1;
        const VkBufferCopy copy = {upload ? 0 : offset + done, upload ? offset + done : 0, chunk};
        device->vkCmdCopyBuffer(device->commands, upload ? device->staging.handle : buffer->handle,
                                upload ? buffer->handle : device->staging.handle, 1, &copy);
        if (finish(device, error, error_size) != 0) return -1;
        if (!upload) memcpy((char *)host + done, device->staging.mapped, chunk);
    }
    return 0;
}

int forge_vk_upload(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, const void *data, uint64_t size,
                    char *error, size_t error_size) {
    return staged_copy(device, buffer, offset, (void *)data, size, 1, error, error_size);
}

int forge_vk_download(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, void *data, uint64_t size,
                      char *error, size_t error_size) {
    return staged_copy(device, buffer, offset, data, size, 0, error, error_size);
}

// MARK: - Pipelines

forge_vk_pipeline *forge_vk_pipeline_create(forge_vk_device *device, const uint32_t *code, size_t code_bytes,
                                            uint32_t binding_count, uint32_t push_constant_bytes, uint32_t workgroup_size,
                                            char *error, size_t error_size) {
    const forge_vk_device_info *info = &device->physical->info;
    if (binding_count > MAX_BINDINGS) {
        fail(error, error_size, "%u bindings (at most %u)", binding_count, MAX_BINDINGS);
        return NULL;
    }
    if (push_constant_bytes > info->max_push_constant_bytes) {
        fail(error, error_size, "%u push-constant bytes exceed the device's %u", push_constant_bytes, info->max_push_constant_bytes);
        return NULL;
    }
    forge_vk_pipeline *pipeline = calloc(1, sizeof *pipeline);
    if (!pipeline) {
        fail(error, error_size, "out of memory");
        return NULL;
    }
    pipeline->binding_count = binding_count;
    pipeline->push_constant_bytes = push_constant_bytes;
    VkDescriptorSetLayoutBinding bindings[MAX_BINDINGS];
    for (uint32_t b = 0; b < binding_count; ++b) {
        bindings[b] = (VkDescriptorSetLayoutBinding){b, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL};
    }
    const VkDescriptorSetLayoutCreateInfo set_layout = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = binding_count,
        .pBindings = bindings,
    };
    const VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
    VkShaderModule module = VK_NULL_HANDLE;
    const VkShaderModuleCreateInfo module_create = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = code_bytes,
        .pCode = code,
    };
    VkResult result = device->vkCreateDescriptorSetLayout(device->handle, &set_layout, NULL, &pipeline->set_layout);
    if (result == VK_SUCCESS) {
        const VkPipelineLayoutCreateInfo layout = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1,
            .pSetLayouts = &pipeline->set_layout,
            .pushConstantRangeCount = push_constant_bytes ? 1 : 0,
            .pPushConstantRanges = &push,
        };
        result = device->vkCreatePipelineLayout(device->handle, &layout, NULL, &pipeline->layout);
    }
    if (result == VK_SUCCESS) result = device->vkCreateShaderModule(device->handle, &module_create, NULL, &module);
    if (result == VK_SUCCESS) {
        const VkSpecializationMapEntry entry = {0, 0, sizeof(uint32_t)};
        const VkSpecializationInfo specialization = {1, &entry, sizeof workgroup_size, &workgroup_size};
        const VkComputePipelineCreateInfo create = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = &specialization,
            },
            .layout = pipeline->layout,
        };
        result = device->vkCreateComputePipelines(device->handle, VK_NULL_HANDLE, 1, &create, NULL, &pipeline->handle);
    }
    if (module) device->vkDestroyShaderModule(device->handle, module, NULL);
    if (result != VK_SUCCESS) {
        fail(error, error_size, "cannot create a compute pipeline (VkResult %d)", (int)result);
        forge_vk_pipeline_destroy(device, pipeline);
        return NULL;
    }
    return pipeline;
}

void forge_vk_pipeline_destroy(forge_vk_device *device, forge_vk_pipeline *pipeline) {
    if (!pipeline) return;
    if (pipeline->handle) device->vkDestroyPipeline(device->handle, pipeline->handle, NULL);
    if (pipeline->layout) device->vkDestroyPipelineLayout(device->handle, pipeline->layout, NULL);
    if (pipeline->set_layout) device->vkDestroyDescriptorSetLayout(device->handle, pipeline->set_layout, NULL);
    free(pipeline);
}

#else // No Vulkan headers at build time: every entry point explains what to install.

#define UNAVAILABLE "Vulkan not available: this build has no Vulkan headers; install libvulkan-dev and mesa-vulkan-drivers (or a GPU driver) and rebuild"

int forge_vk_compiled(void) { return 0; }
int forge_vk_validation_available(void) { return 0; }
forge_vk_instance *forge_vk_instance_create(int validation, char *error, size_t error_size) {
    (void)validation;
    fail(error, error_size, UNAVAILABLE);
    return NULL;
}
void forge_vk_instance_destroy(forge_vk_instance *instance) { (void)instance; }
uint32_t forge_vk_device_count(const forge_vk_instance *instance) { (void)instance; return 0; }
void forge_vk_device_describe(const forge_vk_instance *instance, uint32_t index, forge_vk_device_info *info) {
    (void)instance, (void)index;
    memset(info, 0, sizeof *info);
}
uint32_t forge_vk_take_messages(forge_vk_instance *instance, char *buffer, size_t buffer_size) {
    (void)instance;
    if (buffer && buffer_size) buffer[0] = 0;
    return 0;
}
forge_vk_device *forge_vk_device_create(forge_vk_instance *instance, uint32_t index, char *error, size_t error_size) {
    (void)instance, (void)index;
    fail(error, error_size, UNAVAILABLE);
    return NULL;
}
void forge_vk_device_destroy(forge_vk_device *device) { (void)device; }
forge_vk_buffer *forge_vk_buffer_create(forge_vk_device *device, uint64_t size, char *error, size_t error_size) {
    (void)device, (void)size;
    fail(error, error_size, UNAVAILABLE);
    return NULL;
}
void forge_vk_buffer_destroy(forge_vk_device *device, forge_vk_buffer *buffer) { (void)device, (void)buffer; }
int forge_vk_upload(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, const void *data, uint64_t size,
                    char *error, size_t error_size) {
    (void)device, (void)buffer, (void)offset, (void)data, (void)size;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
int forge_vk_download(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, void *data, uint64_t size,
                      char *error, size_t error_size) {
    (void)device, (void)buffer, (void)offset, (void)data, (void)size;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
forge_vk_pipeline *forge_vk_pipeline_create(forge_vk_device *device, const uint32_t *code, size_t code_bytes,
                                            uint32_t binding_count, uint32_t push_constant_bytes, uint32_t workgroup_size,
                                            char *error, size_t error_size) {
    (void)device, (void)code, (void)code_bytes, (void)binding_count, (void)push_constant_bytes, (void)workgroup_size;
    fail(error, error_size, UNAVAILABLE);
    return NULL;
}
void forge_vk_pipeline_destroy(forge_vk_device *device, forge_vk_pipeline *pipeline) { (void)device, (void)pipeline; }
int forge_vk_begin(forge_vk_device *device, char *error, size_t error_size) {
    (void)device;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
int forge_vk_record_write(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, const void *data,
                          uint64_t size, char *error, size_t error_size) {
    (void)device, (void)buffer, (void)offset, (void)data, (void)size;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
int forge_vk_record_dispatch(forge_vk_device *device, forge_vk_pipeline *pipeline, const forge_vk_binding *bindings,
                             uint32_t binding_count, const void *push_constants, uint32_t push_constant_bytes,
                             uint32_t groups_x, uint32_t groups_y, uint32_t groups_z, char *error, size_t error_size) {
    (void)device, (void)pipeline, (void)bindings, (void)binding_count, (void)push_constants, (void)push_constant_bytes;
    (void)groups_x, (void)groups_y, (void)groups_z;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
int forge_vk_record_readback(forge_vk_device *device, forge_vk_buffer *buffer, uint64_t offset, uint64_t size,
                             char *error, size_t error_size) {
    (void)device, (void)buffer, (void)offset, (void)size;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
int forge_vk_submit(forge_vk_device *device, char *error, size_t error_size) {
    (void)device;
    fail(error, error_size, UNAVAILABLE);
    return -1;
}
void forge_vk_abandon(forge_vk_device *device) { (void)device; }
const void *forge_vk_readback(const forge_vk_device *device) { (void)device; return NULL; }

#endif
