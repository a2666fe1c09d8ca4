import Foundation

/// Renders pull events on stderr: a bar redrawn in place on a terminal, otherwise a plain
/// line every few seconds (log files and CI output stay readable).
public final class ProgressBar: @unchecked Sendable {
    private let isTerminal: Bool
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    // Guarded by `lock`.
    private var label = ""
    private var lastDrawn: Double?
    private var lineOpen = false

    private static let terminalInterval = 0.1
    private static let plainInterval = 5.0

    public init(isTerminal: Bool = isatty(2) != 0, write: @escaping @Sendable (String) -> Void = ProgressBar.standardError) {
        self.isTerminal = isTerminal
        self.write = write
    }

    public static let standardError: @Sendable (String) -> Void = { text in
        FileHandle.standardError.write(Data(text.utf8))
    }

    public func handle(_ event: PullEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .started(let url, let destination, let resumingFrom):
            label = (destination as NSString).lastPathComponent
            let resuming = resumingFrom > 0 ? ", resuming at \(Self.bytes(resumingFrom))" : ""
            emitLine("pulling \(url) into \(destination)\(resuming)")
        case .restarted(let reason):
            emitLine("starting over: \(reason)")
            lastDrawn = nil
        case .progress(let progress):
            let interval = isTerminal ? Self.terminalInterval : Self.plainInterval
            let complete = progress.total == progress.received
            if let lastDrawn, progress.elapsed - lastDrawn < interval, !complete { return }
            lastDrawn = progress.elapsed
            let line = Self.line(label: label, progress: progress)
            if isTerminal {
                write("\r\u{1B}[K" + line)
                lineOpen = true
            } else {
                write(line + "\n")
            }
        case .verifying:
            emitLine("verifying \(label)")
        case .finished(let path, let sha256):
            emitLine("stored \(path) (sha256 \(sha256))")
        }
    }

    /// Ends a bar drawn in place, so that what is printed next (an error) starts on its own line.
    public func endLine() {
        lock.lock()
        defer { lock.unlock() }
        if lineOpen {
            write("\n")
            lineOpen = false
        }
    }

    private func emitLine(_ text: String) {
        if lineOpen {
            write("\n")
            lineOpen = false
        }
        write(text + "\n")
    }

    /// One status line: `name  120.0 MiB / 468.6 MiB  25.6%  [#####...]  12.5 MiB/s  ETA 0:28`.
    public static func line(label: String, progress: DownloadProgress, barWidth: Int = 24) -> String {
        var parts = [label]
        if let total = progress.total, let fraction = progress.fraction {
            parts.append("\(bytes(progress.received)) / \(bytes(total))")
            parts.append(String(format: "%5.1f%%", fraction * 100))
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]")
        } else {
            parts.append(bytes(progress.received))
        }
        parts.append(progress.bytesPerSecond.map { bytes(Int($0)) + "/s" } ?? "-- B/s")
        if let remaining = progress.secondsRemaining {
            parts.append("ETA " + duration(remaining))
        }
        return parts.joined(separator: "  ")
    }

    /// Binary units with one decimal: `512 B`, `1.5 KiB`, `468.6 MiB`.
    public static func bytes(_ count: Int) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard count >= 1024 else { return "\(count) B" }
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f ", value) + units[unit]
    }

    /// `m:ss`, or `h:mm:ss` from an hour on.
    public static func duration(_ seconds: Double) -> String {
        let whole = seconds.isFinite ? Int(min(seconds, 359_999).rounded(.up)) : 359_999
        let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, secs)
            : String(format: "%d:%02d", minutes, secs)
    }
}
