import ForgeGGUF
import ForgeKernels
import ForgeTestSupport
import ForgeVulkan
import Testing

/// The device the GPU tests run on: the first usable Vulkan device (lavapipe on a machine
/// without a GPU), with the Khronos validation layer whenever it is installed, so that any
/// message it reports fails the test that checks next.
enum TestDevice {
    static let devices = (try? Vulkan.devices()) ?? []
    static let firstUsable = devices.first { $0.unsuitability == nil }
    static let available = firstUsable != nil

    static let shared: VulkanDevice = open(bindingLimit: nil)
    /// The same device with bindings limited to 4 KiB, so that small matrices split as the
    /// largest real ones do under a 128 MiB maxStorageBufferRange.
    static let smallBindings: VulkanDevice = open(bindingLimit: 4096)

    private static func open(bindingLimit: Int?) -> VulkanDevice {
        do {
            return try VulkanDevice(index: firstUsable!.index, validation: Vulkan.validationLayerAvailable, bindingLimit: bindingLimit)
        } catch {
            fatalError("cannot open \(firstUsable!.name): \(error)")
        }
    }

    /// Fails the current test on any validation message of `device` since the last check.
    static func expectNoValidationMessages(_ device: VulkanDevice = shared, sourceLocation: SourceLocation = #_sourceLocation) {
        let messages = device.takeValidationMessages()
        #expect(messages.isEmpty, "validation layer: \(messages.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }
}

/// Quantized test inputs from the shared seeded generator, so every run sees the same values.
extension SplitMix64 {
    /// Random blocks of `type` for `count` values, their f16 scales small and finite so every value decodes.
    mutating func blocks(_ type: GGMLType, count: Int) -> [UInt8] {
        if type == .f32 { return normals(count).withUnsafeBytes { Array($0) } }
        if type == .f16 { return normals(count).map { Float16($0) }.withUnsafeBytes { Array($0) } }
        let blockCount = count / type.blockSize
        var bytes = (0..<blockCount * type.bytesPerBlock).map { _ in UInt8.random(in: 0...255, using: &self) }
        let scaleOffsets: [Int] = switch type {
        case .q4_0, .q5_0, .q8_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        default: []
        }
        for block in 0..<blockCount {
            for offset in scaleOffsets {
                let bits = Float16(Float.random(in: -1...1, using: &self) * 0.05).bitPattern
                bytes[block * type.bytesPerBlock + offset] = UInt8(bits & 0xff)
                bytes[block * type.bytesPerBlock + offset + 1] = UInt8(bits >> 8)
            }
        }
        return bytes
    }
}

/// Normalized mean squared error Σ(a − b)² / Σb², b the reference (llama.cpp's test-backend-ops measure).
func normalizedError(_ values: [Float], reference: [Float]) -> Double {
    precondition(values.count == reference.count)
    var error = 0.0, norm = 0.0
    for (a, b) in zip(values, reference) {
        error += Double(a - b) * Double(a - b)
        norm += Double(b) * Double(b)
    }
    return norm == 0 ? error : error / norm
}

extension VulkanDevice {
    /// A buffer holding `values`.
    func buffer(_ values: [Float]) throws -> DeviceBuffer {
        let buffer = try makeBuffer(byteCount: max(4, values.count * 4))
        try values.withUnsafeBytes { try upload($0, to: buffer) }
        return buffer
    }

    func buffer(_ values: [UInt32]) throws -> DeviceBuffer {
        let buffer = try makeBuffer(byteCount: max(4, values.count * 4))
        try values.withUnsafeBytes { try upload($0, to: buffer) }
        return buffer
    }
}
