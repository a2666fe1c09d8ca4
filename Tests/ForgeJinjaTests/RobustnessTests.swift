import ForgeKernels
import Testing

@testable import ForgeJinja

/// Malformed and hostile templates end in a clear error that names the line: no crash, no hang.
@Suite struct RobustnessTests {
    private func renderError(_ source: String, _ context: JinjaValue = [:], options: JinjaOptions = JinjaOptions()) -> JinjaError? {
        #expect(throws: JinjaError.self) { try Template(source, options: options).render(context) }
    }

    @Test func syntaxErrorsNameTheirLine() {
        let cases: [(source: String, line: Int, fragment: String)] = [
            ("ok\n{% if x %}\nabc", 2, "'if' tag at line 2 needs 'elif' or 'else' or 'endif'"),
            ("a\nb\n{{ x | nosuch }}", 3, "no filter named 'nosuch'"),
            ("{% for x in y %}\n{% endif %}", 2, "unknown tag 'endif'"),
            ("\n\n{{ 'unterminated }}", 3, "unterminated string literal"),
            ("{{ 1 +\n}}", 2, "unexpected '}}'"),
            ("{{ x }\n", 1, "missing '}}'"),
            ("{# never closed", 1, "missing end of comment"),
            ("{% macro m(a=1, b) %}{% endmacro %}", 1, "non-default argument"),
            ("{% include 'other.jinja' %}", 1, "not supported"),
            ("{{ x is nosuchtest }}", 1, "no test named"),
            ("{% continue %}", 1, "outside of a for loop"),
            ("{{ a[1:2:3:4] }}", 1, "at most three parts"),
            ("{{ @ }}", 1, "unexpected character '@'"),
        ]
        for (source, line, fragment) in cases {
            let error = renderError(source)
            #expect(error?.kind == .syntax, "\(source)")
            #expect(error?.line == line, "\(source)")
            #expect(error?.message.contains(fragment) == true, "\(source): \(error?.message ?? "no error")")
            #expect(error?.description.contains("line \(line)") == true)
        }
    }

    @Test func runtimeErrorsNameTheirLine() {
        let error = renderError("{% for m in messages %}\n{{ m.content + 1 }}\n{% endfor %}", ["messages": [["content": "x"]]])
        #expect(error?.kind == .runtime)
        #expect(error?.line == 2)
        #expect(error?.message == "can only concatenate str (not \"int\") to str")
    }

    @Test func raiseExceptionInsideMacroNamesTheRaisingLine() {
        let source = "{% macro check(x) %}\n{% if not x %}\n{{ raise_exception('x must be set') }}\n{% endif %}\n{% endmacro %}\n{{ check(0) }}"
        let error = renderError(source)
        #expect(error?.kind == .raised)
        #expect(error?.line == 3)
        #expect(error?.description == "template raised an exception at line 3: x must be set")
    }

    @Test func deepNestingIsRejectedNotOverflowed() {
        let parentheses = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(renderError("{{ \(parentheses) }}")?.message.contains("nests deeper") == true)
        let blocks = String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000)
        #expect(renderError(blocks)?.message.contains("nests deeper") == true)
        let negations = "{{ " + String(repeating: "not ", count: 5000) + "x }}"
        #expect(renderError(negations)?.message.contains("nests deeper") == true)
        let unary = "{{ " + String(repeating: "-", count: 5000) + "1 }}"
        #expect(renderError(unary)?.message.contains("nests deeper") == true)
    }

    @Test func infiniteMacroRecursionStops() {
        let error = renderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        #expect(error?.message.contains("macro calls nest deeper") == true)
    }

    @Test func outputAndLoopsAreBounded() {
        var options = JinjaOptions()
        options.maxOutputBytes = 10_000
        options.maxLoopIterations = 5_000
        let output = renderError("{% for i in range(900) %}01234567890123456789{% endfor %}", options: options)
        #expect(output?.message.contains("output exceeds") == true)
        let loops = renderError("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", options: options)
        #expect(loops?.message.contains("iterations") == true)
        #expect(renderError("{{ range(9223372036854775807) | length }}")?.message.contains("iterations") == true)
        #expect(renderError("{{ range(-9223372036854775807, 9223372036854775807) }}")?.message.contains("too far apart") == true)
        #expect(renderError("{{ 'x' * 9223372036854775807 }}")?.message.contains("limit") == true)
        #expect(renderError("{{ [1, 2] * 4611686018427387904 }}")?.message.contains("too large") == true)
        let macroOutput = renderError("{% macro m() %}{% for i in range(900) %}01234567890123456789{% endfor %}{% endmacro %}{% set x = m() %}", options: options)
        #expect(macroOutput?.message.contains("output exceeds") == true)
    }

    @Test func growthIsBounded() {
        var options = JinjaOptions()
        options.maxOutputBytes = 1 << 16
        options.maxLoopIterations = 10_000
        let doubling = renderError("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", options: options)
        #expect(doubling?.message.contains("output limit") == true)
        let listDoubling = renderError("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", options: options)
        #expect(listDoubling?.message.contains("list exceeds") == true)
        let replace = renderError("{% set ns = namespace(s='abcd') %}{% for i in range(30) %}{% set ns.s = ns.s.replace('', ns.s) %}{% endfor %}", options: options)
        #expect(replace?.message.contains("output limit") == true)
        #expect(renderError("{{ 'a\nb' | indent(9223372036854775807) }}")?.message.contains("output limit") == true)
        #expect(renderError("{{ [[1]] | tojson(indent=1000000000) }}")?.message.contains("too large") == true)
        let fanOut = renderError("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(35) }}", options: options)
        #expect(fanOut?.message.contains("iterations") == true)
    }

    @Test func deepAndSelfReferencingValuesDoNotOverflow() throws {
        let deep = renderError("{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}")
        #expect(deep?.message.contains("nest deeper") == true)
        let selfReference = try Template("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}").render([:])
        #expect(selfReference.hasPrefix("<Namespace {'a': 1, 'me': <Namespace {'a': 1, 'me': <Namespace"))
        #expect(selfReference.contains("..."))
        #expect(try Template("{{ [1, 2, 3][1::9223372036854775807] }}{{ [1, 2, 3][::-9223372036854775807] }}").render([:]) == "[2][3]")
    }

    @Test func integerOverflowIsAnError() {
        #expect(renderError("{{ 9223372036854775807 + 1 }}")?.message == "integer overflow")
        #expect(renderError("{{ 2 ** 64 }}")?.message == "integer overflow")
        #expect(renderError("{{ -(-9223372036854775807 - 1) }}")?.message == "integer overflow")
        #expect(renderError("{{ (-9223372036854775807 - 1) // -1 }}")?.message == "integer overflow")
        #expect(renderError("{{ 99999999999999999999 }}")?.kind == .syntax)
    }

    /// Cutting and splicing the real templates at every offset must give output or a JinjaError, never a crash.
    @Test func mutatedRealTemplatesNeverCrash() throws {
        let sources = Array(Set(ReferenceCase.all.map(\.source))).sorted()
        let context = ReferenceCase.all.first { $0.conversation == "tool_call_and_result" }?.context ?? [:]
        var generator = SplitMix64(seed: 7)
        var outcomes = (rendered: 0, failed: 0)
        for source in sources {
            let scalars = Array(source.unicodeScalars)
            for _ in 0..<60 {
                var mutated = scalars
                let position = Int(generator.next() % UInt64(mutated.count))
                switch generator.next() % 3 {
                case 0: mutated.removeSubrange(position..<min(mutated.count, position + Int(generator.next() % 8) + 1))
                case 1: mutated.insert(contentsOf: "{%}}{{-(['\"|.".unicodeScalars.shuffled(using: &generator).prefix(2), at: position)
                default: mutated = Array(mutated[position...] + mutated[..<position])
                }
                let text = String(String.UnicodeScalarView(mutated))
                do {
                    _ = try Template(text).render(context)
                    outcomes.rendered += 1
                } catch is JinjaError {
                    outcomes.failed += 1
                }
            }
        }
        #expect(outcomes.rendered + outcomes.failed == sources.count * 60)
        #expect(outcomes.failed > 0)
    }

    @Test func contextMustBeAnObject() {
        #expect(throws: JinjaError.self) { try Template("x").render([]) }
    }

    @Test func rendersConcurrentlyFromOneTemplate() async throws {
        let reference = try #require(ReferenceCase.all.first { $0.template == "qwen3" && $0.conversation == "tool_call_and_result" })
        let template = try Template(reference.source, options: referenceOptions)
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 { group.addTask { try template.render(reference.context) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0 == reference.expected })
    }
}
