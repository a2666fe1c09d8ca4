import ArgumentParser
import ForgeTokenizer

/// `forge detokenize`: the text of token ids.
public struct DetokenizeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Print the text of token ids.",
        discussion: """
            Ids may be separate arguments or the JSON array `forge tokenize --ids` prints. The text is \
            printed exactly, with nothing added. An id outside the vocabulary is an error.
            """)

    @OptionGroup public var modelOptions: ModelOptions

    @Flag(name: .customLong("hide-special"), help: "Leave out control tokens such as <|im_start|> (shown by default).")
    public var hideSpecial = false

    @Argument(help: "Token ids, e.g. 40 2776 2704 or \"[40, 2776, 2704]\".")
    public var ids: [String] = []

    public init() {}

    public func run() throws {
        print(try output(), terminator: "")
    }

    /// The ids the arguments spell.
    public func parsedIDs() throws -> [Int] {
        let separators: Set<Character> = ["[", "]", ",", " ", "\n", "\t"]
        return try ids.flatMap { argument in
            try argument.split(whereSeparator: { separators.contains($0) }).map { word in
                guard let id = Int(word) else { throw ValidationError("'\(word)' is not a token id") }
                return id
            }
        }
    }

    /// Everything the command prints.
    public func output() throws -> String {
        let ids = try parsedIDs()
        let tokenizer = try Tokenizer(gguf: modelOptions.openFile())
        return try tokenizer.decodeChecked(ids, showSpecial: !hideSpecial)
    }
}
