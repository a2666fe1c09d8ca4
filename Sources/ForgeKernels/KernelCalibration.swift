#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CForgeKernels
import ForgeGGUF
import Foundation

/// Chooses how one-token products read their weight rows (`DecodeRowOrder`) by timing the
/// candidates on this CPU, not by guessing from its vendor: every candidate gives the same bits,
/// and which streams fastest depends on the memory system and the format's decoding cost.
///
/// A context's first one-token product of a weight format calls `prepare`, which takes the winner
/// for (variant, format, threads) from the tuning file, or times the candidates on synthetic
/// weights with the context's threads and records the winner there, then sets it in the kernels'
/// process-wide strategy table (`forge_set_row_strategy`). The file is keyed by the CPU's model
/// string and `kernelVersion`; a corrupt, foreign or unreadable one is ignored with a one-line
/// notice and replaced (written to a temporary file, then renamed over it).
public final class KernelCalibration: @unchecked Sendable {
    public enum Mode: Sendable, Equatable {
        /// No timing and no file, for reproducible runs: `.fastest` keeps the strategies in place
        /// (the kernels' defaults unless another calibration set them).
        case off
        /// Winners from the tuning file; what it lacks is timed and added.
        case automatic
        /// Every format timed once per process whatever the file holds, and the file rewritten.
        case force
    }

    /// Bump when the kernels or the strategies change, so winners recorded for the old ones are timed again.
    public static let kernelVersion = 1
    /// `off` or `force` (anything else: automatic).
    public static let environmentVariable = "FORGE_KERNEL_TUNING"
    public static let fileName = ".kernel-tuning.json"

    /// The one the CLI and server use: `$FORGE_KERNEL_TUNING`, the file in the model cache.
    public static let shared = KernelCalibration(environment: ProcessInfo.processInfo.environment)
    /// Never times nor reads a file.
    public static let off = KernelCalibration(file: nil, mode: .off)

    /// This CPU as the tuning file records it.
    public static let cpuModel: String = readCPUModel()

    public let mode: Mode
    /// Nil: winners are kept for this process only.
    public let file: String?
    public let cpu: String
    private let notice: @Sendable (String) -> Void
    private let lock = NSLock()
    private var loaded = false
    /// The winners known for this CPU and kernel version, by `key`.
    private var entries: [String: TuningEntry] = [:]
    /// The keys timed by this process (`.force` times each once).
    private var timed: Set<String> = []
    /// The file on disk is not this process's view: write it at the next chance.
    private var stale = false

    /// `notice` receives one line (no newline) per file ignored or not written.
    public init(file: String?, cpu: String = KernelCalibration.cpuModel, mode: Mode = .automatic,
                notice: @escaping @Sendable (String) -> Void = KernelCalibration.standardError) {
        self.file = file
        self.cpu = cpu
        self.mode = mode
        self.notice = notice
    }

    /// The mode from `FORGE_KERNEL_TUNING`, the file in `$FORGE_MODELS` (default `~/.cache/forge/models`).
    public convenience init(environment: [String: String]) {
        let setting = environment[Self.environmentVariable]
        let mode: Mode = setting == "off" ? .off : setting == "force" ? .force : .automatic
        let directory = environment["FORGE_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.cache/forge/models"
        self.init(file: directory + "/" + Self.fileName, mode: mode)
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Puts the strategy of one-token products of `type` in `variant` in place for `.fastest`:
    /// the recorded winner, or the fastest candidate timed now with `context`'s threads. Returns it.
    @discardableResult
    public func prepare(_ type: GGMLType, variant: KernelVariant, context: ComputeContext) -> DecodeRowOrder {
        guard mode != .off else { return DecodeRowOrder.fastest.resolved(variant: variant, type: type) }
        lock.lock()
        defer { lock.unlock() }
        load()
        let candidates = DecodeRowOrder.candidates(variant: variant, type: type)
        let key = Self.key(variant: variant, type: type, threads: context.threadCount)
        var winner = candidates[0]
        if candidates.count > 1 {
            if let entry = entries[key], mode == .automatic || timed.contains(key),
               let recorded = DecodeRowOrder(rawValue: entry.strategy), candidates.contains(recorded) {
                winner = recorded
            } else {
                let rates = Self.measure(candidates, type: type, context: context)
                winner = candidates.max { rates[$0]! < rates[$1]! }!
                entries[key] = TuningEntry(strategy: winner.rawValue,
                                           gigabytesPerSecond: Dictionary(uniqueKeysWithValues: rates.map { ($0.rawValue, ($1 / 1e7).rounded() / 100) }))
                timed.insert(key)
                stale = true
            }
        }
        if stale { save() }
        forge_set_row_strategy(variant.isa, type.rawValue, winner.rowOrder)
        return winner
    }

    static func key(variant: KernelVariant, type: GGMLType, threads: Int) -> String {
        "\(variant.name) \(type.name), \(threads) thread\(threads == 1 ? "" : "s")"
    }

    // MARK: - The tuning file

    private func load() {
        guard !loaded else { return }
        loaded = true
        guard let file, FileManager.default.fileExists(atPath: file) else { return }
        let ignoring = "kernel tuning: ignoring \(file): "
        stale = true
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            notice(ignoring + "cannot read it (\(error.localizedDescription))")
            return
        }
        guard let tuning = try? JSONDecoder().decode(TuningFile.self, from: data),
              tuning.strategies.values.allSatisfy({ DecodeRowOrder(rawValue: $0.strategy).map { $0 != .fastest } ?? false }) else {
            notice(ignoring + "not a valid tuning file")
            return
        }
        guard tuning.cpu == cpu else {
            notice(ignoring + "made on CPU '\(tuning.cpu)', this is '\(cpu)'")
            return
        }
        guard tuning.version == Self.kernelVersion else {
            notice(ignoring + "made for kernel version \(tuning.version), these are version \(Self.kernelVersion)")
            return
        }
        entries = tuning.strategies
        stale = false
    }

    private func save() {
        guard let file else { return }
        stale = false
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = file + ".\(getpid()).tmp"
        do {
            let data = try encoder.encode(TuningFile(cpu: cpu, version: Self.kernelVersion, strategies: entries))
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            cannotWrite(file, error.localizedDescription)
            unlink(temporary)
            return
        }
        if rename(temporary, file) != 0 {
            cannotWrite(file, String(cString: strerror(errno)))
            unlink(temporary)
        }
    }

    private func cannotWrite(_ file: String, _ reason: String) {
        notice("kernel tuning: cannot write \(file) (\(reason)); the strategies hold for this process only")
    }

    // MARK: - Timing

    /// Weight bytes per second of each candidate's fastest pass over a working set well beyond the
    /// caches, in rounds that rotate the candidates' order, until the budget is spent.
    static func measure(_ candidates: [DecodeRowOrder], type: GGMLType, context: ComputeContext) -> [DecodeRowOrder: Double] {
        let weights = SyntheticWeights(type: type)
        defer { weights.deallocate() }
        var generator = SplitMix64(seed: 0x5EED)
        let input = (0..<weights.columns).map { _ in Float(bitPattern: SyntheticWeights.unitBits(generator.next())) }
        var output = [Float](repeating: 0, count: weights.rows)
        func pass(_ order: DecodeRowOrder) {
            for matrix in weights.matrices {
                context.matmul(matrix, input: input, output: &output, tokens: 1, rows: order)
            }
        }
        // Untimed: the scratch's page faults, and the fill's lines evicted.
        pass(candidates[0])
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(40)
        var fastest: [DecodeRowOrder: Double] = [:]
        var round = 0
        while round < 3 || (round < 20 && clock.now < deadline) {
            for index in candidates.indices {
                let order = candidates[(index + round) % candidates.count]
                let start = clock.now
                pass(order)
                let seconds = (clock.now - start).inSeconds
                fastest[order] = min(fastest[order] ?? .infinity, seconds)
            }
            round += 1
        }
        return fastest.mapValues { Double(weights.bytes) / max($0, 1e-9) }
    }

    // MARK: - The CPU's name

    private static func readCPUModel() -> String {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            return modelName(cpuinfo: text)
        }
        #elseif canImport(Darwin)
        var size = 0
        if sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 {
            var bytes = [CChar](repeating: 0, count: size)
            if sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 {
                return String(cString: bytes)
            }
        }
        #endif
        return "unknown CPU"
    }

    /// The first processor's model name, with the family/model/stepping (x86) or implementer/part
    /// (arm64) that tell apart CPUs a hypervisor shows under one generic name.
    public static func modelName(cpuinfo: String) -> String {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty, !fields.isEmpty { break }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            if fields[name] == nil { fields[name] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let details = [("cpu family", "family"), ("model", "model"), ("stepping", "stepping"),
                       ("CPU implementer", "implementer"), ("CPU part", "part"), ("CPU variant", "variant"), ("CPU revision", "revision")]
            .compactMap { field, label in fields[field].map { "\(label) \($0)" } }
        let name = fields["model name"] ?? fields["Hardware"] ?? "unknown CPU"
        return details.isEmpty ? name : "\(name) (\(details.joined(separator: ", ")))"
    }
}

/// One recorded winner, with the weight bandwidth each candidate reached when it was chosen.
struct TuningEntry: Codable, Equatable {
    var strategy: String
    var gigabytesPerSecond: [String: Double]

    enum CodingKeys: String, CodingKey {
        case strategy
        case gigabytesPerSecond = "gb_per_second"
    }
}

/// The tuning file: winners by "variant format, threads" for one CPU and kernel version.
struct TuningFile: Codable {
    var cpu: String
    var version: Int
    var strategies: [String: TuningEntry]
}

/// Weights shaped like a 0.5B model's feed-forward matrices (4864 × 896; 896 × 4864 for the
/// 256-value formats), copied until they fill a working set the caches cannot hold, as decoding
/// streams a whole model from memory. Values are random with small finite scales: timing does not
/// depend on them, but NaNs and subnormals might.
struct SyntheticWeights {
    /// Four times the largest cache, within bounds: a last-level cache keeps part of a working set
    /// only twice its size, and its page faults must stay cheap.
    static let workingSetBytes = min(256 << 20, max(128 << 20, 4 * largestCacheBytes()))
    let columns: Int
    let rows: Int
    let matrices: [WeightMatrix]
    /// Of all the matrices.
    let bytes: Int
    private let buffer: UnsafeMutableRawPointer

    init(type: GGMLType) {
        let columns = type.blockSize > 32 ? 4864 : 896
        let rows = 4864 * 896 / columns
        let rowBytes = type.byteCount(elements: columns)!
        let matrixBytes = rowBytes * rows
        let count = max(2, Self.workingSetBytes / matrixBytes)
        let bytes = matrixBytes * count
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        // 64 random rows, repeated.
        Self.randomRows(type, rowBytes: rowBytes, rows: 64).withUnsafeBytes { pattern in
            for offset in stride(from: 0, to: bytes, by: pattern.count) {
                (buffer + offset).copyMemory(from: pattern.baseAddress!, byteCount: min(pattern.count, bytes - offset))
            }
        }
        self.columns = columns
        self.rows = rows
        self.bytes = bytes
        self.buffer = buffer
        matrices = (0..<count).map { try! WeightMatrix(type: type, rows: rows, columns: columns, data: buffer + $0 * matrixBytes) }
    }

    func deallocate() { buffer.deallocate() }

    /// The largest cache the system lists for CPU 0 (sysfs on Linux, where sysconf may report a
    /// whole socket's under a hypervisor), or 0.
    static func largestCacheBytes() -> Int {
        #if os(Linux)
        let directory = "/sys/devices/system/cpu/cpu0/cache"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { $0.hasPrefix("index") }.compactMap { entry -> Int? in
            guard let text = try? String(contentsOfFile: "\(directory)/\(entry)/size", encoding: .utf8) else { return nil }
            let size = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let shift = size.hasSuffix("K") ? 10 : size.hasSuffix("M") ? 20 : 0
            return Int(shift == 0 ? size : String(size.dropLast())).map { $0 << shift }
        }.max() ?? 0
        #elseif canImport(Darwin)
        var bytes = 0
        var size = MemoryLayout<Int>.size
        return sysctlbyname("hw.l3cachesize", &bytes, &size, nil, 0) == 0 ? bytes : 0
        #else
        return 0
        #endif
    }

    /// Bits of a float in ±[0.5, 1).
    static func unitBits(_ random: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: random) & 0x807F_FFFF | 0x3F00_0000
    }

    static func randomRows(_ type: GGMLType, rowBytes: Int, rows: Int) -> [UInt8] {
        var generator = SplitMix64(seed: UInt64(type.rawValue))
        var bytes = [UInt8](repeating: 0, count: rowBytes * rows)
        bytes.withUnsafeMutableBytes { raw in
            switch type {
            case .f32:
                for i in 0..<raw.count / 4 { raw.storeBytes(of: unitBits(generator.next()), toByteOffset: 4 * i, as: UInt32.self) }
            case .f16:
                // Sign, exponent of 0.5, random mantissa.
                for i in 0..<raw.count / 2 {
                    raw.storeBytes(of: UInt16(truncatingIfNeeded: generator.next()) & 0x83FF | 0x3800, toByteOffset: 2 * i, as: UInt16.self)
                }
            case .bf16:
                for i in 0..<raw.count / 2 {
                    raw.storeBytes(of: UInt16(truncatingIfNeeded: generator.next()) & 0x807F | 0x3F00, toByteOffset: 2 * i, as: UInt16.self)
                }
            default:
                for i in 0..<raw.count / 8 { raw.storeBytes(of: generator.next(), toByteOffset: 8 * i, as: UInt64.self) }
                // Each block's f16 scales set to 1/128.
                for block in stride(from: 0, to: raw.count, by: type.bytesPerBlock) {
                    for offset in scaleOffsets(type) { raw.storeBytes(of: UInt16(0x2000), toByteOffset: block + offset, as: UInt16.self) }
                }
            }
        }
        return bytes
    }

    /// Where a block of `type` keeps its f16 scales.
    static func scaleOffsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q2_K: [80, 82]
        case .q3_K: [108]
        case .q6_K: [208]
        default: []
        }
    }
}
