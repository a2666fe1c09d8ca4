/// How far a download has come.
public struct DownloadProgress: Sendable, Equatable {
    /// Bytes in the file so far, including those kept from an earlier, interrupted pull.
    public var received: Int
    /// The whole file's size, when the server said.
    public var total: Int?
    /// Bytes already in the file when this transfer started.
    public var resumedFrom: Int
    /// Seconds since this transfer started.
    public var elapsed: Double

    public init(received: Int, total: Int?, resumedFrom: Int, elapsed: Double) {
        self.received = received
        self.total = total
        self.resumedFrom = resumedFrom
        self.elapsed = elapsed
    }

    /// The rate of this transfer (bytes kept from before do not count).
    public var bytesPerSecond: Double? {
        guard elapsed > 0, received > resumedFrom else { return nil }
        return Double(received - resumedFrom) / elapsed
    }

    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, Double(received) / Double(total))
    }

    public var secondsRemaining: Double? {
        guard let total, let rate = bytesPerSecond else { return nil }
        return Double(max(0, total - received)) / rate
    }
}

/// What a pull is doing, for a progress display.
public enum PullEvent: Sendable, Equatable {
    case started(url: String, destination: String, resumingFrom: Int)
    /// The partial file was discarded and the download starts over.
    case restarted(reason: String)
    case progress(DownloadProgress)
    case verifying(path: String)
    case finished(path: String, sha256: String)
}
