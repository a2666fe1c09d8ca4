import ForgeGGUF
import ForgeKernels

/// A weight matrix uploaded to the device, in parts of whole rows that each fit one binding
/// (the device's maxStorageBufferRange, e.g. 128 MiB on lavapipe, which a 151,936-row output
/// projection exceeds). A matrix product dispatches once per part.
public final class DeviceMatrix: @unchecked Sendable {
    public struct Part {
        let buffer: DeviceBuffer
        let firstRow: Int
        let rows: Int
    }

    /// The formats the matrix-product shaders decode.
    public static let supportedTypes: Set<GGMLType> = [.f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let bytesPerRow: Int
    public let parts: [Part]

    /// Bytes a part of `rows` rows takes: whole 32-bit words plus one, because the shaders read a
    /// row's bytes as words that may reach one word past its last block.
    static func partBytes(rows: Int, bytesPerRow: Int) -> Int { (rows * bytesPerRow + 3) / 4 * 4 + 4 }

    /// Rows per part under `bindingLimit`, or nil when not even one row fits.
    static func rowsPerPart(bytesPerRow: Int, bindingLimit: Int) -> Int? {
        let rows = (bindingLimit - 8) / bytesPerRow
        return rows > 0 ? rows : nil
    }

    /// Device bytes `matrix` takes once uploaded to a device with `bindingLimit`.
    public static func byteCount(of matrix: WeightMatrix, bindingLimit: Int) -> Int {
        guard let perPart = rowsPerPart(bytesPerRow: matrix.bytesPerRow, bindingLimit: bindingLimit) else { return Int.max }
        let full = matrix.rows / perPart, rest = matrix.rows % perPart
        return full * partBytes(rows: perPart, bytesPerRow: matrix.bytesPerRow) + (rest > 0 ? partBytes(rows: rest, bytesPerRow: matrix.bytesPerRow) : 0)
    }

    /// Uploads `matrix` through the staging buffer.
    public init(_ matrix: WeightMatrix, on device: VulkanDevice) throws {
        guard Self.supportedTypes.contains(matrix.type) else {
            throw VulkanError("the Vulkan backend has no matrix product for \(matrix.type.name) weights")
        }
        guard let perPart = Self.rowsPerPart(bytesPerRow: matrix.bytesPerRow, bindingLimit: device.bindingLimit) else {
            throw VulkanError("a \(matrix.type.name) row of \(matrix.bytesPerRow) bytes exceeds the binding limit of \(device.bindingLimit)")
        }
        var parts: [Part] = []
        for first in stride(from: 0, to: matrix.rows, by: perPart) {
            let rows = min(perPart, matrix.rows - first)
            let buffer = try device.makeBuffer(byteCount: Self.partBytes(rows: rows, bytesPerRow: matrix.bytesPerRow))
            try device.upload(UnsafeRawBufferPointer(start: matrix.data + first * matrix.bytesPerRow, count: rows * matrix.bytesPerRow), to: buffer)
            parts.append(Part(buffer: buffer, firstRow: first, rows: rows))
        }
        type = matrix.type
        rows = matrix.rows
        columns = matrix.columns
        bytesPerRow = matrix.bytesPerRow
        self.parts = parts
    }
}

/// How RoPE pairs the values it rotates (the same styles as the CPU path's).
public enum DeviceRoPEStyle: Sendable {
    /// Adjacent pairs (2i, 2i+1).
    case normal
    /// Pairs half the rotated width apart (i, i + d/2).
    case neox
}

/// The operations of a transformer's forward pass, recorded as dispatches. Buffers hold f32
/// values row-major unless noted; ranges are bound whole.
extension CommandRecorder {
    /// Tokens one matrix-product workgroup takes from 2 on (the prefill shader variant).
    public static let matmulTokenTile = 8

    /// output[t · outputStride + r] = Σ_c W[r, c] · input[inputOffset + t · inputStride + c] for t in
    /// 0..<tokens, one dispatch per part of W.
    public func matmul(_ weight: DeviceMatrix, input: BufferRange, output: BufferRange, tokens: Int,
                       inputOffset: Int = 0, inputStride: Int? = nil, outputStride: Int? = nil) throws {
        let tile = tokens == 1 ? 1 : Self.matmulTokenTile
        let name = "matmul_\(weight.type.name.lowercased())_\(tile)"
        for part in weight.parts {
            try dispatch(name, [part.buffer.range(), input, output],
                         constants: [weight.columns, part.rows, weight.bytesPerRow, tokens, inputOffset, inputStride ?? weight.columns,
                                     outputStride ?? weight.rows, part.firstRow].map(UInt32.init),
                         workgroups: part.rows, slices: (tokens + tile - 1) / tile, workgroupSize: device.reductionWidth)
        }
    }

    /// output = input / sqrt(mean(input²) + ε) ⊙ weight, for `rows` rows of `width` (output may be input).
    public func rmsNorm(_ input: BufferRange, weight: BufferRange, into output: BufferRange, rows: Int, width: Int, epsilon: Float) throws {
        try dispatch("rms_norm", [input, weight, output], constants: [UInt32(rows), UInt32(width), epsilon.bitPattern],
                     workgroups: rows, workgroupSize: device.reductionWidth)
    }

    /// Rotates the first `rotated` values of each of `heads` heads per token in place, by the
    /// angles in `angles`: per token, cos and sin of each rotated pair.
    public func rope(_ vectors: BufferRange, angles: BufferRange, tokens: Int, heads: Int, headDimension: Int, rotated: Int,
                     style: DeviceRoPEStyle) throws {
        try dispatch("rope", [vectors, angles],
                     constants: [tokens, heads, headDimension, rotated, style == .neox ? 1 : 0].map(UInt32.init),
                     workgroups: groups(tokens * heads * rotated / 2), workgroupSize: device.elementwiseWidth)
    }

    /// Writes `tokens` rows of keys and values (kvWidth each) into f16 caches. `tokenRows` holds
    /// two u32 per token: the cache row of its slot's position 0, and its position.
    public func storeKeysAndValues(keys: BufferRange, values: BufferRange, keyCache: BufferRange, valueCache: BufferRange,
                                   tokenRows: BufferRange, tokens: Int, kvWidth: Int) throws {
        guard kvWidth % 2 == 0 else { throw VulkanError("the f16 cache needs an even KV width, not \(kvWidth)") }
        try dispatch("store_kv", [keys, values, keyCache, valueCache, tokenRows], constants: [UInt32(tokens), UInt32(kvWidth)],
                     workgroups: groups(tokens * kvWidth / 2), workgroupSize: device.elementwiseWidth)
    }

    /// Grouped-query attention with a causal mask: query head h of token t attends over its
    /// slot's f16 cache rows for positions 0...p (`tokenRows` as in `storeKeysAndValues`), or the
    /// last `window` of them, of KV head h / (heads / kvHeads), scores times `scale`.
    public func attention(queries: BufferRange, keyCache: BufferRange, valueCache: BufferRange, tokenRows: BufferRange,
                          output: BufferRange, tokens: Int, heads: Int, kvHeads: Int, headDimension: Int, scale: Float,
                          window: Int? = nil) throws {
        guard headDimension % 2 == 0, headDimension <= 256, heads % kvHeads == 0 else {
            throw VulkanError("attention needs an even head size up to 256 and whole query groups (head size \(headDimension), \(heads):\(kvHeads) heads)")
        }
        guard window.map({ $0 > 0 }) ?? true else { throw VulkanError("a sliding window must be positive, not \(window!)") }
        try dispatch("attention", [queries, keyCache, valueCache, tokenRows, output],
                     constants: [UInt32(tokens), UInt32(heads), UInt32(kvHeads), UInt32(headDimension), scale.bitPattern, UInt32(window ?? 0)],
                     workgroups: tokens * heads, workgroupSize: device.reductionWidth)
    }

    /// gate ← silu(gate) ⊙ up over `count` values.
    public func swiGLU(gate: BufferRange, up: BufferRange, count: Int) throws {
        try dispatch("swiglu", [gate, up], constants: [UInt32(count)], workgroups: groups(count), workgroupSize: device.elementwiseWidth)
    }

    /// gate ← gelu(gate) ⊙ up over `count` values, GELU in its tanh form.
    public func geGLU(gate: BufferRange, up: BufferRange, count: Int) throws {
        try dispatch("geglu", [gate, up], constants: [UInt32(count)], workgroups: groups(count), workgroupSize: device.elementwiseWidth)
    }

    /// destination[i] += source[i mod period] for i in 0..<count: a residual (period = count) or
    /// a bias added to every row (period = the row width).
    public func add(_ source: BufferRange, to destination: BufferRange, count: Int, period: Int) throws {
        try dispatch("add", [destination, source], constants: [UInt32(count), UInt32(period)],
                     workgroups: groups(count), workgroupSize: device.elementwiseWidth)
    }

    /// Softmax of `rows` rows of `width` values in place, after multiplying them by `scale`.
    public func softmax(_ values: BufferRange, rows: Int, width: Int, scale: Float = 1) throws {
        try dispatch("softmax", [values], constants: [UInt32(rows), UInt32(width), scale.bitPattern],
                     workgroups: rows, workgroupSize: device.reductionWidth)
    }

    private func groups(_ invocations: Int) -> Int {
        (invocations + device.elementwiseWidth - 1) / device.elementwiseWidth
    }
}
