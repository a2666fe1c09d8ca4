import ArgumentParser
import Foundation
import ForgeKernels
import ForgeTokenizer

/// `forge tokenize`: the token ids (and pieces) of a text, as llama.cpp's tokenizer gives them.
public struct TokenizeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text.",
        discussion: """
            Without --special, special-token text such as <|im_start|> is tokenized as plain text (user \
            content); with it, such text becomes the special token (chat prompts). Output formats: \
            --ids (default) one line with a JSON array of ids; --pieces one "id<TAB>piece" line per \
            token, the piece being the raw vocabulary string; --json one object with "ids" and "pieces".
            """)

    public enum Format: String, EnumerableFlag {
        case ids, pieces, json
    }

    @OptionGroup public var modelOptions: ModelOptions

    @Flag(help: "Parse special-token text (<|im_start|>, …) as special tokens.")
    public var special = false

    @Flag(name: .customLong("add-bos"), help: "Add the BOS/EOS tokens the model asks for (tokenizer.ggml.add_bos_token / add_eos_token).")
    public var addBOS = false

    @Flag(help: "Output format.")
    public var format: Format = .ids

    @Option(name: .customShort("f"), help: ArgumentHelp("Read the text from this file, byte for byte.", valueName: "FILE"))
    public var file: String?

    @Option(help: ArgumentHelp("Instead of printing tokens, tokenize the text N times and print the throughput.", valueName: "N"))
    public var benchmark: Int?

    @Argument(help: "The text to tokenize (or use -f FILE).")
    public var text: String?

    public init() {}

    public func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("give either TEXT or -f FILE") }
        if let benchmark, benchmark < 1 { throw ValidationError("--benchmark needs a positive count") }
    }

    public func run() throws {
        print(try output(), terminator: "")
    }

    /// Everything the command prints.
    public func output() throws -> String {
        let tokenizer = try Tokenizer(gguf: modelOptions.openFile())
        let input: [UInt8]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            input = [UInt8](data)
        } else {
            input = Array((text ?? "").utf8)
        }
        if let benchmark {
            return Self.benchmark(tokenizer, input, repetitions: benchmark, addSpecial: addBOS, parseSpecial: special)
        }
        let ids = tokenizer.encode(input, addSpecial: addBOS, parseSpecial: special)
        switch format {
        case .ids:
            return "[" + ids.map(String.init).joined(separator: ", ") + "]\n"
        case .pieces:
            return ids.map { "\($0)\t\(tokenizer.tokenPiece($0))\n" }.joined()
        case .json:
            return try JSONReport.line(TokenizeReport(ids: ids, pieces: ids.map(tokenizer.tokenPiece)))
        }
    }

    private static func benchmark(_ tokenizer: Tokenizer, _ input: [UInt8], repetitions: Int, addSpecial: Bool, parseSpecial: Bool)
        -> String
    {
        var tokenCount = 0
        let clock = ContinuousClock()
        let cpuStart = processCPUSeconds()
        let elapsed = clock.measure {
            for _ in 0..<repetitions {
                tokenCount = tokenizer.encode(input, addSpecial: addSpecial, parseSpecial: parseSpecial).count
            }
        }
        let cpuSeconds = processCPUSeconds() - cpuStart
        let seconds = elapsed.inSeconds
        let megabytes = Double(input.count * repetitions) / 1_000_000
        // CPU time is reported too: on a shared machine wall time includes waiting for a core.
        return String(format: "%d bytes -> %d tokens, %d runs in %.3f s (%.3f s CPU): %.2f MB/s (%.2f MB/s per CPU second)\n",
                      input.count, tokenCount, repetitions, seconds, cpuSeconds,
                      seconds > 0 ? megabytes / seconds : 0, cpuSeconds > 0 ? megabytes / cpuSeconds : 0)
    }

    private static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}

/// The `--json` output of `forge tokenize`.
struct TokenizeReport: Encodable {
    var ids: [Int]
    var pieces: [String]
}
