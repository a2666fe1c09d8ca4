import Foundation

/// Converts a JSON schema to GBNF, with llama.cpp's json-schema-to-grammar as the reference for
/// what each keyword becomes:
/// - objects list required properties first, then optional ones, each in schema order; without
///   `additionalProperties`, an object with `properties` allows no other key (llama.cpp's
///   choice), one without is any object;
/// - whitespace is optional and bounded (one space, or a newline and up to 20 spaces or tabs)
///   after `{ [ , :`, before `} ]` and between a key and its colon, so it cannot run forever;
/// - integers honour `minimum`/`maximum` (and the exclusive forms) exactly; other numbers only
///   lose their sign when `minimum` ≥ 0; `oneOf` is `anyOf`; `pattern` is a regular-expression
///   subset (see `RegexConverter`).
struct JSONSchemaConverter {
    private enum Primitive: String, CaseIterable {
        case space, char, string, number, integer, boolean, null, value, object, array
        case integralPart = "integral-part", decimalPart = "decimal-part"
        case date, time, dateTime = "date-time", uuid
        case dateString = "date-string", timeString = "time-string", dateTimeString = "date-time-string"
    }

    private let document: JSONValue
    private let rootName: String
    /// Put before every helper rule's name, so the rules of several schemas can share a grammar.
    private let prefix: String
    private let reservedNames: Set<String>
    private var ruleOrder: [String] = []
    private var rules: [String: String] = [:]
    private var referenceRules: [String: String] = [:]

    private init(document: JSONValue, rootName: String) {
        self.document = document
        self.rootName = rootName
        prefix = rootName == "root" ? "" : rootName + "-"
        reservedNames = Set(Primitive.allCases.map { (rootName == "root" ? "" : rootName + "-") + $0.rawValue })
    }

    static func convert(schemaText: String, ruleName: String) throws -> String {
        let sanitized = sanitize(ruleName)
        guard !sanitized.isEmpty, sanitized == ruleName else {
            throw GrammarError("'\(ruleName)' is not a rule name (letters, digits and '-' only)")
        }
        var converter = JSONSchemaConverter(document: try JSONParser.parse(schemaText), rootName: ruleName)
        return try converter.run()
    }

    private mutating func run() throws -> String {
        rules[rootName] = ""
        ruleOrder.append(rootName)
        rules[rootName] = try expression(document, path: "#", name: rootName)
        return ruleOrder.map { "\($0) ::= \(rules[$0] ?? "")" }.joined(separator: "\n") + "\n"
    }

    // MARK: Rules

    private static func sanitize(_ name: String) -> String {
        var result = ""
        var lastWasDash = false
        for scalar in name.unicodeScalars {
            let keep = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            if keep {
                result.unicodeScalars.append(scalar)
                lastWasDash = false
            } else if !lastWasDash {
                result += "-"
                lastWasDash = true
            }
        }
        return result
    }

    /// A free rule name close to `wanted`.
    private func uniqueName(_ wanted: String) -> String {
        let base = JSONSchemaConverter.sanitize(wanted)
        var name = base
        var counter = 1
        while rules[name] != nil || reservedNames.contains(name) || name == rootName {
            name = "\(base)\(counter)"
            counter += 1
        }
        return name
    }

    private mutating func addRule(_ wanted: String, _ body: String) -> String {
        let name = uniqueName(wanted)
        rules[name] = body
        ruleOrder.append(name)
        return name
    }

    private func childName(_ parent: String, _ suffix: String) -> String {
        parent == rootName ? prefix + suffix : parent + "-" + suffix
    }

    /// A rule for `schema`: its name, or a primitive's.
    private mutating func visit(_ schema: JSONValue, path: String, name: String) throws -> String {
        let body = try expression(schema, path: path, name: name)
        if rules[body] != nil { return body }
        return addRule(name, body)
    }

    private mutating func primitive(_ kind: Primitive) -> String {
        let name = prefix + kind.rawValue
        if rules[name] != nil { return name }
        rules[name] = ""
        ruleOrder.append(name)
        let body: String
        switch kind {
        case .space:
            body = #"| " " | "\n" [ \t]{0,20}"#
        case .char:
            body = #"[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#
        case .string:
            body = #""\"" \#(primitive(.char))* "\"""#
        case .integralPart:
            body = "[0] | [1-9] [0-9]{0,15}"
        case .decimalPart:
            body = "[0-9]{1,16}"
        case .number:
            let integral = primitive(.integralPart)
            body = #""-"? \#(integral) ("." \#(primitive(.decimalPart)))? ([eE] [-+]? \#(integral))?"#
        case .integer:
            body = #""-"? \#(primitive(.integralPart))"#
        case .boolean:
            body = #""true" | "false""#
        case .null:
            body = #""null""#
        case .value:
            body = [Primitive.object, .array, .string, .number, .boolean, .null].map { primitive($0) }.joined(separator: " | ")
        case .object:
            let (space, string, value) = (primitive(.space), primitive(.string), primitive(.value))
            let member = #"\#(string) \#(space) ":" \#(space) \#(value)"#
            body = #""{" \#(space) (\#(member) ("," \#(space) \#(member))*)? \#(space) "}""#
        case .array:
            let (space, value) = (primitive(.space), primitive(.value))
            body = #""[" \#(space) (\#(value) ("," \#(space) \#(value))*)? \#(space) "]""#
        case .date:
            body = #"[0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])"#
        case .time:
            body = #"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,9})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])"#
        case .dateTime:
            body = #"\#(primitive(.date)) "T" \#(primitive(.time))"#
        case .uuid:
            body = #""\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\"""#
        case .dateString:
            body = #""\"" \#(primitive(.date)) "\"""#
        case .timeString:
            body = #""\"" \#(primitive(.time)) "\"""#
        case .dateTimeString:
            body = #""\"" \#(primitive(.dateTime)) "\"""#
        }
        rules[name] = body
        return name
    }

    // MARK: GBNF text

    /// A GBNF string literal matching `text` exactly.
    static func literal(_ text: String) -> String {
        doubleQuoted(text, isControl: { $0 < 0x20 || $0 == 0x7F }, escape: hexEscape)
    }

    /// A GBNF character class holding exactly `set`.
    static func characterClass(_ set: CodePointSet) -> String {
        func character(_ value: UInt32) -> String {
            switch value {
            case 0x5C: return "\\\\"
            case 0x5D: return "\\]"
            case 0x2D: return "\\-"
            case 0x5E: return "\\^"
            case 0x22: return "\\\""
            case 0x20..<0x7F: return String(UnicodeScalar(UInt8(value)))
            default: return hexEscape(value)
            }
        }
        return "[" + set.ranges.map { range in
            range.lowerBound == range.upperBound ? character(range.lowerBound) : character(range.lowerBound) + "-" + character(range.upperBound)
        }.joined() + "]"
    }

    private static func hexEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        if value < 0x100 { return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex }
        if value < 0x10000 { return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex }
        return "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// `item` repeated `minimum` to `maximum` (nil: unbounded) times.
    static func repeated(_ item: String, minimum: Int, maximum: Int?) -> String {
        switch (minimum, maximum) {
        case (_, 0?): return #""""#
        case (0, nil): return item + "*"
        case (1, nil): return item + "+"
        case (0, 1?): return item + "?"
        case (1, 1?): return item
        case (let low, nil): return item + "{\(low),}"
        case (let low, let high?) where low == high: return item + "{\(low)}"
        case (let low, let high?): return item + "{\(low),\(high)}"
        }
    }

    /// Items separated by a comma (and optional space), `minimum` to `maximum` of them.
    private mutating func separated(_ item: String, minimum: Int, maximum: Int?) -> String {
        if maximum == 0 { return #""""# }
        let rest = JSONSchemaConverter.repeated(#"("," \#(primitive(.space)) \#(item))"#, minimum: max(minimum - 1, 0), maximum: maximum.map { $0 - 1 })
        let all = rest == #""""# ? item : item + " " + rest
        return minimum == 0 ? "(" + all + ")?" : all
    }

    // MARK: Schemas

    private static func pointer(_ path: String, _ key: String) -> String {
        path + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private mutating func expression(_ schema: JSONValue, path: String, name: String) throws -> String {
        let members: [JSONValue.Member]
        switch schema {
        case .bool(true): return primitive(.value)
        case .bool(false): throw GrammarError.schema("the schema false accepts no value", path: path)
        case .object(let list): members = list
        default: throw GrammarError.schema("a schema must be an object or a boolean", path: path)
        }
        if members.isEmpty { return primitive(.value) }
        if let reference = schema["$ref"] { return try self.reference(reference, path: JSONSchemaConverter.pointer(path, "$ref")) }
        for key in ["anyOf", "oneOf"] {
            guard let options = schema[key] else { continue }
            let optionsPath = JSONSchemaConverter.pointer(path, key)
            guard case .array(let list) = options, !list.isEmpty else {
                throw GrammarError.schema("\(key) must be a non-empty array of schemas", path: optionsPath)
            }
            var alternatives: [String] = []
            for (index, option) in list.enumerated() {
                alternatives.append(try visit(option, path: optionsPath + "/\(index)", name: childName(name, "\(index)")))
            }
            return alternatives.joined(separator: " | ")
        }
        if case .array(let types)? = schema["type"] {
            guard !types.isEmpty else { throw GrammarError.schema("type must not be an empty list", path: JSONSchemaConverter.pointer(path, "type")) }
            var alternatives: [String] = []
            for (index, type) in types.enumerated() {
                guard case .string(let typeName) = type else {
                    throw GrammarError.schema("type names must be strings", path: JSONSchemaConverter.pointer(path, "type") + "/\(index)")
                }
                let single = JSONValue.object(members.map { $0.key == "type" ? JSONValue.Member(key: "type", value: type) : $0 })
                alternatives.append(try visit(single, path: JSONSchemaConverter.pointer(path, "type") + "/\(index)", name: childName(name, typeName)))
            }
            return alternatives.joined(separator: " | ")
        }
        if let value = schema["const"] { return JSONSchemaConverter.literal(value.serialized) }
        if let values = schema["enum"] {
            guard case .array(let list) = values, !list.isEmpty else {
                throw GrammarError.schema("enum must be a non-empty array", path: JSONSchemaConverter.pointer(path, "enum"))
            }
            return "(" + list.map { JSONSchemaConverter.literal($0.serialized) }.joined(separator: " | ") + ")"
        }
        let type: String?
        switch schema["type"] {
        case nil: type = nil
        case .string(let name)?: type = name
        default: throw GrammarError.schema("type must be a string or a list of strings", path: JSONSchemaConverter.pointer(path, "type"))
        }
        switch type {
        case nil:
            if schema.has("properties") || (schema.has("additionalProperties") && schema["additionalProperties"] != .bool(true)) {
                return try object(schema, path: path, name: name)
            }
            if schema.has("allOf") { return try allOf(schema, path: path, name: name) }
            if schema.has("items") || schema.has("prefixItems") { return try array(schema, path: path, name: name) }
            if ["pattern", "minLength", "maxLength", "format"].contains(where: schema.has) { return try string(schema, path: path) }
            return primitive(.value)
        case "object":
            if !schema.has("properties") && schema.has("allOf") { return try allOf(schema, path: path, name: name) }
            return try object(schema, path: path, name: name)
        case "array": return try array(schema, path: path, name: name)
        case "string": return try string(schema, path: path)
        case "integer": return try integer(schema, path: path)
        case "number": return try number(schema, path: path)
        case "boolean": return primitive(.boolean)
        case "null": return primitive(.null)
        case let other?:
            throw GrammarError.schema("unknown type '\(other)'", path: JSONSchemaConverter.pointer(path, "type"))
        }
    }

    /// A local reference (`#/$defs/Name`); recursion is fine, the rule is named before its body.
    private mutating func reference(_ value: JSONValue, path: String) throws -> String {
        guard case .string(let target) = value else { throw GrammarError.schema("$ref must be a string", path: path) }
        if let rule = referenceRules[target] { return rule }
        guard target == "#" || target.hasPrefix("#/") else {
            throw GrammarError.schema("only references inside the schema (#/...) are supported, not '\(target)'", path: path)
        }
        var resolved = document
        let keys = target == "#" ? [] : target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false)
        for rawKey in keys {
            let key = (String(rawKey).removingPercentEncoding ?? String(rawKey))
                .replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch resolved {
            case .object:
                guard let next = resolved[key] else { throw GrammarError.schema("'\(target)' points to nothing", path: path) }
                resolved = next
            case .array(let items):
                guard let index = Int(key), items.indices.contains(index) else {
                    throw GrammarError.schema("'\(target)' points to nothing", path: path)
                }
                resolved = items[index]
            default:
                throw GrammarError.schema("'\(target)' points to nothing", path: path)
            }
        }
        let rule = target == "#" ? rootName : uniqueName(prefix + "ref-" + String(target.dropFirst(2)))
        referenceRules[target] = rule
        guard rule != rootName else { return rule }
        rules[rule] = ""
        ruleOrder.append(rule)
        rules[rule] = try expression(resolved, path: target, name: rule)
        return rule
    }

    private func count(_ schema: JSONValue, _ key: String, path: String) throws -> Int? {
        guard let value = schema[key] else { return nil }
        guard let number = value.integerValue, number >= 0, number <= Int64(Int32.max) else {
            throw GrammarError.schema("\(key) must be a whole number, 0 or more", path: JSONSchemaConverter.pointer(path, key))
        }
        return Int(number)
    }

    private mutating func object(_ schema: JSONValue, path: String, name: String) throws -> String {
        var properties: [JSONValue.Member] = []
        if let value = schema["properties"] {
            guard case .object(let list) = value else {
                throw GrammarError.schema("properties must be an object", path: JSONSchemaConverter.pointer(path, "properties"))
            }
            properties = list
        }
        var required: [String] = []
        if let value = schema["required"] {
            guard case .array(let list) = value else {
                throw GrammarError.schema("required must be an array of property names", path: JSONSchemaConverter.pointer(path, "required"))
            }
            for (index, item) in list.enumerated() {
                guard case .string(let key) = item else {
                    throw GrammarError.schema("required must list property names", path: JSONSchemaConverter.pointer(path, "required") + "/\(index)")
                }
                if !required.contains(key) { required.append(key) }
            }
        }
        // A required name the properties do not describe may hold any value.
        for key in required where !properties.contains(where: { $0.key == key }) {
            properties.append(JSONValue.Member(key: key, value: .bool(true)))
        }
        let additional: JSONValue?
        switch schema["additionalProperties"] {
        case nil: additional = schema.has("properties") ? nil : .bool(true)
        case .bool(false)?: additional = nil
        case .bool(true)?: additional = .bool(true)
        case let value? where value.isObject: additional = value
        default:
            throw GrammarError.schema("additionalProperties must be a boolean or a schema",
                                      path: JSONSchemaConverter.pointer(path, "additionalProperties"))
        }
        if properties.isEmpty, additional == .bool(true) { return primitive(.object) }

        let space = primitive(.space)
        var requiredMembers: [String] = []
        var optionalMembers: [(rule: String, repeats: Bool)] = []
        let propertiesPath = JSONSchemaConverter.pointer(path, "properties")
        for property in properties {
            let valueRule = try visit(property.value, path: JSONSchemaConverter.pointer(propertiesPath, property.key),
                                      name: childName(name, property.key))
            let member = addRule(childName(name, property.key) + "-kv",
                                 JSONSchemaConverter.literal(JSONValue.quoted(property.key)) + #" \#(space) ":" \#(space) \#(valueRule)"#)
            if required.contains(property.key) {
                requiredMembers.append(member)
            } else {
                optionalMembers.append((member, false))
            }
        }
        if let additional {
            let valueRule = additional == .bool(true)
                ? primitive(.value)
                : try visit(additional, path: JSONSchemaConverter.pointer(path, "additionalProperties"), name: childName(name, "additional-value"))
            let key = properties.isEmpty ? primitive(.string) : addRule(childName(name, "additional-key"), keyOtherThan(properties.map(\.key)))
            optionalMembers.append((addRule(childName(name, "additional-kv"), #"\#(key) \#(space) ":" \#(space) \#(valueRule)"#), true))
        }
        guard !requiredMembers.isEmpty || !optionalMembers.isEmpty else { return #""{" \#(space) "}""# }

        // Optional members after the index: each may appear (the extra keys any number of times), in order.
        var restRules: [Int: String] = [:]
        func rest(from index: Int) -> String {
            guard index < optionalMembers.count else { return "" }
            if let rule = restRules[index] { return rule }
            let (rule, repeats) = optionalMembers[index]
            let following = rest(from: index + 1)
            let body = #"("," \#(space) \#(rule))"# + (repeats ? "*" : "?") + (following.isEmpty ? "" : " " + following)
            let named = addRule(childName(name, "rest\(index)"), body)
            restRules[index] = named
            return named
        }
        var body = #""{" \#(space) "#
        if requiredMembers.isEmpty {
            let starts = optionalMembers.indices.map { index -> String in
                let (rule, repeats) = optionalMembers[index]
                let first = repeats ? #"\#(rule) ("," \#(space) \#(rule))*"# : rule
                let following = rest(from: index + 1)
                return following.isEmpty ? first : first + " " + following
            }
            body += "(" + starts.joined(separator: " | ") + ")?"
        } else {
            body += requiredMembers.joined(separator: #" "," \#(space) "#)
            let optional = rest(from: 0)
            if !optional.isEmpty { body += " " + optional }
        }
        return body + #" \#(space) "}""#
    }

    /// A JSON string other than the given keys (so extra properties cannot repeat declared ones).
    private mutating func keyOtherThan(_ keys: [String]) -> String {
        let char = primitive(.char)
        // Keys with escaped characters would need escape-aware exclusion: accept any key then.
        let encoded = keys.map { String(JSONValue.quoted($0).unicodeScalars.dropFirst().dropLast()) }
        guard encoded.allSatisfy({ !$0.contains("\\") }) else { return primitive(.string) }
        let escape = #""\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#
        func continuation(_ prefix: [Unicode.Scalar]) -> String {
            let matching = encoded.map { Array($0.unicodeScalars) }.filter { $0.starts(with: prefix) }
            let isKey = matching.contains { $0.count == prefix.count }
            var nextCharacters: [Unicode.Scalar] = []
            for key in matching where key.count > prefix.count && !nextCharacters.contains(key[prefix.count]) {
                nextCharacters.append(key[prefix.count])
            }
            var alternatives: [String] = isKey ? [] : [#""""#]
            for next in nextCharacters {
                alternatives.append(JSONSchemaConverter.literal(String(next)) + " (" + continuation(prefix + [next]) + ")")
            }
            let others = CodePointSet.all
                .subtracting(CodePointSet([0...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F] + nextCharacters.map { $0.value...$0.value }))
            alternatives.append("(" + JSONSchemaConverter.characterClass(others) + " | " + escape + ") " + char + "*")
            return alternatives.joined(separator: " | ")
        }
        return #""\"" ("# + continuation([]) + #") "\"""#
    }

    /// Objects whose parts are all object schemas: their properties merged, as llama.cpp does;
    /// properties of `anyOf` parts are optional.
    private mutating func allOf(_ schema: JSONValue, path: String, name: String) throws -> String {
        let partsPath = JSONSchemaConverter.pointer(path, "allOf")
        guard case .array(let parts)? = schema["allOf"], !parts.isEmpty else {
            throw GrammarError.schema("allOf must be a non-empty array of schemas", path: partsPath)
        }
        var properties: [JSONValue.Member] = []
        var required: [JSONValue] = []
        func resolve(_ part: JSONValue) -> JSONValue {
            var current = part
            var seen = 0
            while case .string(let target)? = current["$ref"], target.hasPrefix("#/"), seen < 32 {
                var resolved: JSONValue? = document
                for key in target.dropFirst(2).split(separator: "/") {
                    resolved = resolved?[String(key).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")]
                }
                guard let resolved else { break }
                current = resolved
                seen += 1
            }
            return current
        }
        func add(_ part: JSONValue, isRequired: Bool) {
            let part = resolve(part)
            if case .object(let list)? = part["properties"] {
                for member in list where !properties.contains(where: { $0.key == member.key }) { properties.append(member) }
            }
            if isRequired, case .array(let names)? = part["required"] { required += names }
        }
        for part in parts {
            if case .array(let options)? = resolve(part)["anyOf"] {
                for option in options { add(option, isRequired: false) }
            } else {
                add(part, isRequired: true)
            }
        }
        let merged = JSONValue.object([
            JSONValue.Member(key: "properties", value: .object(properties)),
            JSONValue.Member(key: "required", value: .array(required)),
        ])
        return try object(merged, path: partsPath, name: name)
    }

    private mutating func array(_ schema: JSONValue, path: String, name: String) throws -> String {
        let minimum = try count(schema, "minItems", path: path) ?? 0
        let maximum = try count(schema, "maxItems", path: path)
        if let maximum, maximum < minimum {
            throw GrammarError.schema("maxItems is less than minItems", path: JSONSchemaConverter.pointer(path, "maxItems"))
        }
        let space = primitive(.space)
        var tuple: [JSONValue]?
        var tupleKey = "prefixItems"
        var itemSchema: JSONValue? = schema["items"]
        if case .array(let list)? = schema["prefixItems"] {
            tuple = list
        } else if schema.has("prefixItems") {
            throw GrammarError.schema("prefixItems must be an array of schemas", path: JSONSchemaConverter.pointer(path, "prefixItems"))
        }
        if case .array(let list)? = itemSchema {
            tuple = list
            tupleKey = "items"
            itemSchema = nil
        }
        if let tuple {
            var elements: [String] = []
            for (index, item) in tuple.enumerated() {
                elements.append(try visit(item, path: JSONSchemaConverter.pointer(path, tupleKey) + "/\(index)", name: childName(name, "tuple-\(index)")))
            }
            var body = #""[" \#(space) "# + elements.joined(separator: #" "," \#(space) "#)
            if let itemSchema, itemSchema != .bool(false) {
                let item = try visit(itemSchema, path: JSONSchemaConverter.pointer(path, "items"), name: childName(name, "item"))
                let more = JSONSchemaConverter.repeated(#"("," \#(space) \#(item))"#, minimum: max(minimum - tuple.count, 0),
                                                        maximum: maximum.map { max($0 - tuple.count, 0) })
                if elements.isEmpty {
                    body += separated(item, minimum: minimum, maximum: maximum)
                } else if more != #""""# {
                    body += " " + more
                }
            }
            return body + #" \#(space) "]""#
        }
        if itemSchema == nil && minimum == 0 && maximum == nil { return primitive(.array) }
        let item = try itemSchema.map { try visit($0, path: JSONSchemaConverter.pointer(path, "items"), name: childName(name, "item")) }
            ?? primitive(.value)
        return #""[" \#(space) "# + separated(item, minimum: minimum, maximum: maximum) + #" \#(space) "]""#
    }

    private mutating func string(_ schema: JSONValue, path: String) throws -> String {
        if let pattern = schema["pattern"] {
            guard case .string(let text) = pattern else {
                throw GrammarError.schema("pattern must be a string", path: JSONSchemaConverter.pointer(path, "pattern"))
            }
            let body = try RegexConverter.convert(text, path: JSONSchemaConverter.pointer(path, "pattern"), anyCharacter: primitive(.char))
            return #""\"" "# + body + #" "\"""#
        }
        if case .string(let format)? = schema["format"] {
            switch format {
            case "date": return primitive(.dateString)
            case "time": return primitive(.timeString)
            case "date-time": return primitive(.dateTimeString)
            case "uuid": return primitive(.uuid)
            default: break
            }
        }
        let minimum = try count(schema, "minLength", path: path) ?? 0
        let maximum = try count(schema, "maxLength", path: path)
        if let maximum, maximum < minimum {
            throw GrammarError.schema("maxLength is less than minLength", path: JSONSchemaConverter.pointer(path, "maxLength"))
        }
        guard minimum > 0 || maximum != nil else { return primitive(.string) }
        guard max(minimum, maximum ?? 0) <= GBNFParser.maximumRepetition else {
            throw GrammarError.schema("string lengths above \(GBNFParser.maximumRepetition) are not supported", path: path)
        }
        return #""\"" "# + JSONSchemaConverter.repeated(primitive(.char), minimum: minimum, maximum: maximum) + #" "\"""#
    }

    /// A bound of `key`, as a number; for the draft-4 boolean `exclusiveMinimum`, nil.
    private func bound(_ schema: JSONValue, _ key: String, path: String) throws -> Double? {
        guard let value = schema[key] else { return nil }
        if case .bool = value, key.hasPrefix("exclusive") { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw GrammarError.schema("\(key) must be a number", path: JSONSchemaConverter.pointer(path, key))
        }
        return number
    }

    private mutating func integer(_ schema: JSONValue, path: String) throws -> String {
        var low: Double?
        var high: Double?
        if let minimum = try bound(schema, "minimum", path: path) {
            low = schema["exclusiveMinimum"] == .bool(true) ? (minimum + 1).rounded(.down) : minimum.rounded(.up)
        }
        if let exclusive = try bound(schema, "exclusiveMinimum", path: path) { low = max(low ?? -.infinity, (exclusive + 1).rounded(.down)) }
        if let maximum = try bound(schema, "maximum", path: path) {
            high = schema["exclusiveMaximum"] == .bool(true) ? (maximum - 1).rounded(.up) : maximum.rounded(.down)
        }
        if let exclusive = try bound(schema, "exclusiveMaximum", path: path) { high = min(high ?? .infinity, (exclusive - 1).rounded(.up)) }
        guard low != nil || high != nil else { return primitive(.integer) }
        let limit = 9.0e18
        guard abs(low ?? 0) < limit, abs(high ?? 0) < limit else {
            throw GrammarError.schema("integer bounds beyond ±9e18 are not supported", path: path)
        }
        let (minimum, maximum) = (low.map { Int64($0) }, high.map { Int64($0) })
        if let minimum, let maximum, minimum > maximum {
            throw GrammarError.schema("no integer lies between minimum \(minimum) and maximum \(maximum)", path: path)
        }
        return "(" + IntegerRange.gbnf(minimum: minimum, maximum: maximum) + ")"
    }

    private mutating func number(_ schema: JSONValue, path: String) throws -> String {
        guard let minimum = try bound(schema, "minimum", path: path), minimum >= 0 else { return primitive(.number) }
        let integral = primitive(.integralPart)
        return #"\#(integral) ("." \#(primitive(.decimalPart)))? ([eE] [-+]? \#(integral))?"#
    }
}
