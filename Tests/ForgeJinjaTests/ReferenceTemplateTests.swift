import Foundation
import Testing

@testable import ForgeJinja

/// The real chat templates of eight model families, each rendered over 18 conversations by Python jinja2
/// as Hugging Face sets it up (see the fixture's `generator`). Forge must match byte for byte.
struct ReferenceCase: CustomTestStringConvertible, Sendable {
    let template: String
    let conversation: String
    let source: String
    let context: JinjaValue
    let expected: String?
    let error: String?

    var testDescription: String {
        let prompt = context["add_generation_prompt"] == .bool(true) ? "+prompt" : ""
        return "\(template) / \(conversation)\(prompt)"
    }

    static func load() throws -> [ReferenceCase] {
        guard let url = Bundle.module.url(forResource: "chat-templates", withExtension: "json", subdirectory: "Fixtures") else {
            throw JinjaError(.runtime, "fixture chat-templates.json is missing", line: 0)
        }
        let root = try JinjaValue(parsingJSON: Array(try Data(contentsOf: url)))
        guard let templates = root["templates"]?.objectValue, let cases = root["cases"]?.arrayValue else {
            throw JinjaError(.runtime, "fixture chat-templates.json has no templates or cases", line: 0)
        }
        return cases.compactMap { entry in
            guard let name = entry["template"]?.stringValue, let source = templates[name]?.stringValue,
                let context = entry["context"]
            else { return nil }
            return ReferenceCase(
                template: name, conversation: entry["conversation"]?.stringValue ?? "", source: source,
                context: context, expected: entry["expected"]?.stringValue, error: entry["error"]?.stringValue)
        }
    }

    static let all: [ReferenceCase] = (try? load()) ?? []
}

/// 2026-11-21 12:00, the clock the references were rendered with.
let referenceOptions: JinjaOptions = {
    var options = JinjaOptions()
    options.now = { TemplateDate(year: 2026, month: 11, day: 21, hour: 12) }
    return options
}()

@Suite struct ReferenceTemplateTests {
    @Test func fixtureHasEveryCase() {
        #expect(ReferenceCase.all.count == 144)
        #expect(Set(ReferenceCase.all.map(\.template)).count == 8)
        #expect(ReferenceCase.all.filter { $0.error != nil }.count == 8)
    }

    @Test(arguments: ReferenceCase.all)
    func rendersLikePythonJinja(_ reference: ReferenceCase) throws {
        let template = try Template(reference.source, options: referenceOptions)
        if let expectedError = reference.error {
            let message = expectedError.replacingOccurrences(of: "TemplateError: ", with: "")
            let error = #expect(throws: JinjaError.self) { try template.render(reference.context) }
            #expect(error?.kind == .raised)
            #expect(error?.message == message)
            let linesRaisingIt = reference.source.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .filter { $0.element.contains("raise_exception") && $0.element.contains(message) }.map { $0.offset + 1 }
            #expect(error.map { linesRaisingIt.contains($0.line) } ?? false)
        } else {
            let rendered = try template.render(reference.context)
            #expect(rendered == reference.expected)
        }
    }
}
