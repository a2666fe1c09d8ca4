/// GBNF for the decimal integers between two bounds, written as JSON writes them (no leading
/// zeros, no "-0"): fixed-length ranges split digit by digit where the bounds differ.
enum IntegerRange {
    /// Either bound may be nil (unbounded on that side).
    static func gbnf(minimum: Int64?, maximum: Int64?) -> String {
        var alternatives: [String] = []
        if (maximum ?? 0) >= 0 {
            alternatives += nonNegative(from: UInt64(max(minimum ?? 0, 0)), through: maximum.map { UInt64($0) })
        }
        if (minimum ?? -1) < 0 {
            let smallest: UInt64 = maximum.map { $0 < 0 ? $0.magnitude : 1 } ?? 1
            let magnitudes = nonNegative(from: smallest, through: minimum?.magnitude)
            alternatives.append(#""-" ("# + magnitudes.joined(separator: " | ") + ")")
        }
        return alternatives.joined(separator: " | ")
    }

    /// Alternatives for low...high (high nil: no upper bound).
    private static func nonNegative(from low: UInt64, through high: UInt64?) -> [String] {
        let lowDigits = Array(String(low).utf8)
        guard let high else {
            let length = lowDigits.count
            return [sameLength(lowDigits, Array(repeating: UInt8(ascii: "9"), count: length)), "[1-9] [0-9]{\(length),}"]
        }
        let highDigits = Array(String(high).utf8)
        var alternatives: [String] = []
        for length in lowDigits.count...highDigits.count {
            let from = length == lowDigits.count ? lowDigits : [UInt8(ascii: "1")] + Array(repeating: UInt8(ascii: "0"), count: length - 1)
            let through = length == highDigits.count ? highDigits : Array(repeating: UInt8(ascii: "9"), count: length)
            alternatives.append(sameLength(from, through))
        }
        return alternatives
    }

    /// The numbers from `low` through `high`, digit strings of one length.
    private static func sameLength(_ low: [UInt8], _ high: [UInt8]) -> String {
        var common = 0
        while common < low.count && low[common] == high[common] { common += 1 }
        let prefix = common > 0 ? "\"" + String(decoding: low[..<common], as: UTF8.self) + "\"" : ""
        guard common < low.count else { return prefix }
        let (first, last) = (low[common], high[common])
        let rest = low.count - common - 1
        var parts: [String] = []
        if rest == 0 {
            parts = [range(first, last)]
        } else {
            let lowRest = Array(low[(common + 1)...])
            let highRest = Array(high[(common + 1)...])
            let lowIsZeros = lowRest.allSatisfy { $0 == UInt8(ascii: "0") }
            let highIsNines = highRest.allSatisfy { $0 == UInt8(ascii: "9") }
            var (fullFirst, fullLast) = (first, last)
            if !lowIsZeros {
                parts.append(range(first, first) + " (" + sameLength(lowRest, Array(repeating: UInt8(ascii: "9"), count: rest)) + ")")
                fullFirst += 1
            }
            if !highIsNines { fullLast -= 1 }
            if fullFirst <= fullLast { parts.append(range(fullFirst, fullLast) + (rest == 1 ? " [0-9]" : " [0-9]{\(rest)}")) }
            if !highIsNines {
                parts.append(range(last, last) + " (" + sameLength(Array(repeating: UInt8(ascii: "0"), count: rest), highRest) + ")")
            }
        }
        let body = parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " | ") + ")"
        return prefix.isEmpty ? body : prefix + " " + body
    }

    private static func range(_ first: UInt8, _ last: UInt8) -> String {
        let (a, b) = (String(UnicodeScalar(first)), String(UnicodeScalar(last)))
        return first == last ? "[\(a)]" : "[\(a)-\(b)]"
    }
}
