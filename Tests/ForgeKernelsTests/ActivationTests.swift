import Foundation
import ForgeKernels
import Testing

/// SwiGLU follows llama.cpp's CPU floats (its exp approximation); every variant must give the same
/// floats, and they must be SiLU(gate)·up to within the approximation's couple of ulps.
@Suite struct ActivationTests {
    @Test func swiGLUVariantsAgreeAndMatchTheDefinition() {
        var generator = SeededGenerator(seed: 5)
        let rows = 3, width = 16 * 5 + 7 // a tail of width % 16 values goes through libm's expf
        let gates = generator.normals(rows * width).enumerated().map { $0.element * ($0.offset % 23 == 0 ? 40 : 4) }
        let ups = generator.normals(rows * width)
        var results: [[Float]] = []
        for variant in KernelVariant.allCases where variant.isSupported {
            var gate = gates
            gate.withUnsafeMutableBufferPointer { g in
                ups.withUnsafeBufferPointer { u in
                    Activations.swiGLU(gate: g.baseAddress!, up: u.baseAddress!, rows: rows, width: width, variant: variant)
                }
            }
            results.append(gate)
        }
        for result in results.dropFirst() {
            #expect(result.map(\.bitPattern) == results[0].map(\.bitPattern))
        }
        for i in 0..<rows * width {
            let x = Double(gates[i])
            let expected = x / (1 + Foundation.exp(-x)) * Double(ups[i])
            #expect(abs(Double(results[0][i]) - expected) <= 1e-6 * max(1, abs(expected)), "value \(i): \(results[0][i]) vs \(expected)")
        }
    }
}
