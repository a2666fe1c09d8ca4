/// Turns parsed GBNF rules into a `GrammarProgram`: groups, repetitions and non-ASCII character
/// classes become rules of their own, every reference is resolved, alternatives that can never
/// finish are dropped, and left recursion (which the matcher cannot expand) is refused.
struct GrammarCompiler {
    private enum Item: Hashable {
        case bytes(ByteSet)
        case rule(Int)
    }

    private var alternatives: [[[Item]]] = []
    /// The user rule each rule was made for, to name it in errors.
    private var origins: [Int] = []
    private var userRules: [GrammarRule] = []
    private var ruleIndex: [String: Int] = [:]
    private var classItems: [CodePointSet: [Item]] = [:]
    /// Counted repetitions: their rules from one copy left upwards, and the repeated items.
    private var chains: [(rules: [Int], unit: [Item], optional: Bool)] = []

    static func compile(_ rules: [GrammarRule], root: String) throws -> GrammarProgram {
        var compiler = GrammarCompiler()
        return try compiler.run(rules, root: root)
    }

    private mutating func run(_ rules: [GrammarRule], root rootName: String) throws -> GrammarProgram {
        for rule in rules {
            if let earlier = ruleIndex[rule.name] {
                let first = userRules[earlier].location
                throw GrammarError.text("the rule '\(rule.name)' is defined twice (first on line \(first.line))",
                                        line: rule.location.line, column: rule.location.column)
            }
            ruleIndex[rule.name] = userRules.count
            userRules.append(rule)
            alternatives.append([])
            origins.append(origins.count)
        }
        guard let root = ruleIndex[rootName] else { throw GrammarError("the grammar has no '\(rootName)' rule") }
        for (index, rule) in userRules.enumerated() {
            alternatives[index] = try lowerAlternatives(rule.expression, origin: index)
        }
        try dropUnfinishable(root: root)
        let nullable = nullableRules()
        try refuseLeftRecursion(nullable: nullable)
        return flatten(root: root, nullable: nullable)
    }

    private mutating func newRule(origin: Int) -> Int {
        alternatives.append([])
        origins.append(origin)
        return alternatives.count - 1
    }

    private mutating func lowerAlternatives(_ expression: GrammarExpression, origin: Int) throws -> [[Item]] {
        if case .choice(let options) = expression {
            return try options.map { try lowerSequence($0, origin: origin) }
        }
        return [try lowerSequence(expression, origin: origin)]
    }

    private mutating func lowerSequence(_ expression: GrammarExpression, origin: Int) throws -> [Item] {
        switch expression {
        case .sequence(let parts):
            var items: [Item] = []
            for part in parts { items += try lowerSequence(part, origin: origin) }
            return items
        case .literal(let codePoints):
            return codePoints.flatMap { UTF8Ranges.encode($0).map { Item.bytes(ByteSet($0...$0)) } }
        case .characters(let set):
            return lowerClass(set, origin: origin)
        case .reference(let name, let location):
            guard let index = ruleIndex[name] else {
                throw GrammarError.text("undefined rule '\(name)'", line: location.line, column: location.column)
            }
            return [.rule(index)]
        case .choice:
            let rule = newRule(origin: origin)
            alternatives[rule] = try lowerAlternatives(expression, origin: origin)
            return [.rule(rule)]
        case .repetition(let inner, let minimum, let maximum):
            let unit = try lowerSequence(inner, origin: origin)
            guard !unit.isEmpty else { return [] }
            var tail: Int?
            if let maximum {
                // x{0,k} nests as (x (x ...)?)?: each copy is optional only after the one before.
                tail = chain(of: unit, count: maximum - minimum, optional: true, then: nil, origin: origin)
            } else {
                let rule = newRule(origin: origin)
                alternatives[rule] = [unit + [.rule(rule)], []]
                tail = rule
            }
            // Few required copies stay inline; many become a chain, whose levels masks can share.
            if minimum > GrammarProgram.shortestLookahead + 1 {
                return [.rule(chain(of: unit, count: minimum, optional: false, then: tail, origin: origin)!)]
            }
            return Array([[Item]](repeating: unit, count: minimum).joined()) + (tail.map { [.rule($0)] } ?? [])
        }
    }

    /// Rules for `count` copies of `unit` followed by `then`, one rule per number of copies left;
    /// returns the rule with all of them left (nil for none).
    private mutating func chain(of unit: [Item], count: Int, optional: Bool, then continuation: Int?, origin: Int) -> Int? {
        var rules: [Int] = []
        var next = continuation
        for _ in 0..<count {
            let rule = newRule(origin: origin)
            let copy = unit + (next.map { [.rule($0)] } ?? [])
            alternatives[rule] = optional ? [copy, []] : [copy]
            rules.append(rule)
            next = rule
        }
        if count > GrammarProgram.shortestLookahead + 1 { chains.append((rules, unit, optional)) }
        return rules.isEmpty ? continuation : next
    }

    /// A character class as bytes: one byte set for its ASCII part, byte-range runs for the rest.
    private mutating func lowerClass(_ set: CodePointSet, origin: Int) -> [Item] {
        let valid = set.subtracting(UTF8Ranges.surrogates)
        if let items = classItems[valid] { return items }
        var ascii = ByteSet()
        var runs: [[Item]] = []
        for range in valid.ranges {
            for run in UTF8Ranges.sequences(range) {
                if run.count == 1 {
                    ascii.insert(run[0])
                } else {
                    runs.append(run.map { .bytes(ByteSet($0)) })
                }
            }
        }
        let items: [Item]
        if runs.isEmpty {
            items = [.bytes(ascii)]
        } else if ascii.isEmpty && runs.count == 1 {
            items = runs[0]
        } else {
            let rule = newRule(origin: origin)
            alternatives[rule] = (ascii.isEmpty ? [] : [[.bytes(ascii)]]) + runs
            items = [.rule(rule)]
        }
        classItems[valid] = items
        return items
    }

    /// Keeps only alternatives that can derive a finite string, so every prefix the matcher
    /// accepts can still be completed; refuses a root that cannot.
    private mutating func dropUnfinishable(root: Int) throws {
        var finishable = [Bool](repeating: false, count: alternatives.count)
        func canFinish(_ item: Item) -> Bool {
            switch item {
            case .bytes(let set): !set.isEmpty
            case .rule(let rule): finishable[rule]
            }
        }
        var changed = true
        while changed {
            changed = false
            for rule in alternatives.indices where !finishable[rule] {
                if alternatives[rule].contains(where: { $0.allSatisfy(canFinish) }) {
                    finishable[rule] = true
                    changed = true
                }
            }
        }
        guard finishable[root] else {
            let location = userRules[root].location
            throw GrammarError.text("the grammar can never end: '\(userRules[root].name)' derives no finite text",
                                    line: location.line, column: location.column)
        }
        for rule in alternatives.indices {
            alternatives[rule] = alternatives[rule].filter { $0.allSatisfy(canFinish) }
        }
    }

    /// Which rules can match the empty string.
    private func nullableRules() -> [Bool] {
        var nullable = [Bool](repeating: false, count: alternatives.count)
        var changed = true
        while changed {
            changed = false
            for rule in alternatives.indices where !nullable[rule] {
                let empty = alternatives[rule].contains { alternative in
                    alternative.allSatisfy { item in
                        if case .rule(let inner) = item { return nullable[inner] }
                        return false
                    }
                }
                if empty {
                    nullable[rule] = true
                    changed = true
                }
            }
        }
        return nullable
    }

    /// Refuses a rule that can reach itself before consuming a byte: expanding it would not end.
    private func refuseLeftRecursion(nullable: [Bool]) throws {
        // Rules each rule can begin with (through a prefix that can be empty).
        let leftmost: [[Int]] = alternatives.map { options in
            var callees: [Int] = []
            for alternative in options {
                for item in alternative {
                    guard case .rule(let inner) = item else { break }
                    callees.append(inner)
                    if !nullable[inner] { break }
                }
            }
            return callees
        }
        // Depth-first search for a cycle: 1 on the current path, 2 finished.
        var mark = [UInt8](repeating: 0, count: alternatives.count)
        for start in alternatives.indices where mark[start] == 0 {
            var path: [(rule: Int, next: Int)] = [(start, 0)]
            mark[start] = 1
            while let (rule, next) = path.last {
                guard next < leftmost[rule].count else {
                    mark[rule] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let callee = leftmost[rule][next]
                if mark[callee] == 1 {
                    let user = userRules[origins[callee]]
                    throw GrammarError.text(
                        "the rule '\(user.name)' is left-recursive: it can reach itself before matching any character "
                            + "(a repetition of something that can be empty does too)",
                        line: user.location.line, column: user.location.column)
                }
                if mark[callee] == 0 {
                    mark[callee] = 1
                    path.append((callee, 0))
                }
            }
        }
    }

    private func flatten(root: Int, nullable: [Bool]) -> GrammarProgram {
        var elements: [GrammarProgram.Element] = []
        var byteSets: [ByteSet] = []
        var byteSetIndex: [ByteSet: Int32] = [:]
        var starts: [[Int32]] = []
        for options in alternatives {
            var ruleStarts: [Int32] = []
            for alternative in options {
                ruleStarts.append(Int32(elements.count))
                for item in alternative {
                    switch item {
                    case .bytes(let set):
                        let index = byteSetIndex[set] ?? {
                            byteSets.append(set)
                            byteSetIndex[set] = Int32(byteSets.count - 1)
                            return Int32(byteSets.count - 1)
                        }()
                        elements.append(.bytes(index))
                    case .rule(let rule):
                        elements.append(.rule(Int32(rule)))
                    }
                }
                elements.append(.end)
            }
            starts.append(ruleStarts)
        }
        // A chain's levels stand in for each other only if every copy takes a byte at least.
        var repetitions: [[Int32]] = []
        var slots: [Int32: GrammarProgram.RepetitionSlot] = [:]
        for chain in chains where chain.rules.allSatisfy({ alternatives[$0].count == (chain.optional ? 2 : 1) }) {
            let empty = chain.unit.allSatisfy { item in
                if case .rule(let inner) = item { return nullable[inner] }
                return false
            }
            if empty { continue }
            let levelStarts = chain.rules.map { starts[$0][0] }
            for (level, start) in levelStarts.enumerated().dropFirst() {
                for offset in 0..<Int32(chain.unit.count + 1) {
                    slots[start + offset] = GrammarProgram.RepetitionSlot(repetition: repetitions.count, level: level + 1, offset: offset)
                }
            }
            repetitions.append(levelStarts)
        }
        return GrammarProgram(elements: elements, byteSets: byteSets, alternativeStarts: starts, root: Int32(root),
                              repetitions: repetitions, repetitionSlots: slots)
    }
}
