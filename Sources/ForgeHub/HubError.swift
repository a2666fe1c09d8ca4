/// Why a model could not be found in the cache or downloaded into it.
/// Each description says what happened to the files involved and what to do next.
public enum HubError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No `-m` was given and the default model is not in the cache.
    case defaultModelMissing(directory: String)
    /// `-m` named neither an existing file nor a model in the cache.
    case modelNotFound(name: String, directory: String, available: [String])
    /// A short name matched more than one model in the cache.
    case ambiguousModel(name: String, candidates: [String])
    case invalidURL(String, reason: String)
    case invalidChecksum(String)
    case invalidOutputName(String, reason: String)
    /// The server answered with an error status; nothing was written.
    case httpStatus(code: Int, url: String)
    /// The transfer stopped early; the partial file is kept so the next pull resumes it.
    case transferIncomplete(url: String, received: Int, expected: Int?, reason: String, partialPath: String)
    /// The server's answer to a resume request does not fit the partial file (a wrong `Content-Range`).
    case badResume(url: String, reason: String)
    /// The downloaded file's SHA-256 is not the expected one; the file was removed.
    case checksumMismatch(name: String, expected: String, actual: String)
    /// The downloaded file is not a valid GGUF; the file was removed.
    case notGGUF(name: String, reason: String)
    /// A file of that name is already in the cache with another checksum; it was left untouched.
    case existingFileMismatch(path: String, expected: String, actual: String)
    /// Another `forge pull` is writing the same partial file.
    case downloadInProgress(partialPath: String)
    case fileSystem(String)

    public var description: String {
        switch self {
        case .defaultModelMissing(let directory):
            return "no model given (-m) and the default model \(ModelCache.defaultModelName) is not in \(directory). "
                + "Run scripts/fetch-models to fetch it, `forge pull URL` to download a GGUF, or pass -m PATH."
        case .modelNotFound(let name, let directory, let available):
            let listing = available.isEmpty
                ? "the cache is empty (run scripts/fetch-models or `forge pull URL`)"
                : "models in the cache: \(available.joined(separator: ", "))"
            return "model '\(name)' is not a file and matches nothing in \(directory); \(listing)"
        case .ambiguousModel(let name, let candidates):
            return "model '\(name)' matches several models in the cache: \(candidates.joined(separator: ", ")); give more of the name"
        case .invalidURL(let url, let reason):
            return "cannot download '\(url)': \(reason)"
        case .invalidChecksum(let text):
            return "--sha256 must be 64 hexadecimal digits, got '\(text)'"
        case .invalidOutputName(let name, let reason):
            return "cannot store the model as '\(name)': \(reason)"
        case .httpStatus(let code, let url):
            return "the server answered HTTP \(code) for \(url); nothing was downloaded"
        case .transferIncomplete(let url, let received, let expected, let reason, let partialPath):
            let size = expected.map { "\(received) of \($0) bytes" } ?? "\(received) bytes"
            return "download of \(url) stopped after \(size) (\(reason)); "
                + "the partial file \(partialPath) is kept: run the same command again to resume"
        case .badResume(let url, let reason):
            return "cannot resume \(url): \(reason)"
        case .checksumMismatch(let name, let expected, let actual):
            return "checksum mismatch for \(name): expected sha256 \(expected), got \(actual); the downloaded file was removed"
        case .notGGUF(let name, let reason):
            return "\(name) is not a valid GGUF file (\(reason)); the downloaded file was removed"
        case .existingFileMismatch(let path, let expected, let actual):
            return "\(path) already exists with sha256 \(actual), not \(expected); it was left untouched (remove it to download again)"
        case .downloadInProgress(let partialPath):
            return "another forge pull is writing \(partialPath); wait for it to finish"
        case .fileSystem(let message):
            return message
        }
    }
}
