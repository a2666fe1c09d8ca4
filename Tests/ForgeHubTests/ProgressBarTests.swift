import ForgeHub
import Foundation
import Testing

/// Collects what a progress bar writes.
private final class Output: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [String] = []
    func write(_ text: String) { lock.withLock { chunks.append(text) } }
    var text: String { lock.withLock { chunks.joined() } }
}

struct ProgressBarTests {
    @Test func units() {
        #expect(ProgressBar.bytes(512) == "512 B")
        #expect(ProgressBar.bytes(1536) == "1.5 KiB")
        #expect(ProgressBar.bytes(491_400_000) == "468.6 MiB")
        #expect(ProgressBar.bytes(5 << 30) == "5.0 GiB")
        #expect(ProgressBar.duration(28.2) == "0:29")
        #expect(ProgressBar.duration(3725) == "1:02:05")
        #expect(ProgressBar.duration(.infinity) == "99:59:59")
    }

    @Test func rateAndETACountOnlyThisTransfer() {
        let progress = DownloadProgress(received: 60 << 20, total: 100 << 20, resumedFrom: 20 << 20, elapsed: 4)
        #expect(progress.bytesPerSecond == Double(10 << 20))
        #expect(progress.secondsRemaining == 4)
        #expect(progress.fraction == 0.6)
        let line = ProgressBar.line(label: "m.gguf", progress: progress, barWidth: 10)
        #expect(line == "m.gguf  60.0 MiB / 100.0 MiB   60.0%  [######....]  10.0 MiB/s  ETA 0:04")
    }

    @Test func unknownSizeShowsBytesAndRate() {
        let progress = DownloadProgress(received: 2048, total: nil, resumedFrom: 0, elapsed: 2)
        #expect(ProgressBar.line(label: "m.gguf", progress: progress) == "m.gguf  2.0 KiB  1.0 KiB/s")
    }

    @Test func terminalRedrawsOneLine() {
        let output = Output()
        let bar = ProgressBar(isTerminal: true, write: output.write)
        bar.handle(.started(url: "http://h/m.gguf", destination: "/c/m.gguf", resumingFrom: 0))
        for step in 1...10 {
            bar.handle(.progress(DownloadProgress(received: step * 100, total: 1000, resumedFrom: 0, elapsed: Double(step))))
        }
        bar.handle(.finished(path: "/c/m.gguf", sha256: "ab"))
        let lines = output.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "pulling http://h/m.gguf into /c/m.gguf")
        #expect(output.text.components(separatedBy: "\r\u{1B}[K").count == 11)
        #expect(lines.dropLast().last == "stored /c/m.gguf (sha256 ab)")
    }

    @Test func endLineClosesAnOpenBarOnly() {
        let output = Output()
        let bar = ProgressBar(isTerminal: true, write: output.write)
        bar.endLine()
        #expect(output.text.isEmpty)
        bar.handle(.progress(DownloadProgress(received: 1, total: 2, resumedFrom: 0, elapsed: 1)))
        bar.endLine()
        bar.endLine()
        #expect(output.text.hasSuffix("]  1 B/s  ETA 0:01\n"))
    }

    @Test func plainOutputPrintsALineEveryFewSeconds() {
        let output = Output()
        let bar = ProgressBar(isTerminal: false, write: output.write)
        bar.handle(.started(url: "http://h/m.gguf", destination: "/c/m.gguf", resumingFrom: 100))
        for tenth in 1...100 {
            bar.handle(.progress(DownloadProgress(received: 100 + tenth * 9, total: 1000, resumedFrom: 100, elapsed: Double(tenth) / 10)))
        }
        let lines = output.text.split(separator: "\n")
        #expect(!output.text.contains("\r"))
        #expect(lines.first == "pulling http://h/m.gguf into /c/m.gguf, resuming at 100 B")
        // Elapsed 0.1 s, then 5.1 s, then the completed transfer at 10 s.
        #expect(lines.count == 4)
        #expect(lines.last?.hasPrefix("m.gguf  1000 B / 1000 B  100.0%") == true)
    }
}
