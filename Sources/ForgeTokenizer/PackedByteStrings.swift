/// Byte strings numbered from 0, stored end to end in one buffer. A vocabulary's texts and pieces
/// as one array each instead of an array per token: SmolLM2's 49,152 tokens took 2.6 MB each way
/// as `[[UInt8]]`, and take about 0.6 MB packed.
struct PackedByteStrings: RandomAccessCollection, Sendable {
    private var storage: [UInt8] = []
    private var ends: [Int] = []

    init<Strings: Sequence>(_ strings: Strings) where Strings.Element: Collection<UInt8> {
        for string in strings {
            storage.append(contentsOf: string)
            ends.append(storage.count)
        }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { ends.count }

    subscript(index: Int) -> ArraySlice<UInt8> {
        storage[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
    }
}
