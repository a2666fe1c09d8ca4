import CForgeVulkan
import Foundation

/// A failure of the Vulkan backend, in words (the C layer's message).
public struct VulkanError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Calls a C entry point that reports failure through an error buffer.
func checked<T>(_ call: (UnsafeMutablePointer<CChar>, Int) -> T?) throws -> T {
    var message = [CChar](repeating: 0, count: 512)
    if let result = message.withUnsafeMutableBufferPointer({ call($0.baseAddress!, $0.count) }) { return result }
    throw VulkanError(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
}

func checked(_ call: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    try checked { error, size in call(error, size) == 0 ? () : nil }
}

/// What a physical device is and the limits the backend works within.
public struct VulkanDeviceInfo: Sendable {
    public enum Kind: String, Sendable { case discrete = "discrete GPU", integrated = "integrated GPU", virtual = "virtual GPU", cpu = "CPU", other }

    public let index: Int
    public let name: String
    public let kind: Kind
    public let apiVersion: String
    public let deviceLocalBytes: Int
    public let unifiedMemory: Bool
    public let subgroupSize: Int
    public let subgroupArithmetic: Bool
    public let maxStorageBufferRange: Int
    public let maxWorkgroupCount: (x: Int, y: Int, z: Int)
    public let maxWorkgroupInvocations: Int
    public let maxSharedMemoryBytes: Int
    public let maxPushConstantBytes: Int
    /// Binding offsets must be multiples of this.
    public let minStorageBufferOffsetAlignment: Int
    /// Optional features, by Vulkan's names, that the device has (the backend needs none of them yet).
    public let features: [String]

    init(index: Int, _ info: forge_vk_device_info) {
        self.index = index
        name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        kind = switch Int(info.type) {
        case Int(FORGE_VK_DISCRETE): .discrete
        case Int(FORGE_VK_INTEGRATED): .integrated
        case Int(FORGE_VK_VIRTUAL): .virtual
        case Int(FORGE_VK_CPU): .cpu
        default: .other
        }
        apiVersion = "\(info.api_version >> 22).\((info.api_version >> 12) & 0x3ff).\(info.api_version & 0xfff)"
        deviceLocalBytes = Int(info.device_local_bytes)
        unifiedMemory = info.unified_memory != 0
        subgroupSize = Int(info.subgroup_size)
        subgroupArithmetic = info.subgroup_arithmetic != 0
        maxStorageBufferRange = Int(info.max_storage_buffer_range)
        maxWorkgroupCount = (Int(info.max_workgroup_count.0), Int(info.max_workgroup_count.1), Int(info.max_workgroup_count.2))
        maxWorkgroupInvocations = Int(info.max_workgroup_invocations)
        maxSharedMemoryBytes = Int(info.max_shared_memory_bytes)
        maxPushConstantBytes = Int(info.max_push_constant_bytes)
        minStorageBufferOffsetAlignment = Int(info.min_storage_buffer_offset_alignment)
        features = [
            (info.subgroup_arithmetic, "subgroupArithmetic"), (info.storage_buffer_16bit, "storageBuffer16BitAccess"),
            (info.storage_buffer_8bit, "storageBuffer8BitAccess"), (info.shader_float16, "shaderFloat16"),
            (info.shader_int8, "shaderInt8"),
        ].filter { $0.0 != 0 }.map(\.1)
    }

    /// Why the backend cannot run on this device, or nil when it can.
    public var unsuitability: String? {
        subgroupArithmetic ? nil : "\(name) has no subgroup arithmetic in compute shaders"
    }
}

/// Vulkan as a whole: whether this build and machine have it, and the devices it lists.
public enum Vulkan {
    /// Whether this build was compiled with the Vulkan headers.
    public static var isCompiled: Bool { forge_vk_compiled() != 0 }

    /// Whether the Khronos validation layer is installed.
    public static var validationLayerAvailable: Bool { forge_vk_validation_available() != 0 }

    /// `FORGE_VULKAN_VALIDATION=1` asks for the validation layer on every device Forge opens.
    public static var validationRequested: Bool { ProcessInfo.processInfo.environment["FORGE_VULKAN_VALIDATION"] == "1" }

    /// Every device that supports Vulkan 1.1, or an error saying why Vulkan is unavailable.
    public static func devices() throws -> [VulkanDeviceInfo] {
        let instance = try checked { forge_vk_instance_create(0, $0, $1) }
        defer { forge_vk_instance_destroy(instance) }
        return (0..<forge_vk_device_count(instance)).map { index in
            var info = forge_vk_device_info()
            forge_vk_device_describe(instance, index, &info)
            return VulkanDeviceInfo(index: Int(index), info)
        }
    }

    /// The device `--device auto` takes: the first discrete GPU, else the first integrated one,
    /// else none (a CPU device such as lavapipe is never faster than Forge's own CPU kernels).
    public static func preferredDevice(among devices: [VulkanDeviceInfo]) -> VulkanDeviceInfo? {
        let usable = devices.filter { $0.unsuitability == nil }
        return usable.first { $0.kind == .discrete } ?? usable.first { $0.kind == .integrated }
    }
}

/// One Vulkan device opened for compute: its buffers, its pipelines (made on first use) and one
/// queue to which recorded work is submitted. Calls from several threads take turns.
public final class VulkanDevice: @unchecked Sendable {
    public let info: VulkanDeviceInfo
    /// The largest range one binding may cover: the device's maxStorageBufferRange, or less when
    /// a test forces matrices to be split.
    public let bindingLimit: Int
    /// Invocations per workgroup of the reductions: at least one whole subgroup, and at least 32
    /// (the attention shader's head-size bound).
    let reductionWidth: Int
    /// Invocations per workgroup of the element-by-element shaders.
    let elementwiseWidth: Int
    private let instance: OpaquePointer
    let handle: OpaquePointer
    private let lock = NSLock()
    private var pipelines: [String: OpaquePointer] = [:]

    /// Opens device `index` of `Vulkan.devices()`, with the validation layer when `validation`.
    public init(index: Int, validation: Bool = Vulkan.validationRequested, bindingLimit: Int? = nil) throws {
        let instance = try checked { forge_vk_instance_create(validation ? 1 : 0, $0, $1) }
        guard index >= 0, index < Int(forge_vk_device_count(instance)) else {
            let count = forge_vk_device_count(instance)
            forge_vk_instance_destroy(instance)
            throw VulkanError("no Vulkan device \(index) (\(count) found)")
        }
        var description = forge_vk_device_info()
        forge_vk_device_describe(instance, UInt32(index), &description)
        let info = VulkanDeviceInfo(index: index, description)
        if let reason = info.unsuitability {
            forge_vk_instance_destroy(instance)
            throw VulkanError(reason)
        }
        do {
            handle = try checked { forge_vk_device_create(instance, UInt32(index), $0, $1) }
        } catch {
            forge_vk_instance_destroy(instance)
            throw error
        }
        self.instance = instance
        self.info = info
        self.bindingLimit = min(bindingLimit ?? info.maxStorageBufferRange, info.maxStorageBufferRange)
        reductionWidth = min(256, max(32, info.subgroupSize), info.maxWorkgroupInvocations)
        elementwiseWidth = min(256, info.maxWorkgroupInvocations)
    }

    deinit {
        for pipeline in pipelines.values { forge_vk_pipeline_destroy(handle, pipeline) }
        forge_vk_device_destroy(handle)
        forge_vk_instance_destroy(instance)
    }

    /// The validation layer's warnings and errors since the last call (none without validation).
    public func takeValidationMessages() -> [String] {
        var text = [CChar](repeating: 0, count: 65536)
        let count = forge_vk_take_messages(instance, &text, text.count)
        guard count > 0 else { return [] }
        let lines = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: "\n").map(String.init)
        return lines.isEmpty ? ["\(count) validation messages"] : lines
    }

    /// A device-local buffer of `byteCount` bytes.
    public func makeBuffer(byteCount: Int) throws -> DeviceBuffer {
        let buffer = try checked { forge_vk_buffer_create(handle, UInt64(byteCount), $0, $1) }
        return DeviceBuffer(device: self, handle: buffer, byteCount: byteCount)
    }

    /// Copies `bytes` into `buffer` at `offset` through the staging buffer, and waits.
    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: DeviceBuffer, offset: Int = 0) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        try locked { try checked { forge_vk_upload(handle, buffer.handle, UInt64(offset), base, UInt64(bytes.count), $0, $1) } }
    }

    /// The floats of `buffer` from `offset`, copied back through the staging buffer.
    public func download(_ buffer: DeviceBuffer, offset: Int = 0, count: Int) throws -> [Float] {
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { raw in
            try locked { try checked { forge_vk_download(handle, buffer.handle, UInt64(offset), raw.baseAddress!, UInt64(raw.count), $0, $1) } }
        }
        return values
    }

    /// Records the work `body` describes, submits it and waits; returns what it read back.
    public func run<Result>(_ body: (CommandRecorder) throws -> Void, readBack: (UnsafeRawPointer?) -> Result) throws -> Result {
        try locked {
            try checked { forge_vk_begin(handle, $0, $1) }
            do {
                try body(CommandRecorder(device: self))
            } catch {
                forge_vk_abandon(handle)
                throw error
            }
            try checked { forge_vk_submit(handle, $0, $1) }
            return readBack(forge_vk_readback(handle))
        }
    }

    /// Records the work `body` describes, submits it and waits.
    public func run(_ body: (CommandRecorder) throws -> Void) throws {
        try run(body, readBack: { _ in () })
    }

    private func locked<Result>(_ body: () throws -> Result) throws -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The pipeline of shader `name` (made once; callers hold the lock while recording).
    func pipeline(_ name: String, bindings: Int, pushConstantBytes: Int, workgroupSize: Int) throws -> OpaquePointer {
        let key = "\(name)/\(workgroupSize)"
        if let pipeline = pipelines[key] { return pipeline }
        guard let shader = forge_vk_find_shader(name) else { throw VulkanError("no compiled shader named \(name)") }
        let pipeline = try checked {
            forge_vk_pipeline_create(handle, shader.pointee.code, shader.pointee.bytes, UInt32(bindings), UInt32(pushConstantBytes), UInt32(workgroupSize), $0, $1)
        }
        pipelines[key] = pipeline
        return pipeline
    }
}

/// A device-local buffer; freed with its last reference.
public final class DeviceBuffer: @unchecked Sendable {
    public let device: VulkanDevice
    let handle: OpaquePointer
    public let byteCount: Int

    init(device: VulkanDevice, handle: OpaquePointer, byteCount: Int) {
        self.device = device
        self.handle = handle
        self.byteCount = byteCount
    }

    deinit { forge_vk_buffer_destroy(device.handle, handle) }

    /// The bytes from `offset` to the end, as one binding.
    public func range(from offset: Int = 0) -> BufferRange { BufferRange(buffer: self, offset: offset, byteCount: byteCount - offset) }
}

/// Part of a buffer bound to one shader binding.
public struct BufferRange {
    public let buffer: DeviceBuffer
    public let offset: Int
    public let byteCount: Int

    public init(buffer: DeviceBuffer, offset: Int, byteCount: Int) {
        self.buffer = buffer
        self.offset = offset
        self.byteCount = byteCount
    }
}

/// Records work for one submission: writes of host data, dispatches in order (each sees the
/// results of those before it) and read-backs. Only valid inside `VulkanDevice.run`.
public struct CommandRecorder {
    public let device: VulkanDevice

    /// Copies host bytes (a whole number of 4-byte words) into `buffer` when the work runs.
    public func write(_ bytes: UnsafeRawBufferPointer, to buffer: DeviceBuffer, offset: Int = 0) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        try checked { forge_vk_record_write(device.handle, buffer.handle, UInt64(offset), base, UInt64(bytes.count), $0, $1) }
    }

    /// Copies `range` into the read-back area, after the recorded work before it.
    public func readBack(_ range: BufferRange) throws {
        try checked { forge_vk_record_readback(device.handle, range.buffer.handle, UInt64(range.offset), UInt64(range.byteCount), $0, $1) }
    }

    /// Runs shader `name` over `workgroups` workgroups (folded into a 2-D grid past the device's
    /// maxComputeWorkGroupCount[0]) and `slices` in z.
    func dispatch(_ name: String, _ bindings: [BufferRange], constants: [UInt32], workgroups: Int, slices: Int = 1,
                  workgroupSize: Int) throws {
        guard workgroups > 0, slices > 0 else { return }
        let pipeline = try device.pipeline(name, bindings: bindings.count, pushConstantBytes: 4 * constants.count,
                                           workgroupSize: workgroupSize)
        let width = min(workgroups, device.info.maxWorkgroupCount.x)
        let height = (workgroups + width - 1) / width
        guard height <= device.info.maxWorkgroupCount.y, slices <= device.info.maxWorkgroupCount.z else {
            throw VulkanError("\(workgroups) × \(slices) workgroups exceed what \(device.info.name) dispatches")
        }
        let slots = bindings.map { forge_vk_binding(buffer: $0.buffer.handle, offset: UInt64($0.offset), range: UInt64($0.byteCount)) }
        try slots.withUnsafeBufferPointer { slots in
            try constants.withUnsafeBytes { push in
                try checked {
                    forge_vk_record_dispatch(device.handle, pipeline, slots.baseAddress, UInt32(slots.count), push.baseAddress,
                                             UInt32(push.count), UInt32(width), UInt32(height), UInt32(slices), $0, $1)
                }
            }
        }
    }
}
