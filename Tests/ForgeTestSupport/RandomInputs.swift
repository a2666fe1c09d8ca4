import ForgeKernels

extension SplitMix64 {
    /// Roughly normal values (sums of four uniforms) times `scale`: kernel and shader test inputs.
    public mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in
            var sum: Float = 0
            for _ in 0..<4 { sum += Float.random(in: -1...1, using: &self) }
            return sum * scale
        }
    }
}
