import Atomics
import ForgeKernels
import Foundation
import Testing

@Suite struct ThreadPoolTests {
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
}
