/// Holds back text that could be the start of a stop string, and cuts the output at the first
/// complete one.
struct StopStringMatcher {
    let stopStrings: [String]
    private var pending = ""

    init(stopStrings: [String]) {
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
    }

    /// Returns the text that is now safe to show, and whether a stop string was completed.
    mutating func feed(_ text: String) -> (String, Bool) {
        guard !stopStrings.isEmpty else { return (text, false) }
        pending += text
        if let match = stopStrings.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let visible = String(pending[..<match.lowerBound])
            pending = ""
            return (visible, true)
        }
        // Keep the longest suffix that is a prefix of some stop string.
        var keep = 0
        for stop in stopStrings {
            for length in stride(from: min(stop.count, pending.count), to: 0, by: -1) where pending.hasSuffix(stop.prefix(length)) {
                keep = max(keep, length)
                break
            }
        }
        let visible = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return (visible, false)
    }

    /// Releases what was held back (generation ended without completing a stop string).
    mutating func finish(_ text: String = "") -> String {
        let (visible, stopped) = feed(text)
        if stopped { return visible }
        defer { pending = "" }
        return visible + pending
    }
}
