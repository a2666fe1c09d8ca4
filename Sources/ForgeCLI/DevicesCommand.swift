import ArgumentParser
import ForgeVulkan

/// `forge devices`: the Vulkan devices this machine has, their memory, limits and features.
public struct DevicesCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the Vulkan devices with their type, memory, limits and features.",
        discussion: "Without a Vulkan loader or driver it says what to install; Forge still runs on the CPU."
    )

    public init() {}

    public func run() throws {
        print(try output(), terminator: "")
    }

    /// The listing, as `run` prints it.
    public func output() throws -> String {
        let devices: [VulkanDeviceInfo]
        do {
            devices = try Vulkan.devices()
        } catch let error as VulkanError {
            return "\(error)\n"
        }
        guard !devices.isEmpty else { return "no Vulkan devices (install a GPU driver, or mesa-vulkan-drivers for lavapipe)\n" }
        let preferred = Vulkan.preferredDevice(among: devices)
        var text = ""
        for device in devices {
            let mebibytes = { (bytes: Int) in "\(bytes >> 20) MiB" }
            text += """
                \(device.index): \(device.name) (\(device.kind.rawValue), Vulkan \(device.apiVersion))\(device.index == preferred?.index ? ", --device auto takes it" : "")
                  memory: \(mebibytes(device.deviceLocalBytes)) device-local\(device.unifiedMemory ? ", host-visible (unified)" : "")
                  subgroup size \(device.subgroupSize), maxStorageBufferRange \(mebibytes(device.maxStorageBufferRange)), \
                workgroups up to \(device.maxWorkgroupCount.x) × \(device.maxWorkgroupCount.y) × \(device.maxWorkgroupCount.z), \
                shared memory \(device.maxSharedMemoryBytes >> 10) KiB
                  features: \(device.features.isEmpty ? "none" : device.features.joined(separator: ", "))
                  \(device.unsuitability.map { "unusable: \($0)" } ?? "usable by Forge")

                """
        }
        return text
    }
}
