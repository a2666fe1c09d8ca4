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
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].precedes(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Element? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let first = items[0]
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var preferred = left
            if left + 1 < count && items[left + 1].precedes(items[left]) { preferred = left + 1 }
            guard items[preferred].precedes(items[parent]) else { break }
            items.swapAt(preferred, parent)
            parent = preferred
        }
        return first
    }
}
