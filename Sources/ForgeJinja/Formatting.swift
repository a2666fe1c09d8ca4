import Foundation

/// Python's printf-style `format % values` and `str.format`, for the conversions templates use.
extension Renderer {
    func percentFormat(_ format: String, _ values: Value) throws -> String {
        var positional: [Value]
        var mapping: Dict?
        // Python treats any subscriptable non-tuple argument as a mapping and then ignores unused ones.
        var ignoresUnusedArguments = false
        switch values {
        case .tuple(let elements): positional = elements
        case .dict(let dict): positional = [values]; mapping = dict; ignoresUnusedArguments = true
        case .list: positional = [values]; ignoresUnusedArguments = true
        default: positional = [values]
        }
        var nextArgument = 0
        var result = ""
        let scalars = Array(format.unicodeScalars)
        var index = 0
        func nextValue() throws -> Value {
            guard nextArgument < positional.count else { throw error("not enough arguments for format string") }
            defer { nextArgument += 1 }
            return positional[nextArgument]
        }
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            guard scalar == "%" else {
                result.unicodeScalars.append(scalar)
                continue
            }
            var value: Value?
            if index < scalars.count, scalars[index] == "(" {
                guard let close = scalars[index...].firstIndex(of: ")") else { throw error("incomplete format key") }
                let key = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
                guard let mapping else { throw error("format requires a mapping") }
                guard let found = mapping[key] else { throw error("KeyError: \(pythonStringRepr(key))") }
                value = found
                index = close + 1
            }
            var spec = FormatSpec()
            while index < scalars.count, "-+ #0".unicodeScalars.contains(scalars[index]) {
                switch scalars[index] {
                case "-": spec.align = "<"
                case "+": spec.sign = "+"
                case " ": spec.sign = " "
                case "0": spec.zeroPad = true
                default: break
                }
                index += 1
            }
            if spec.align == nil { spec.align = ">" }
            spec.width = readNumber(scalars, &index)
            if index < scalars.count, scalars[index] == "." {
                index += 1
                spec.precision = readNumber(scalars, &index) ?? 0
            }
            while index < scalars.count, "hlL".unicodeScalars.contains(scalars[index]) { index += 1 }
            guard index < scalars.count else { throw error("incomplete format") }
            let conversion = scalars[index]
            index += 1
            if conversion == "%" {
                result += "%"
                continue
            }
            let argument = try value ?? nextValue()
            result += try formatValue(argument, conversion: conversion, spec: spec, percentStyle: true)
        }
        if !ignoresUnusedArguments, nextArgument < positional.count {
            throw error("not all arguments converted during string formatting")
        }
        return result
    }

    /// `str.format` with `{}`, `{0}`, `{name}`, `!r`/`!s` and a format spec.
    func strFormat(_ format: String, _ arguments: CallArguments) throws -> String {
        let scalars = Array(format.unicodeScalars)
        var result = ""
        var index = 0
        var automatic = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "}" {
                guard index + 1 < scalars.count, scalars[index + 1] == "}" else { throw error("single '}' encountered in format string") }
                result += "}"
                index += 2
                continue
            }
            guard scalar == "{" else {
                result.unicodeScalars.append(scalar)
                index += 1
                continue
            }
            if index + 1 < scalars.count, scalars[index + 1] == "{" {
                result += "{"
                index += 2
                continue
            }
            guard let close = scalars[index...].firstIndex(of: "}") else { throw error("single '{' encountered in format string") }
            let field = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
            index = close + 1
            var name = field, specText = "", conversion: Character?
            if let colon = name.firstIndex(of: ":") {
                specText = String(name[name.index(after: colon)...])
                name = String(name[..<colon])
            }
            if let bang = name.firstIndex(of: "!") {
                conversion = name[name.index(after: bang)...].first
                name = String(name[..<bang])
            }
            var value: Value
            if name.isEmpty {
                guard automatic < arguments.positional.count else { throw error("Replacement index \(automatic) out of range for positional args tuple") }
                value = arguments.positional[automatic]
                automatic += 1
            } else if let position = Int(name) {
                guard position < arguments.positional.count else { throw error("Replacement index \(position) out of range for positional args tuple") }
                value = arguments.positional[position]
            } else {
                guard let found = arguments.keyword.first(where: { $0.name == name })?.value else { throw error("KeyError: \(pythonStringRepr(name))") }
                value = found
            }
            if conversion == "r" { value = .string(value.repr) }
            if conversion == "s" { value = .string(value.text) }
            result += try formatValue(value, spec: try parseFormatSpec(specText))
        }
        return result
    }

    private func readNumber(_ scalars: [Unicode.Scalar], _ index: inout Int) -> Int? {
        var number: Int?
        while index < scalars.count, let digit = Int(String(scalars[index])), digit >= 0, digit <= 9 {
            number = min((number ?? 0) * 10 + digit, 1 << 20)
            index += 1
        }
        return number
    }

    private func parseFormatSpec(_ text: String) throws -> FormatSpec {
        var spec = FormatSpec()
        var scalars = Array(text.unicodeScalars)[...]
        if scalars.count >= 2, "<>^=".unicodeScalars.contains(scalars[scalars.startIndex + 1]) {
            spec.fill = scalars.removeFirst()
            spec.align = scalars.removeFirst()
        } else if let first = scalars.first, "<>^=".unicodeScalars.contains(first) {
            spec.align = scalars.removeFirst()
        }
        if let first = scalars.first, "+- ".unicodeScalars.contains(first) {
            spec.sign = first == "-" ? nil : first
            scalars.removeFirst()
        }
        if scalars.first == "0" {
            spec.zeroPad = true
            scalars.removeFirst()
        }
        var array = Array(scalars)
        var index = 0
        spec.width = readNumber(array, &index)
        if index < array.count, array[index] == "." {
            index += 1
            spec.precision = readNumber(array, &index) ?? 0
        }
        array = Array(array[index...])
        guard array.count <= 1 else { throw error("invalid format specifier '\(text)'") }
        spec.type = array.first
        return spec
    }

    private func formatValue(_ value: Value, spec: FormatSpec) throws -> String {
        guard let type = spec.type else {
            if case .double = value, spec.precision != nil { return try formatValue(value, conversion: "g", spec: spec, percentStyle: false) }
            return pad(value.text, spec, numeric: value.numericValue != nil && !isString(value))
        }
        return try formatValue(value, conversion: type, spec: spec, percentStyle: false)
    }

    private func isString(_ value: Value) -> Bool {
        if case .string = value { return true }
        return false
    }

    private func formatValue(_ value: Value, conversion: Unicode.Scalar, spec: FormatSpec, percentStyle: Bool) throws -> String {
        switch conversion {
        case "s":
            var text = value.text
            if let precision = spec.precision { text = String(text.unicodeScalars.prefix(precision).map(Character.init)) }
            return pad(text, spec, numeric: false)
        case "r", "a":
            return pad(value.repr, spec, numeric: false)
        case "d", "i", "u":
            let integer: Int
            if let i = value.integerValue {
                integer = i
            } else if case .double(let d) = value, percentStyle, d.isFinite, let truncated = Int(exactly: d.rounded(.towardZero)) {
                integer = truncated
            } else {
                throw error("%\(conversion) format: a real number is required, not \(value.typeName)")
            }
            return pad(signed(String(integer.magnitude), negative: integer < 0, spec), spec, numeric: true)
        case "x", "X", "o", "b":
            guard let integer = value.integerValue else { throw error("%\(conversion) format: an integer is required, not \(value.typeName)") }
            let radix = conversion == "o" ? 8 : conversion == "b" ? 2 : 16
            var digits = String(integer.magnitude, radix: radix)
            if conversion == "X" { digits = digits.uppercased() }
            return pad(signed(digits, negative: integer < 0, spec), spec, numeric: true)
        case "f", "F", "e", "E", "g", "G", "%":
            guard let number = value.numericValue else { throw error("must be real number, not \(value.typeName)") }
            let precision = spec.precision ?? 6
            var text: String
            if conversion == "%" {
                text = String(format: "%.\(precision)f", (number * 100).magnitude) + "%"
            } else {
                text = String(format: "%.\(precision)\(Character(conversion))", number.magnitude)
            }
            if number.isNaN { text = conversion == "F" || conversion == "E" || conversion == "G" ? "NAN" : "nan" }
            return pad(signed(text, negative: number.sign == .minus && !number.isNaN, spec), spec, numeric: true)
        case "c":
            if let code = value.integerValue, let scalar = Unicode.Scalar(UInt32(clamping: max(0, code))) {
                return pad(String(Character(scalar)), spec, numeric: false)
            }
            return pad(value.text, spec, numeric: false)
        default:
            throw error("unsupported format character '\(Character(conversion))'")
        }
    }

    private func signed(_ digits: String, negative: Bool, _ spec: FormatSpec) -> String {
        if negative { return "-" + digits }
        if let sign = spec.sign { return String(Character(sign)) + digits }
        return digits
    }

    private func pad(_ text: String, _ spec: FormatSpec, numeric: Bool) -> String {
        let length = text.unicodeScalars.count
        guard let width = spec.width, width > length else { return text }
        let padding = width - length
        if spec.zeroPad, numeric, spec.align != "<", spec.align != "^" {
            let hasSign = text.first == "-" || text.first == "+" || text.first == " "
            let sign = hasSign ? String(text.prefix(1)) : ""
            return sign + String(repeating: "0", count: padding) + text.dropFirst(hasSign ? 1 : 0)
        }
        let fill = String(Character(spec.fill))
        switch spec.align ?? (numeric ? ">" : "<") {
        case ">": return String(repeating: fill, count: padding) + text
        case "^":
            let left = padding / 2
            return String(repeating: fill, count: left) + text + String(repeating: fill, count: padding - left)
        default: return text + String(repeating: fill, count: padding)
        }
    }
}

struct FormatSpec {
    var fill: Unicode.Scalar = " "
    var align: Unicode.Scalar?
    var sign: Unicode.Scalar?
    var zeroPad = false
    var width: Int?
    var precision: Int?
    var type: Unicode.Scalar?
}

private let weekdayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
private let monthNames = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
]

/// Days since 1970-01-01 in the proleptic Gregorian calendar.
private func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

/// C `strftime` in the C locale for the directives chat templates use, with glibc's `-` flag (no padding).
func strftime(_ format: String, _ date: TemplateDate) -> String {
    let month = min(max(date.month, 1), 12)
    let days = daysFromCivil(date.year, month, date.day)
    let weekday = ((days % 7) + 7 + 3) % 7  // 1970-01-01 was a Thursday; Monday is 0.
    let dayOfYear = days - daysFromCivil(date.year, 1, 1) + 1
    let hour12 = date.hour % 12 == 0 ? 12 : date.hour % 12
    var result = ""
    var scalars = format.unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
        guard scalar == "%" else {
            result.unicodeScalars.append(scalar)
            continue
        }
        guard var directive = scalars.next() else {
            result += "%"
            break
        }
        var unpadded = false
        if directive == "-", let next = scalars.next() {
            unpadded = true
            directive = next
        }
        func number(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return unpadded ? digits : String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        switch directive {
        case "Y": result += String(date.year)
        case "y": result += number(((date.year % 100) + 100) % 100, 2)
        case "m": result += number(month, 2)
        case "d": result += number(date.day, 2)
        case "e": result += unpadded ? String(date.day) : (date.day < 10 ? " " : "") + String(date.day)
        case "H": result += number(date.hour, 2)
        case "I": result += number(hour12, 2)
        case "M": result += number(date.minute, 2)
        case "S": result += number(date.second, 2)
        case "j": result += number(dayOfYear, 3)
        case "p": result += date.hour < 12 ? "AM" : "PM"
        case "B": result += monthNames[month - 1]
        case "b", "h": result += String(monthNames[month - 1].prefix(3))
        case "A": result += weekdayNames[weekday]
        case "a": result += String(weekdayNames[weekday].prefix(3))
        case "u": result += String(weekday + 1)
        case "w": result += String((weekday + 1) % 7)
        case "F": result += "\(date.year)-\(number(month, 2))-\(number(date.day, 2))"
        case "D": result += "\(number(month, 2))/\(number(date.day, 2))/\(number(((date.year % 100) + 100) % 100, 2))"
        case "T": result += "\(number(date.hour, 2)):\(number(date.minute, 2)):\(number(date.second, 2))"
        case "R": result += "\(number(date.hour, 2)):\(number(date.minute, 2))"
        case "%": result += "%"
        case "n": result += "\n"
        case "t": result += "\t"
        default:
            result += "%"
            if unpadded { result += "-" }
            result.unicodeScalars.append(directive)
        }
    }
    return result
}
