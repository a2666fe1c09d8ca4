import Foundation

/// A local date and time as `strftime_now` sees it.
public struct TemplateDate: Sendable, Equatable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// The current local time, as Python's `datetime.now()` gives it.
    public static func now() -> TemplateDate {
        let parts = Calendar.current.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date())
        return TemplateDate(
            year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1,
            hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0)
    }
}

/// How templates are read and the bounds that keep a hostile template from hanging or exhausting memory.
public struct JinjaOptions: Sendable {
    /// Hugging Face renders chat templates with both on.
    public var trimBlocks = true
    public var lstripBlocks = true
    /// Rendering stops with an error once it has produced this many bytes (macro and `set` blocks included).
    public var maxOutputBytes = 16 << 20
    /// Total iterations of all loops, and the largest `range()`, in one rendering.
    public var maxLoopIterations = 1_000_000
    /// Nested macro calls.
    public var maxCallDepth = 40
    /// Nesting of tags and expressions in the source.
    public var maxNestingDepth = 60
    /// The clock `strftime_now` reads.
    public var now: @Sendable () -> TemplateDate = TemplateDate.now

    public init() {}
}

/// A parsed Jinja2 template; parse once, render many times from any thread.
public struct Template: Sendable {
    let nodes: [Node]
    public let options: JinjaOptions

    public init(_ source: String, options: JinjaOptions = JinjaOptions()) throws {
        var lexer = Lexer(source: source, trimBlocks: options.trimBlocks, lstripBlocks: options.lstripBlocks)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, maxDepth: options.maxNestingDepth)
        nodes = try parser.parseTemplate()
        self.options = options
    }

    /// Renders with the members of `context`, a JSON object, as the template's variables.
    public func render(_ context: JinjaValue = [:]) throws -> String {
        guard case .object(let variables) = context else {
            throw JinjaError(.runtime, "the template context must be a JSON object", line: 1)
        }
        return try Renderer(options: options, context: variables).render(nodes)
    }
}
