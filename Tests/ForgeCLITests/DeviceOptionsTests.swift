import ArgumentParser
import ForgeModel
import ForgeVulkan
import Testing
@testable import ForgeCLI

/// `--device`: its default, its values, and `auto`'s choice.
@Suite struct DeviceOptionsTests {
    @Test func defaultsToTheCPU() throws {
        let options = try DeviceOptions.parse([])
        #expect(options.device == .cpu)
        guard case .cpu = try options.open() else {
            Issue.record("the default opened a Vulkan device")
            return
        }
    }

    @Test func rejectsAnUnknownDevice() {
        #expect(throws: (any Error).self) { try DeviceOptions.parse(["--device", "gpu"]) }
    }

    /// `auto` takes a discrete or integrated GPU and nothing else: where the only Vulkan device is
    /// lavapipe (a CPU-type device), it runs on the CPU.
    @Test func autoTakesOnlyAGPU() throws {
        let devices = (try? Vulkan.devices()) ?? []
        switch try DeviceOptions.parse(["--device", "auto"]).open() {
        case .cpu:
            #expect(Vulkan.preferredDevice(among: devices) == nil, "auto left a usable GPU unused")
        case .vulkan(let device):
            #expect(device.info.kind == .discrete || device.info.kind == .integrated, "auto took a \(device.info.kind.rawValue)")
        }
    }

    @Test func everyCommandThatRunsAModelTakesIt() throws {
        let model = try BenchCommandTests.tinyModel()
        let commands: [([String], (ParsableCommand) -> DeviceOptions.Choice?)] = [
            (["generate", "-p", "x"], { ($0 as? GenerateCommand)?.placement.device }),
            (["chat"], { ($0 as? ChatCommand)?.placement.device }),
            (["perplexity", "-f", "x"], { ($0 as? PerplexityCommand)?.placement.device }),
            (["bench", "-m", model.path], { ($0 as? BenchCommand)?.placement.device }),
            (["serve"], { ($0 as? ServeCommand)?.placement.device }),
            (["logits", "-p", "x"], { ($0 as? LogitsCommand)?.placement.device }),
        ]
        for (arguments, device) in commands {
            #expect(device(try Forge.parseAsRoot(arguments + ["--device", "vulkan"])) == .vulkan, "\(arguments[0])")
        }
    }

    /// `forge bench --device vulkan` measures on the device, says so, and leaves out the CPU's ceilings.
    @Test(.enabled(if: (try? Vulkan.devices())?.contains { $0.unsuitability == nil } == true, "no usable Vulkan device"))
    func benchRunsOnTheDevice() throws {
        let model = try BenchCommandTests.tinyModel()
        let (report, rows) = try BenchCommandTests.measure(["-m", model.path, "-p", "8", "-n", "4", "-r", "1", "--bandwidth-mib", "16",
                                                            "--device", "vulkan"])
        #expect(rows.count == 2)
        #expect(report.bandwidth.isEmpty && report.compute.isEmpty)
        #expect(report.device.hasPrefix("Vulkan device"), "\(report.device)")
        #expect(report.models.first?.results.allSatisfy { $0.mean > 0 } == true)
    }
}
