/// Turns tokens into text as they are generated, never cutting a UTF-8 character that is split
/// across tokens: bytes of an incomplete character are held until the rest arrives.
///
/// Each token contributes what `Tokenizer.tokenBytes` gives (control and unknown tokens only with
/// `showSpecial`), like llama.cpp's per-token pieces; `Tokenizer.decode` additionally applies the
/// vocabulary's space clean-up, which needs the whole text.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private let showSpecial: Bool
    private var pending: [UInt8] = []
    private var isFirst = true

    public init(tokenizer: Tokenizer, showSpecial: Bool) {
        self.tokenizer = tokenizer
        self.showSpecial = showSpecial
    }

    /// The text that became complete with this token (possibly empty). Ids outside the vocabulary
    /// contribute nothing.
    public mutating func append(_ id: Int) -> String {
        tokenizer.appendText(of: id, showSpecial: showSpecial, isFirst: isFirst, to: &pending)
        isFirst = false
        let held = StreamingDecoder.incompleteSuffixLength(pending)
        let ready = pending.count - held
        guard ready > 0 else { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Everything still held, with an unfinished character replaced by U+FFFD.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of a trailing sequence that is a valid start of a UTF-8 character but not yet all
    /// of it (0 when the bytes end on a character boundary or with bytes that can never be valid).
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        guard count > 0 else { return 0 }
        for back in 1...min(3, count) {
            let byte = bytes[count - back]
            if byte & 0xC0 == 0x80 { continue }
            let needed: Int
            switch byte {
            case 0xC2...0xDF: needed = 2
            case 0xE0...0xEF: needed = 3
            case 0xF0...0xF4: needed = 4
            default: return 0
            }
            guard needed > back else { return 0 }
            if back >= 2 {
                let second = bytes[count - back + 1]
                let allowed: ClosedRange<UInt8> = switch byte {
                case 0xE0: 0xA0...0xBF
                case 0xED: 0x80...0x9F
                case 0xF0: 0x90...0xBF
                case 0xF4: 0x80...0x8F
                default: 0x80...0xBF
                }
                guard allowed.contains(second) else { return 0 }
            }
            return back
        }
        return 0
    }
}
