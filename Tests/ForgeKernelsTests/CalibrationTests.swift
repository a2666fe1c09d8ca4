import Foundation
import ForgeGGUF
import ForgeKernels
import Testing

/// Calibration chooses among decode row orders by timing, which is only sound because every
/// candidate gives the same bits; and its tuning file must never be trusted blindly nor crash it.
@Suite struct CalibrationTests {
    static let decodeTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K, .f16, .f32]

    /// Whether this machine has a variant with more than one candidate for `type` (AVX-512 here).
    static let canTime = MatmulTests.variants.contains { DecodeRowOrder.candidates(variant: $0, type: .q8_0).count > 1 }

    /// The variant whose candidates the file tests time: the best, as the CLI uses.
    static let variant = KernelVariant.best

    /// A one-token product of a random matrix in the given row order.
    static func decode(_ type: GGMLType, rows: Int, blocksPerRow: Int, variant: KernelVariant, threads: Int = 2,
                       order: DecodeRowOrder, calibration: KernelCalibration = .off) throws -> [Float] {
        let testCase = MatmulTests.makeCase(type, rows: rows, blocksPerRow: blocksPerRow, tokens: 1, seed: UInt64(rows * 7 + blocksPerRow))
        let context = try ComputeContext(threadCount: threads, variant: variant, decodeRows: order, calibration: calibration)
        return try MatmulTests.product(testCase, type, of: [0], context: context)
    }

    /// 67 rows over 2 threads: chunks as 8 streams with rows left over; 203 over 3: uneven chunks;
    /// 13 and 1 rows: partial panels; 8 rows: one panel.
    static let shapes = [(67, 1, 2), (203, 2, 3), (13, 3, 2), (1, 2, 2), (8, 1, 1)]

    @Test(arguments: decodeTypes, MatmulTests.variants)
    func everyCandidateGivesTheSameBits(_ type: GGMLType, variant: KernelVariant) throws {
        for (rows, blocksPerRow, threads) in Self.shapes {
            let orders = DecodeRowOrder.candidates(variant: variant, type: type) + [.fastest]
            let outputs = try orders.map { try Self.decode(type, rows: rows, blocksPerRow: blocksPerRow, variant: variant, threads: threads, order: $0) }
            for (order, output) in zip(orders, outputs) {
                #expect(output.map(\.bitPattern) == outputs[0].map(\.bitPattern), "\(type) \(variant) \(rows) rows, \(threads) threads: \(order) against \(orders[0])")
            }
        }
    }

    @Test(.enabled(if: canTime), arguments: [GGMLType.q8_0, .q4_K])
    func twoCalibrationsPickStrategiesWithTheSameBits(_ type: GGMLType) throws {
        let directory = try TemporaryDirectory()
        var outputs: [[Float]] = []
        for run in 0..<2 {
            let calibration = KernelCalibration(file: directory.path + "/tuning-\(run).json", mode: .force)
            let chosen = calibration.prepare(type, variant: Self.variant, context: try ComputeContext(threadCount: 2, variant: Self.variant, calibration: .off))
            #expect(DecodeRowOrder.candidates(variant: Self.variant, type: type).contains(chosen))
            outputs.append(try Self.decode(type, rows: 67, blocksPerRow: 3, variant: Self.variant, order: .fastest, calibration: calibration))
        }
        #expect(outputs[0].map(\.bitPattern) == outputs[1].map(\.bitPattern))
    }

    enum BadFile: String, CaseIterable, CustomStringConvertible {
        case corrupt, otherCPU, otherVersion
        var description: String { rawValue }

        func contents(cpu: String) -> String {
            switch self {
            case .corrupt: #"{"cpu": "\#(cpu)", "version": 1, "strategies": {"#
            case .otherCPU: #"{"cpu": "Another CPU", "version": \#(KernelCalibration.kernelVersion), "strategies": {}}"#
            case .otherVersion: #"{"cpu": "\#(cpu)", "version": \#(KernelCalibration.kernelVersion + 1), "strategies": {}}"#
            }
        }

        var reason: String {
            switch self {
            case .corrupt: "not a valid tuning file"
            case .otherCPU: "made on CPU 'Another CPU', this is 'Test CPU'"
            case .otherVersion: "made for kernel version \(KernelCalibration.kernelVersion + 1), these are version \(KernelCalibration.kernelVersion)"
            }
        }
    }

    @Test(arguments: BadFile.allCases)
    func aBadTuningFileIsIgnoredWithOneNoticeAndRewritten(_ bad: BadFile) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + KernelCalibration.fileName
        try bad.contents(cpu: "Test CPU").write(toFile: path, atomically: false, encoding: .utf8)
        let notices = Notices()
        let calibration = KernelCalibration(file: path, cpu: "Test CPU", notice: notices.add)
        let chosen = calibration.prepare(.q8_0, variant: Self.variant, context: try ComputeContext(threadCount: 2, variant: Self.variant, calibration: .off))
        #expect(DecodeRowOrder.candidates(variant: Self.variant, type: .q8_0).contains(chosen))
        #expect(notices.lines == ["kernel tuning: ignoring \(path): \(bad.reason)"])
        let file = try Self.tuningFile(path)
        #expect(file["cpu"] as? String == "Test CPU")
        #expect(file["version"] as? Int == KernelCalibration.kernelVersion)
        let strategies = try #require(file["strategies"] as? [String: [String: Any]])
        #expect(strategies.count == (Self.canTime ? 1 : 0))
        #expect(strategies.values.allSatisfy { $0["strategy"] as? String == chosen.rawValue })
        // A second process (another instance) reads it back without a word.
        let again = Notices()
        let reread = KernelCalibration(file: path, cpu: "Test CPU", notice: again.add)
        #expect(reread.prepare(.q8_0, variant: Self.variant, context: try ComputeContext(threadCount: 2, variant: Self.variant, calibration: .off)) == chosen)
        #expect(again.lines.isEmpty)
    }

    @Test func anUnreadableTuningFileIsIgnoredWithoutACrash() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + KernelCalibration.fileName
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let notices = Notices()
        let calibration = KernelCalibration(file: path, cpu: "Test CPU", notice: notices.add)
        let chosen = calibration.prepare(.q8_0, variant: Self.variant, context: try ComputeContext(threadCount: 2, variant: Self.variant, calibration: .off))
        #expect(DecodeRowOrder.candidates(variant: Self.variant, type: .q8_0).contains(chosen))
        #expect(notices.lines.first?.hasPrefix("kernel tuning: ignoring \(path): cannot read it") == true, "\(notices.lines)")
        #expect(notices.lines.dropFirst().allSatisfy { $0.hasPrefix("kernel tuning: cannot write \(path)") }, "\(notices.lines)")
        #expect(!FileManager.default.fileExists(atPath: path + ".\(getpid()).tmp"))
    }

    /// A recorded winner is taken as it is, even one that timing would not pick.
    @Test(.enabled(if: canTime)) func aRecordedWinnerIsUsedWithoutTiming() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + KernelCalibration.fileName
        let context = try ComputeContext(threadCount: 2, variant: Self.variant, calibration: .off)
        KernelCalibration(file: path, cpu: "Test CPU").prepare(.q5_0, variant: Self.variant, context: context)
        var file = try Self.tuningFile(path)
        var strategies = try #require(file["strategies"] as? [String: [String: Any]])
        let key = try #require(strategies.keys.first)
        strategies[key]?["strategy"] = "rows"
        file["strategies"] = strategies
        let edited = try JSONSerialization.data(withJSONObject: file)
        try edited.write(to: URL(fileURLWithPath: path))

        let notices = Notices()
        #expect(KernelCalibration(file: path, cpu: "Test CPU", notice: notices.add).prepare(.q5_0, variant: Self.variant, context: context) == .rowByRow)
        #expect(notices.lines.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == edited, "nothing timed, nothing written")
    }

    @Test func offNeitherTimesNorWrites() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/" + KernelCalibration.fileName
        let context = try ComputeContext(threadCount: 2, variant: Self.variant, calibration: KernelCalibration(file: path, mode: .off))
        let testCase = MatmulTests.makeCase(.q8_0, rows: 16, blocksPerRow: 2, tokens: 1, seed: 5)
        _ = try MatmulTests.product(testCase, .q8_0, of: [0], context: context)
        #expect(context.decodeStrategies.map(\.type) == [.q8_0])
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func environmentChoosesTheModeAndTheFile() {
        let off = KernelCalibration(environment: ["FORGE_KERNEL_TUNING": "off", "FORGE_MODELS": "/models", "HOME": "/home/u"])
        #expect(off.mode == .off && off.file == "/models/.kernel-tuning.json")
        let forced = KernelCalibration(environment: ["FORGE_KERNEL_TUNING": "force", "HOME": "/home/u"])
        #expect(forced.mode == .force && forced.file == "/home/u/.cache/forge/models/.kernel-tuning.json")
        #expect(KernelCalibration(environment: ["HOME": "/home/u", "FORGE_MODELS": ""]).mode == .automatic)
    }

    @Test func cpuModelTellsApartWhatAHypervisorNamesAlike() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\n\nprocessor\t: 1\nmodel name\t: other\n"
        #expect(KernelCalibration.modelName(cpuinfo: x86) == "AMD EPYC (family 26, model 2, stepping 1)")
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n"
        #expect(KernelCalibration.modelName(cpuinfo: arm) == "unknown CPU (implementer 0x41, part 0xd0c, variant 0x3, revision 1)")
        #expect(KernelCalibration.modelName(cpuinfo: "") == "unknown CPU")
    }

    /// The strategies a context reports are the ones its one-token products took.
    @Test func aContextReportsItsDecodeStrategies() throws {
        let context = try ComputeContext(threadCount: 2, variant: Self.variant, decodeRows: .rowByRow, calibration: .off)
        let testCase = MatmulTests.makeCase(.q8_0, rows: 8, blocksPerRow: 1, tokens: 4, seed: 3)
        _ = try MatmulTests.product(testCase, .q8_0, of: [0, 1, 2, 3], context: context)
        #expect(context.decodeStrategies.isEmpty, "a batch is not a one-token product")
        _ = try MatmulTests.product(testCase, .q8_0, of: [2], context: context)
        #expect(context.decodeStrategies.map(\.description) == ["Q8_0 rows"])
    }

    static func tuningFile(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// The notices a calibration gave, collected from whatever thread.
final class Notices: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    func add(_ line: String) {
        lock.lock()
        collected.append(line)
        lock.unlock()
    }
}

/// A fresh directory, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "forge-calibration-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
