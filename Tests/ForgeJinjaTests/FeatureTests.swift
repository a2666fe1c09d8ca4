import Foundation
import Testing

@testable import ForgeJinja

/// One small template per Jinja feature with the output (or error) of Python jinja2 configured as Hugging
/// Face does; Fixtures/generate-feature-cases.py produced them.
struct FeatureCase: CustomTestStringConvertible, Sendable {
    let name: String
    let template: String
    let context: JinjaValue
    let expected: String?
    let error: String?

    var testDescription: String { name }

    static let all: [FeatureCase] = {
        guard let url = Bundle.module.url(forResource: "feature-cases", withExtension: "json", subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url),
            let root = try? JinjaValue(parsingJSON: Array(data)),
            let cases = root["cases"]?.arrayValue
        else { return [] }
        return cases.compactMap { entry in
            guard let name = entry["name"]?.stringValue, let template = entry["template"]?.stringValue,
                let context = entry["context"]
            else { return nil }
            return FeatureCase(
                name: name, template: template, context: context,
                expected: entry["expected"]?.stringValue, error: entry["error"]?.stringValue)
        }
    }()
}

@Suite struct FeatureTests {
    @Test func fixtureLoaded() {
        #expect(FeatureCase.all.count > 100)
    }

    @Test(arguments: FeatureCase.all)
    func matchesPythonJinja(_ feature: FeatureCase) throws {
        guard let pythonError = feature.error else {
            let rendered = try Template(feature.template, options: referenceOptions).render(feature.context)
            #expect(rendered == feature.expected)
            return
        }
        let error = #expect(throws: JinjaError.self) {
            try Template(feature.template, options: referenceOptions).render(feature.context)
        }
        guard let error else { return }
        if feature.name.hasPrefix("syntax") {
            #expect(error.kind == .syntax)
        } else if pythonError.hasPrefix("TemplateError: ") {
            #expect(error.kind == .raised)
            #expect(error.message == String(pythonError.dropFirst("TemplateError: ".count)))
            #expect(error.line == 2)
        } else {
            #expect(error.kind == .runtime)
            let pythonMessage = pythonError.split(separator: ": ", maxSplits: 1).last.map(String.init) ?? ""
            #expect(error.message == pythonMessage)
        }
    }
}
