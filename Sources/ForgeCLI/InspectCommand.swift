import ArgumentParser
import Foundation
import ForgeGGUF

/// `forge inspect FILE [--tensors] [--json]`: what a GGUF file holds, without loading weights.
public struct Inspect: ParsableCommand {
    public static let configuration = CommandConfiguration(
        abstract: "Describe a GGUF file: architecture, hyperparameters, tokenizer, metadata and tensors.",
        discussion: """
            --json prints one object with `metadata` (every key in file order; arrays longer than \
            16 as {"type", "length", "head"}), `tensors` (name, type, shape, offset from the start \
            of the file, bytes) and `totals` (tensors, bytes, parameters, tensor count per type).
            """
    )

    @Argument(help: "The GGUF file.")
    var file: String

    @Flag(help: "List every tensor with its type, shape and size.")
    var tensors = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    public init() {}

    public func run() throws {
        do {
            print(try output(), terminator: "")
        } catch let error as GGUFError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The whole report, as `run` prints it.
    public func output() throws -> String {
        let report = InspectReport(try GGUFFile(path: file))
        return json ? report.json() : report.text(listingTensors: tensors)
    }
}

/// Renders a parsed file as text or JSON.
struct InspectReport {
    /// Arrays longer than this are summarised by type, length and their first elements.
    static let arrayHeadLength = 16
    /// Strings longer than this are cut in the text report (the JSON has them whole).
    static let textStringLimit = 120

    let file: GGUFFile

    init(_ file: GGUFFile) { self.file = file }

    /// Tensor count per type name, sorted by name.
    var typeCounts: [(name: String, count: Int)] {
        Dictionary(file.tensors.map { ($0.type.name, 1) }, uniquingKeysWith: +)
            .sorted { $0.key < $1.key }
            .map { ($0.key, $0.value) }
    }

    // MARK: Text

    func text(listingTensors: Bool) -> String {
        var lines: [String] = []
        lines.append("\(file.path ?? "GGUF file"): GGUF v\(file.version), \(file.fileSize) bytes (\(Self.humanBytes(file.fileSize)))")
        let architecture = (try? file.string("general.architecture")) ?? "unknown"
        lines.append("")
        lines.append("Architecture: \(architecture)" + ((try? file.string("general.name")).map { ", name \(Self.quoted($0))" } ?? ""))
        let prefix = architecture + "."
        for key in file.keys where key.hasPrefix(prefix) {
            lines.append("  \(key.dropFirst(prefix.count)): \(textValue(file.metadata[key]))")
        }

        lines.append("")
        lines.append("Tokenizer:")
        lines += tokenizerLines()
        let template = try? file.string("tokenizer.chat_template")
        lines.append("Chat template: " + (template.map { "present, \($0.count) characters" } ?? "absent"))

        lines.append("")
        lines.append("Metadata (\(file.keys.count) keys):")
        for key in file.keys {
            lines.append("  \(key) = \(textValue(file.metadata[key]))")
        }

        if listingTensors {
            lines.append("")
            lines.append("Tensors:")
            let rows = file.tensors.map { [$0.name, $0.type.name, "[" + $0.shape.map(String.init).joined(separator: ", ") + "]", String($0.byteCount)] }
            lines += Self.table(header: ["name", "type", "shape", "bytes"], rows: rows, rightAligned: [3])
        }

        lines.append("")
        lines.append("Totals: \(file.tensors.count) tensors, \(file.tensorByteCount) bytes (\(Self.humanBytes(file.tensorByteCount))), \(file.tensorElementCount) parameters (\(Self.humanCount(file.tensorElementCount)))")
        lines.append("  by type: " + typeCounts.map { "\($0.name) \($0.count)" }.joined(separator: ", "))
        return lines.joined(separator: "\n") + "\n"
    }

    private func tokenizerLines() -> [String] {
        guard file.keys.contains(where: { $0.hasPrefix("tokenizer.ggml.") }) else { return ["  none"] }
        let tokens = try? file.stringArray("tokenizer.ggml.tokens")
        var lines: [String] = []
        let model = (try? file.string("tokenizer.ggml.model")) ?? "unknown"
        let pre = (try? file.string("tokenizer.ggml.pre")).map { ", pre-tokenizer \($0)" } ?? ""
        lines.append("  model \(model)\(pre)")
        let merges = (try? file.stringArray("tokenizer.ggml.merges")).map { ", \($0.count) merges" } ?? ""
        lines.append("  vocabulary \(tokens?.count ?? 0) tokens\(merges)")
        for (label, key) in [("BOS", "tokenizer.ggml.bos_token_id"), ("EOS", "tokenizer.ggml.eos_token_id")] {
            guard let id = try? file.integer(key) else { continue }
            let text = tokens.flatMap { $0.indices.contains(id) ? Self.quoted($0[id]) : nil } ?? "(not in the vocabulary)"
            let added = (try? file.bool("tokenizer.ggml.add_\(label.lowercased())_token")).map { $0 ? ", added" : ", not added" } ?? ""
            lines.append("  \(label) \(id) \(text)\(added)")
        }
        return lines
    }

    private func textValue(_ value: GGUFValue?) -> String {
        guard let value else { return "" }
        switch value {
        case .string(let string):
            guard string.count > Self.textStringLimit else { return Self.quoted(string) }
            return Self.quoted(String(string.prefix(Self.textStringLimit))) + "… (\(string.count) characters)"
        case .array(let array):
            return textArray(array)
        default:
            return Self.scalarJSON(value)
        }
    }

    private func textArray(_ array: GGUFArray) -> String {
        let shown = min(array.count, Self.arrayHeadLength)
        let elements = (0..<shown).map { index -> String in
            if case .array(let nested) = array[index] { return textArray(nested) }
            return textValue(array[index])
        }
        if array.count <= Self.arrayHeadLength {
            return "[" + elements.joined(separator: ", ") + "]"
        }
        return "\(array.elementType)[\(array.count)] [" + elements.joined(separator: ", ") + ", …]"
    }

    // MARK: JSON

    func json() -> String {
        var out = "{\n  \"metadata\": {"
        for (index, key) in file.keys.enumerated() {
            out += index == 0 ? "\n" : ",\n"
            out += "    " + JSONText.string(key) + ": " + jsonValue(file.metadata[key])
        }
        out += file.keys.isEmpty ? "},\n" : "\n  },\n"
        out += "  \"tensors\": ["
        for (index, tensor) in file.tensors.enumerated() {
            out += index == 0 ? "\n" : ",\n"
            let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
            out += "    {\"name\": \(JSONText.string(tensor.name)), \"type\": \"\(tensor.type.name)\", \"shape\": \(shape), "
            out += "\"offset\": \(file.dataOffset + tensor.offset), \"bytes\": \(tensor.byteCount)}"
        }
        out += file.tensors.isEmpty ? "],\n" : "\n  ],\n"
        let types = typeCounts.map { "\(JSONText.string($0.name)): \($0.count)" }.joined(separator: ", ")
        out += "  \"totals\": {\"tensors\": \(file.tensors.count), \"bytes\": \(file.tensorByteCount), \"parameters\": \(file.tensorElementCount), \"types\": {\(types)}}\n"
        out += "}\n"
        return out
    }

    private func jsonValue(_ value: GGUFValue?) -> String {
        guard let value else { return "null" }
        switch value {
        case .string(let string): return JSONText.string(string)
        case .array(let array): return jsonArray(array)
        default: return Self.scalarJSON(value)
        }
    }

    private func jsonArray(_ array: GGUFArray) -> String {
        let shown = min(array.count, Self.arrayHeadLength)
        let elements = "[" + (0..<shown).map { jsonValue(array[$0]) }.joined(separator: ", ") + "]"
        if array.count <= Self.arrayHeadLength { return elements }
        return "{\"type\": \"\(array.elementType)\", \"length\": \(array.count), \"head\": \(elements)}"
    }

    /// A number or bool as JSON; floats JSON cannot express (NaN, infinities) become strings.
    private static func scalarJSON(_ value: GGUFValue) -> String {
        switch value {
        case .uint8(let v): String(v)
        case .int8(let v): String(v)
        case .uint16(let v): String(v)
        case .int16(let v): String(v)
        case .uint32(let v): String(v)
        case .int32(let v): String(v)
        case .uint64(let v): String(v)
        case .int64(let v): String(v)
        case .float32(let v): v.isFinite ? "\(v)" : JSONText.string("\(v)")
        case .float64(let v): v.isFinite ? "\(v)" : JSONText.string("\(v)")
        case .bool(let v): v ? "true" : "false"
        case .string(let v): JSONText.string(v)
        case .array: "null"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    // MARK: Formatting

    /// Text in quotes with escapes, so that tokens like "\n" or "Ġ" stay visible.
    private static func quoted(_ string: String) -> String { JSONText.string(string) }

    static func humanBytes(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
    }

    static func humanCount(_ count: Int) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        for (scale, suffix) in units where Double(count) >= scale {
            return "\((Double(count) / scale * 100).rounded() / 100)\(suffix)"
        }
        return String(count)
    }

    private static func table(header: [String], rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            "  " + row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return rightAligned.contains(column) ? padding + row[column] : row[column] + padding
            }.joined(separator: "  ").replacingTrailingSpaces()
        }
    }
}

private extension String {
    func replacingTrailingSpaces() -> String {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }
}
