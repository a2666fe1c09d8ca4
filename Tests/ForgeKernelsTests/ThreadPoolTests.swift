import Atomics
import CForgeKernels
import ForgeKernels
import Foundation
import Testing

/// A deadlock fails a test within the time limit instead of hanging the run.
@Suite(.timeLimit(.minutes(2))) struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let context = ComputeContext(threadCount: threads)
        #expect(context.threadCount == threads)
        for count in [1, 2, 3, 7, 64, 1000, 4097] {
            let visits = UnsafeMutablePointer<ManagedAtomic<Int>>.allocate(capacity: count)
            for i in 0..<count { (visits + i).initialize(to: ManagedAtomic(0)) }
            context.parallelFor(count) { range in
                for i in range { visits[i].wrappingIncrement(ordering: .relaxed) }
            }
            #expect((0..<count).allSatisfy { visits[$0].load(ordering: .relaxed) == 1 })
            visits.deinitialize(count: count)
            visits.deallocate()
        }
    }

    @Test func thousandsOfUnevenForkJoins() {
        let context = ComputeContext(threadCount: 3)
        let total = ManagedAtomic<Int>(0)
        var expected = 0
        for round in 0..<3000 {
            let count = 1 + round % 37
            expected += count * (count - 1) / 2
            context.parallelFor(count) { range in
                for i in range {
                    // Uneven work: some indices spin much longer than others.
                    var x = 0
                    for k in 0..<(i % 5 == 0 ? 2000 : 10) { x &+= k }
                    if x < 0 { return }
                    total.wrappingIncrement(by: i, ordering: .relaxed)
                }
            }
        }
        #expect(total.load(ordering: .relaxed) == expected)
    }

    @Test func nestedAndConcurrentCallsRunInlineWithoutDeadlock() async {
        let context = ComputeContext(threadCount: 2)
        let inner = ManagedAtomic<Int>(0)
        context.parallelFor(8) { range in
            for _ in range {
                context.parallelFor(10) { innerRange in inner.wrappingIncrement(by: innerRange.count, ordering: .relaxed) }
            }
        }
        #expect(inner.load(ordering: .relaxed) == 80)

        let concurrent = ManagedAtomic<Int>(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200 {
                        context.parallelFor(16) { range in concurrent.wrappingIncrement(by: range.count, ordering: .relaxed) }
                    }
                }
            }
        }
        #expect(concurrent.load(ordering: .relaxed) == 4 * 200 * 16)
    }

    @Test func idleWorkersSleepAndWakeAgain() {
        let context = ComputeContext(threadCount: 2)
        let count = ManagedAtomic<Int>(0)
        for _ in 0..<3 {
            context.parallelFor(4) { range in count.wrappingIncrement(by: range.count, ordering: .relaxed) }
            Thread.sleep(forTimeInterval: 0.02) // longer than the spin budget: workers go to sleep
        }
        #expect(count.load(ordering: .relaxed) == 12)
    }

    @Test func contextsShutDownCleanly() {
        for threads in 1...4 {
            for _ in 0..<50 {
                let context = ComputeContext(threadCount: threads)
                let sum = ManagedAtomic<Int>(0)
                context.parallelFor(100) { range in sum.wrappingIncrement(by: range.count, ordering: .relaxed) }
                #expect(sum.load(ordering: .relaxed) == 100)
            }
        }
    }

    /// More participants than cores, grains that do not divide the counts, uneven work, and pauses
    /// past the spin budget so the workers fall asleep and are woken in the middle of the run.
    @Test(arguments: [2, 4])
    func oversubscribedStressWithSleepingWorkers(threads: Int) {
        guard let pool = forge_pool_create(Int32(threads)) else {
            Issue.record("pool creation failed")
            return
        }
        defer { forge_pool_destroy(pool) }
        final class Ledger {
            var visits: [ManagedAtomic<Int>]
            let chunkStartsOnGrain = ManagedAtomic<Bool>(true)
            var grain = 1
            init(capacity: Int) { visits = (0..<capacity).map { _ in ManagedAtomic(0) } }
        }
        let ledger = Ledger(capacity: 5000)
        var expectedVisits = [Int](repeating: 0, count: 5000)
        for round in 0..<2500 {
            let count = 1 + (round * 7919) % 4999
            ledger.grain = [1, 3, 4, 16, 17][round % 5]
            for i in 0..<count { expectedVisits[i] += 1 }
            withExtendedLifetime(ledger) {
                forge_pool_run(pool, Int64(count), Int64(ledger.grain), { context, begin, end in
                    guard let context else { return }
                    let ledger = Unmanaged<Ledger>.fromOpaque(context).takeUnretainedValue()
                    if begin % Int64(ledger.grain) != 0 { ledger.chunkStartsOnGrain.store(false, ordering: .relaxed) }
                    for i in Int(begin)..<Int(end) {
                        var spin = 0
                        for k in 0..<(i % 97 == 0 ? 3000 : 3) { spin &+= k }
                        if spin < 0 { return }
                        ledger.visits[i].wrappingIncrement(ordering: .relaxed)
                    }
                }, Unmanaged.passUnretained(ledger).toOpaque())
            }
            if round % 500 == 499 { Thread.sleep(forTimeInterval: 0.01) }
        }
        let startsOnGrain = ledger.chunkStartsOnGrain.load(ordering: .relaxed)
        #expect(startsOnGrain, "every chunk starts on a multiple of the grain")
        let mismatched = (0..<5000).filter { ledger.visits[$0].load(ordering: .relaxed) != expectedVisits[$0] }
        #expect(mismatched.isEmpty, "indices visited the wrong number of times: \(mismatched.prefix(8))")
    }

    @Test func shutdownWhileWorkersSleepOrSpin() {
        for pause in [0.0, 0.005] {
            for threads in [2, 3, 8] {
                let context = ComputeContext(threadCount: threads)
                let sum = ManagedAtomic<Int>(0)
                context.parallelFor(64) { range in sum.wrappingIncrement(by: range.count, ordering: .relaxed) }
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
                #expect(sum.load(ordering: .relaxed) == 64)
            }
        }
    }
}

@Suite struct MemoryBandwidthTests {
    @Test func streamSumAddsEveryByteAtAnyAlignmentAndLength() {
        var generator = SplitMix64(seed: 17)
        let bytes = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // 32 KiB and more: whole groups of the eight lockstep streams, then the rest; 256 bytes and
        // more: whole steps of the sequential stream.
        for (start, length) in [(0, 0), (0, 4096), (1, 4097), (3, 130), (5, 7), (0, 64), (0, 32768), (1, 65536 + 3000)] {
            var expected: UInt64 = 0
            var index = start
            while index + 8 <= start + length {
                var word: UInt64 = 0
                for b in 0..<8 { word |= UInt64(bytes[index + b]) << (8 * UInt64(b)) }
                expected &+= word
                index += 8
            }
            while index < start + length {
                expected &+= UInt64(bytes[index])
                index += 1
            }
            for lockstep: Int32 in [0, 1] {
                let sum = bytes.withUnsafeBytes { forge_stream_sum($0.baseAddress! + start, length, lockstep) }
                #expect(sum == expected, "start \(start), length \(length), lockstep \(lockstep)")
            }
        }
    }

    @Test func probeMeasuresAndRejectsBadSizes() throws {
        let measurement = try MemoryBandwidth.measure(bytes: 8 << 20, threads: 2, passes: 2)
        #expect(measurement.bytesPerSecond > 0 && measurement.bytesPerSecond.isFinite)
        #expect(measurement.bufferBytes == 8 << 20 && measurement.threads == 2 && measurement.passes == 2)
        #expect(throws: MemoryBandwidth.ProbeError.invalidSize(1000)) { try MemoryBandwidth.measure(bytes: 1000, threads: 1) }
        #expect(throws: MemoryBandwidth.ProbeError.invalidPasses(0)) { try MemoryBandwidth.measure(bytes: 1 << 20, threads: 1, passes: 0) }
    }
}
