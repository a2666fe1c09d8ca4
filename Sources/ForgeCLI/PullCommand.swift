import ArgumentParser
import ForgeHub

/// `forge pull URL`: downloads a GGUF into the model cache.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a GGUF model into the model cache.",
        discussion: """
            The file goes to $FORGE_MODELS (default ~/.cache/forge/models). An interrupted pull \
            resumes where it stopped when run again. The file gets its name only once it is \
            complete, matches --sha256 (when given) and parses as GGUF; otherwise it is removed. \
            Progress goes to stderr; the stored path is printed on stdout.

            Example:
              forge pull https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
            """
    )

    @Argument(help: "An http or https URL of a .gguf file, such as a Hugging Face 'resolve' URL.")
    var url: String

    @Option(help: ArgumentHelp("The file's expected SHA-256, as 64 hex digits.", valueName: "hex"))
    var sha256: String?

    @Option(help: ArgumentHelp("The file name in the cache (default: the URL's last path component).", valueName: "name.gguf"))
    var output: String?

    func validate() throws {
        do {
            let source = try ModelDownloader.validatedURL(url)
            _ = try ModelDownloader.fileName(outputName: output, url: source)
            if let sha256 { _ = try ModelDownloader.normalizedChecksum(sha256) }
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let progress = ProgressBar()
        let result: PullResult
        do {
            result = try await ModelDownloader().pull(url, sha256: sha256, outputName: output, events: progress.handle)
        } catch {
            progress.endLine()
            throw error
        }
        if result.alreadyPresent {
            ProgressBar.standardError("already in the cache: \(result.path) (sha256 \(result.sha256))\n")
        }
        print(result.path)
    }
}
