import ForgeKernels
import Testing

@Suite struct ComputeCeilingTests {
    @Test(arguments: KernelVariant.allCases.filter(\.isSupported))
    func everySupportedVariantMeasuresAPositiveRate(variant: KernelVariant) throws {
        let measurement = try ComputeCeiling.measure(threads: 2, variant: variant, passes: 2, steps: 100_000)
        #expect(measurement.threads == 2 && measurement.passes == 2 && measurement.variant == variant)
        #expect(measurement.flopsPerSecond > 0 && measurement.flopsPerSecond.isFinite)
    }

    @Test func emptyProbesAreRefused() {
        let noPasses = #expect(throws: ComputeCeiling.ProbeError.self) {
            try ComputeCeiling.measure(threads: 1, passes: 0, steps: 10)
        }
        #expect(noPasses?.description == "a compute probe needs at least one pass and one step, not 0 and 10")
        let noSteps = #expect(throws: ComputeCeiling.ProbeError.self) {
            try ComputeCeiling.measure(threads: 1, passes: 1, steps: 0)
        }
        #expect(noSteps?.steps == 0)
    }
}
