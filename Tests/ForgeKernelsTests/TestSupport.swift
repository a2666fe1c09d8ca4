import Foundation
import ForgeGGUF
import ForgeKernels
import ForgeTestSupport
import Testing

enum Fixtures {
    static func data(_ path: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(path)", withExtension: nil),
                               "missing fixture \(path)")
        return try Data(contentsOf: url)
    }

    static func floats(_ path: String) throws -> [Float] {
        let bytes = try data(path)
        return bytes.withUnsafeBytes { raw in
            (0..<bytes.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

/// Random encoded blocks of `type` whose f16 scale fields hold small finite values, so every
/// block decodes to finite numbers (the same recipe as scripts/make-kernel-fixtures.py).
func randomBlocks(_ type: GGMLType, count: Int, using generator: inout SplitMix64) -> [UInt8] {
    let blockCount = count / type.blockSize
    var bytes = (0..<blockCount * type.bytesPerBlock).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let halfOffsets: [Int] = switch type {
    case .q4_0, .q5_0, .q8_0, .iq4_nl: [0]
    case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
    case .q2_K: [80, 82]
    case .q3_K: [108]
    case .q6_K: [208]
    case .f16: Array(stride(from: 0, to: bytes.count, by: 2))
    case .bf16: Array(stride(from: 0, to: bytes.count, by: 2))
    default: []
    }
    for block in 0..<(type.blockSize == 1 ? 1 : blockCount) {
        for offset in halfOffsets {
            let value = Float.random(in: -1...1, using: &generator) * (type.blockSize == 1 ? 1 : 0.05)
            let bits = type == .bf16 ? UInt16(value.bitPattern >> 16) : Float16(value).bitPattern
            bytes[block * type.bytesPerBlock + offset] = UInt8(bits & 0xff)
            bytes[block * type.bytesPerBlock + offset + 1] = UInt8(bits >> 8)
        }
    }
    if type == .f32 {
        bytes = []
        for _ in 0..<count {
            let bits = Float.random(in: -1...1, using: &generator).bitPattern
            bytes += [UInt8(bits & 0xff), UInt8((bits >> 8) & 0xff), UInt8((bits >> 16) & 0xff), UInt8(bits >> 24)]
        }
    }
    return bytes
}

/// Same bits, or both NaN.
func sameFloat(_ a: Float, _ b: Float) -> Bool {
    (a.isNaN && b.isNaN) || a.bitPattern == b.bitPattern
}
