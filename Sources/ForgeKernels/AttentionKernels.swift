import CForgeKernels

/// One query row of an attention tile: its query, where its output goes, and which cached rows
/// (first..<length) it sees.
public struct AttentionTileRow {
    public var query: UnsafePointer<Float>
    public var output: UnsafeMutablePointer<Float>
    public var length: Int
    public var first: Int

    public init(query: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, length: Int, first: Int = 0) {
        self.query = query
        self.output = output
        self.length = length
        self.first = first
    }
}

/// Element type of cached keys and values the attention kernels read.
public enum AttentionElement: Sendable {
    case f16, f32

    var ggmlType: UInt32 { self == .f16 ? UInt32(FORGE_TYPE_F16) : UInt32(FORGE_TYPE_F32) }
}

/// Attention over one KV head's cached rows in llama.cpp's order, to the bit (see attention.c).
extension ComputeContext {
    /// Query rows a tile holds at most; llama.cpp takes its tiled path from this many query rows
    /// per batch on.
    public static let attentionTileRows = Int(FORGE_ATTENTION_TILE_ROWS)

    /// Whether `attendTile` can take rows of this head dimension.
    public static func attentionTilesSupport(headDimension: Int) -> Bool { headDimension > 0 && headDimension % 16 == 0 }

    /// `heads` consecutive query rows (outputs likewise) of one KV head over f16 keys and values
    /// `rowBytes` apart: Q rounded to f16, the V accumulator in f16, as llama.cpp computes decode
    /// steps and short batches, `chunk` keys at a time merged as its split decode path merges them
    /// (see `decodeChunk`; `length` or more: all at once). Rows before `first` (a sliding window)
    /// are skipped within their chunks, as llama.cpp skips masked keys. Each key and value row is
    /// read once for all the heads.
    public func attendGroup(queries: UnsafePointer<Float>, outputs: UnsafeMutablePointer<Float>, heads: Int,
                            keys: UnsafeRawPointer, values: UnsafeRawPointer, rowBytes: Int, length: Int, first: Int = 0, chunk: Int,
                            headDimension: Int, scale: Float) {
        forge_attention_group(variant.isa, queries, outputs, Int32(heads), keys, values, rowBytes, Int64(length), Int64(first),
                              Int64(chunk), Int64(headDimension), scale)
    }

    /// The keys per chunk llama.cpp gives each of `threadCount` threads for a batch of one query row
    /// that sees `length` cached positions of a `contextSize` cache: its KV view is the used cells
    /// rounded up to 256 (at least 256, at most the context rounded up to 256), and from 512 rows
    /// on the view is split evenly across the threads. Otherwise `length`: one chunk.
    public static func decodeChunk(length: Int, contextSize: Int, threadCount: Int) -> Int {
        let padding = 256
        func padded(_ n: Int) -> Int { (n + padding - 1) / padding * padding }
        let view = min(padded(contextSize), max(padding, padded(length)))
        return view >= 2 * padding ? (view + threadCount - 1) / threadCount : length
    }

    /// Up to `attentionTileRows` query rows sharing one KV head, in f32 as llama.cpp's tiled path;
    /// each key and value row is read once for all of them.
    public func attendTile(_ rows: UnsafeBufferPointer<AttentionTileRow>, element: AttentionElement, keys: UnsafeRawPointer,
                           values: UnsafeRawPointer, rowBytes: Int, headDimension: Int, scale: Float) {
        withUnsafeTemporaryAllocation(of: forge_attention_row.self, capacity: rows.count) { cRows in
            for (i, row) in rows.enumerated() {
                cRows[i] = forge_attention_row(query: row.query, output: row.output, length: Int64(row.length), first: Int64(row.first))
            }
            let status = forge_attention_tile(variant.isa, cRows.baseAddress, Int32(rows.count), element.ggmlType, keys, values,
                                              rowBytes, Int64(headDimension), scale)
            // The caller's shapes come from a validated model, so the one failure left is allocation.
            if status != 0 {
                fatalError("attention tile of \(rows.count) rows, head dimension \(headDimension): out of memory or out of range")
            }
        }
    }
}
