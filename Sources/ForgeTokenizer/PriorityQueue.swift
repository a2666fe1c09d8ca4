/// Values a `PriorityQueue` can order.
protocol PriorityOrdered {
    /// Whether `self` leaves the queue before `other`.
    func precedes(_ other: Self) -> Bool
}

/// A binary heap that pops the element that precedes all others.
struct PriorityQueue<Element: PriorityOrdered> {
    private var items: [Element] = []

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func insert(_ item: Element) {
        items.append(item)
        items.withUnsafeMutableBufferPointer { heap in
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard item.precedes(heap[parent]) else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = item
        }
    }

    mutating func popFirst() -> Element? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        return items.withUnsafeMutableBufferPointer { heap in
            let first = heap[0]
            let count = heap.count
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < count else { break }
                var preferred = left
                if left + 1 < count && heap[left + 1].precedes(heap[left]) { preferred = left + 1 }
                guard heap[preferred].precedes(last) else { break }
                heap[parent] = heap[preferred]
                parent = preferred
            }
            heap[parent] = last
            return first
        }
    }
}
