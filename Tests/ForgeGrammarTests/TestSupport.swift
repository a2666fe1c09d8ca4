import Foundation
@testable import ForgeGrammar

/// Whether the grammar matches all of `text`, start to end.
func matches(_ grammar: Grammar, _ text: String) -> Bool {
    var matcher = GrammarMatcher(grammar: grammar)
    return matcher.advance(Array(text.utf8)) && matcher.canEnd
}

/// Whether `text` can start a sentence of the grammar.
func isPrefix(_ grammar: Grammar, _ text: String) -> Bool {
    GrammarMatcher(grammar: grammar).accepts(Array(text.utf8))
}

func schemaGrammar(_ schema: String) throws -> Grammar {
    try Grammar(jsonSchema: schema)
}

/// A random sentence of the grammar: random allowed bytes, then, past `budget` bytes, the first
/// allowed of a few closing bytes, so the walk ends. Nil if it did not end within `limit` bytes.
func randomSentence(of grammar: Grammar, seed: UInt64, budget: Int = 60, limit: Int = 2000) -> [UInt8]? {
    var matcher = GrammarMatcher(grammar: grammar)
    var random = seed
    func next() -> UInt64 {
        random = random &* 6364136223846793005 &+ 1442695040888963407
        return random >> 33
    }
    var output: [UInt8] = []
    let closing = Array(#""}]0ae"#.utf8)
    while output.count < limit {
        if matcher.canEnd && (output.count >= budget || next() % 8 == 0) { return output }
        let allowed = (0...255).map(UInt8.init).filter { matcher.accepts([$0]) }
        guard !allowed.isEmpty else { return matcher.canEnd ? output : nil }
        let choice = output.count >= budget ? (closing.first(where: allowed.contains) ?? allowed[Int(next() % UInt64(allowed.count))])
            : allowed[Int(next() % UInt64(allowed.count))]
        matcher.advance([choice])
        output.append(choice)
    }
    return nil
}

func parsedJSON(_ bytes: [UInt8]) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}
