import ArgumentParser
import ForgeModel
import ForgeVulkan

/// Where a model runs: `--device cpu|vulkan|auto`.
public struct DeviceOptions: ParsableArguments {
    /// The values `--device` takes.
    public enum Choice: String, CaseIterable, ExpressibleByArgument, Sendable {
        case cpu, vulkan, auto
    }

    @Option(help: ArgumentHelp("""
        Where the model runs: cpu; vulkan (a discrete GPU, else an integrated one, else any usable Vulkan device, \
        lavapipe included); or auto (a discrete GPU, else an integrated one, else the CPU: a CPU-type Vulkan device \
        such as Mesa's lavapipe is never faster than Forge's CPU kernels, so auto takes the CPU there). \
        `forge devices` lists them.
        """, valueName: "cpu|vulkan|auto"))
    public var device: Choice = .cpu

    public init() {}

    /// Opens the device `--device` names; an error says why Vulkan cannot be used.
    public func open() throws -> ComputeDevice {
        switch device {
        case .cpu:
            return .cpu
        case .auto:
            guard let devices = try? Vulkan.devices(), let preferred = Vulkan.preferredDevice(among: devices) else { return .cpu }
            return .vulkan(try openVulkan(preferred))
        case .vulkan:
            let devices: [VulkanDeviceInfo]
            do { devices = try Vulkan.devices() } catch { throw ValidationError("--device vulkan: \(error)") }
            guard let chosen = Vulkan.preferredDevice(among: devices) ?? devices.first(where: { $0.unsuitability == nil }) else {
                let reasons = devices.compactMap(\.unsuitability)
                throw ValidationError("--device vulkan: no usable Vulkan device" + (reasons.isEmpty ? " (install a GPU driver, or mesa-vulkan-drivers for lavapipe)" : ": " + reasons.joined(separator: "; ")))
            }
            return .vulkan(try openVulkan(chosen))
        }
    }

    private func openVulkan(_ info: VulkanDeviceInfo) throws -> VulkanDevice {
        do {
            return try VulkanDevice(index: info.index)
        } catch {
            throw ValidationError("--device \(device.rawValue): cannot open \(info.name): \(error)")
        }
    }
}

extension ComputeDevice {
    /// What the reports call it.
    var name: String {
        switch self {
        case .cpu: "CPU"
        case .vulkan(let device): "Vulkan device \(device.info.name) (\(device.info.kind.rawValue))"
        }
    }
}
