import Foundation
import ForgeKernels
import ForgeTestSupport
import Testing
@testable import ForgeGGUF

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Truncated and byte-mutated variants of valid files: each must load or throw `GGUFError`.
/// A crash ends the test process, a hang trips the time limit, and unbounded allocation shows
/// in the peak resident set size.
@Suite(.serialized) struct MutationTests {
    /// Values that hit edge cases when they land on a length, count, type or offset field.
    private static let interesting64: [UInt64] = [0, 1, 2, 3, 4, 31, 32, 33, 63, 64, 255, 256, 4096, 1 << 20, 1 << 26, 1 << 31, 1 << 32, 1 << 40, 1 << 61, 1 << 63, .max, .max - 1, UInt64(Int64.max)]

    /// Applies one random mutation: a truncation, a bit flip, a random byte, or an interesting
    /// 1-, 4- or 8-byte value; `hotRanges` are where the fields worth hitting are.
    private static func mutate(_ original: [UInt8], hotRanges: [Range<Int>], using random: inout SplitMix64) -> [UInt8] {
        var bytes = original
        func position() -> Int {
            if Bool.random(using: &random), let range = hotRanges.randomElement(using: &random), !range.isEmpty {
                return Int.random(in: range, using: &random)
            }
            return Int.random(in: 0..<bytes.count, using: &random)
        }
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
        case 1:
            let at = position()
            bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 2:
            bytes[position()] = UInt8.random(in: 0...255, using: &random)
        case 3:
            let at = position()
            let value = interesting64.randomElement(using: &random) ?? 0
            for i in 0..<8 where at + i < bytes.count { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        case 4:
            let at = position()
            let value = UInt32(truncatingIfNeeded: interesting64.randomElement(using: &random) ?? 0)
            for i in 0..<4 where at + i < bytes.count { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        default:
            for _ in 0..<Int.random(in: 2...8, using: &random) {
                bytes[position()] = UInt8.random(in: 0...255, using: &random)
            }
        }
        return bytes
    }

    private struct Outcome {
        var loaded = 0
        var rejected = 0
    }

    /// Parses `variants` mutations of `original`; a loaded file has every tensor's bytes read.
    private static func run(_ original: [UInt8], hotRanges: [Range<Int>], variants: Int, seed: UInt64) -> Outcome {
        var random = SplitMix64(seed: seed)
        var outcome = Outcome()
        for _ in 0..<variants {
            let variant = mutate(original, hotRanges: hotRanges, using: &random)
            do {
                let file = try GGUFFile(bytes: variant)
                var checksum: UInt8 = 0
                for tensor in file.tensors {
                    let data = file.data(for: tensor)
                    #expect(data.count == tensor.byteCount)
                    #expect(file.dataOffset + tensor.offset + tensor.byteCount <= variant.count)
                    if let first = data.first, let last = data.last { checksum ^= first ^ last }
                }
                _ = checksum
                outcome.loaded += 1
            } catch is GGUFError {
                outcome.rejected += 1
            } catch {
                Issue.record("not a GGUFError: \(error)")
            }
        }
        return outcome
    }

    private static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if canImport(Darwin)
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// Where the header fields are: the counts, each key's type code, and the tensor infos.
    private static func hotRanges(of file: GGUFFile) -> [Range<Int>] {
        let infoStart = file.dataOffset - file.tensors.count * 40
        return [0..<24, max(0, infoStart)..<file.dataOffset]
    }

    @Test(.timeLimit(.minutes(1)))
    func syntheticFileMutations() throws {
        let original = try syntheticWriter().serialized()
        let before = Self.peakResidentBytes()
        let outcome = Self.run(original, hotRanges: Self.hotRanges(of: try GGUFFile(bytes: original)), variants: 20_000, seed: 1)
        #expect(outcome.loaded + outcome.rejected == 20_000)
        // Both outcomes must occur, or the mutations are not reaching the fields they should.
        #expect(outcome.loaded > 100)
        #expect(outcome.rejected > 10_000)
        #expect(Self.peakResidentBytes() - before < 256 << 20)
    }

    /// The first 256 KiB of SmolLM2: header, general keys and the start of the vocabulary.
    @Test(.timeLimit(.minutes(1)), .enabled(if: RealModels.path(RealModels.smollm2) != nil, "run scripts/fetch-models first"))
    func realHeaderRegionMutations() throws {
        let path = try #require(RealModels.path(RealModels.smollm2))
        let whole = try GGUFFile(path: path)
        let region = Array(whole.bytes.prefix(256 << 10))
        let before = Self.peakResidentBytes()
        let outcome = Self.run(region, hotRanges: [0..<1024], variants: 10_000, seed: 2)
        #expect(outcome.loaded + outcome.rejected == 10_000)
        #expect(outcome.rejected > 9_000)
        #expect(Self.peakResidentBytes() - before < 256 << 20)
    }

    /// The whole SmolLM2 header (all metadata and tensor infos) with its tensor data
    /// replaced by a short tail, so that mutations of the tensor infos are checked too.
    @Test(.timeLimit(.minutes(1)), .enabled(if: RealModels.path(RealModels.smollm2) != nil, "run scripts/fetch-models first"))
    func realTensorInfoMutations() throws {
        let path = try #require(RealModels.path(RealModels.smollm2))
        let whole = try GGUFFile(path: path)
        let header = Array(whole.bytes.prefix(whole.dataOffset + 4096))
        let before = Self.peakResidentBytes()
        let outcome = Self.run(header, hotRanges: Self.hotRanges(of: whole), variants: 500, seed: 3)
        #expect(outcome.loaded + outcome.rejected == 500)
        #expect(Self.peakResidentBytes() - before < 256 << 20)
    }
}
