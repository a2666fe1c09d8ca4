import ForgeVulkan
import Testing

@Suite struct DeviceTests {
    @Test func buildsAndListsWithoutFailing() throws {
        // With or without Vulkan, listing devices either works or says why not.
        do {
            let devices = try Vulkan.devices()
            for device in devices { #expect(device.maxStorageBufferRange > 0 && device.subgroupSize > 0, "\(device.name)") }
        } catch let error as VulkanError {
            #expect(error.description.contains("Vulkan not available"), "\(error)")
        }
    }

    @Test(.enabled(if: Vulkan.validationRequested, "FORGE_VULKAN_VALIDATION is not 1"))
    func validationLayerPresentWhenRequested() {
        #expect(Vulkan.validationLayerAvailable, "FORGE_VULKAN_VALIDATION=1 but the Khronos validation layer is not installed")
    }

    @Test(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
    func uploadsAndDownloadsMoreThanTheStagingBuffer() throws {
        let device = TestDevice.shared
        let count = (17 << 20) / 4 + 5 // the staging buffer holds 16 MiB
        let values = (0..<count).map { Float($0 % 10_007) - 5000 }
        let buffer = try device.buffer(values)
        #expect(try device.download(buffer, count: count) == values)
        #expect(try device.download(buffer, offset: 4 * (count - 3), count: 3) == Array(values.suffix(3)))
        TestDevice.expectNoValidationMessages()
    }

    @Test(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
    func recordedWritesAndReadBack() throws {
        let device = TestDevice.shared
        let values = (0..<70_000).map { Float($0) } // more than one 64 KiB write command
        let buffer = try device.makeBuffer(byteCount: values.count * 4)
        let read = try device.run({ recorder in
            try values.withUnsafeBytes { try recorder.write($0, to: buffer) }
            try recorder.readBack(buffer.range())
        }, readBack: { Array(UnsafeBufferPointer(start: $0!.assumingMemoryBound(to: Float.self), count: values.count)) })
        #expect(read == values)
        TestDevice.expectNoValidationMessages()
    }

    @Test(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
    func dispatchesPastTheWorkgroupCountLimitFoldIntoTwoDimensions() throws {
        let device = TestDevice.shared
        // One workgroup per row: more rows than lavapipe's 65,535 workgroups in x.
        let rows = min(device.info.maxWorkgroupCount.x, 65_535) + 7, width = 3
        let input = (0..<rows * width).map { Float($0 % 97) / 10 - 4 }
        let weight: [Float] = [1, 2, 0.5]
        let source = try device.buffer(input), weights = try device.buffer(weight)
        let output = try device.makeBuffer(byteCount: input.count * 4)
        try device.run { try $0.rmsNorm(source.range(), weight: weights.range(), into: output.range(), rows: rows, width: width, epsilon: 1e-5) }
        let result = try device.download(output, count: input.count)
        for r in [0, 65_534, 65_535, 65_536, rows - 1] {
            let row = input[r * width..<(r + 1) * width]
            let scale = 1 / (row.map { $0 * $0 }.reduce(0, +) / Float(width) + 1e-5).squareRoot()
            for i in 0..<width {
                #expect(abs(result[r * width + i] - row[row.startIndex + i] * scale * weight[i]) < 1e-5, "row \(r)")
            }
        }
        TestDevice.expectNoValidationMessages()
    }

    /// The messenger the tests rely on does report misuse: a binding offset off the device's
    /// alignment (on its own instance, so the other tests' checks do not see the message).
    @Test(.enabled(if: Vulkan.validationLayerAvailable && (TestDevice.firstUsable?.minStorageBufferOffsetAlignment ?? 0) > 4,
                   "needs the validation layer and a device whose binding offsets align to more than 4 bytes"))
    func validationLayerReportsMisuse() throws {
        let device = try VulkanDevice(index: TestDevice.firstUsable!.index, validation: true)
        let values = try device.buffer([1, 2, 3, 4] as [Float])
        try device.run { try $0.add(BufferRange(buffer: values, offset: 4, byteCount: 4), to: values.range(), count: 1, period: 1) }
        let messages = device.takeValidationMessages()
        #expect(messages.contains { $0.contains("minStorageBufferOffsetAlignment") }, "\(messages)")
    }
}
