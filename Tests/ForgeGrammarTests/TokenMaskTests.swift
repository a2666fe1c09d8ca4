import Testing
@testable import ForgeGrammar

/// The token mask over a vocabulary: the trie walk agrees with trying every token, and the rules
/// for end-of-generation and excluded tokens hold.
struct TokenMaskTests {
    /// Pieces that cross grammar elements, stop inside a UTF-8 character, duplicate each other, or
    /// are prefixes of each other. Id 0 is excluded (a control token), the last two end generation.
    static let pieces: [[UInt8]?] = {
        let texts = ["{", "}", "{\"", "\":", "\": \"", "\",", "\"}", "\"", "name", "na", "me", "age", "\"age\":", " ", "\n", "  ",
                     "1", "12", "0", "-", "-1", ".", "5}", "true", "tr", "ue", "null", ",", ", \"", "é", "日本", "ab", "abc", "x",
                     "[", "]", "[1", "1,", "1]", "\\n", "\\", "n", "u", "00e9", "{}", "a\"", "\"a\"", "🎉", "name\""]
        var pieces: [[UInt8]?] = [nil] + texts.map { Array($0.utf8) }
        pieces += [[0xE6], [0x97, 0xA5], [0xF0, 0x9F], [0x8E, 0x89], [0xC3], [0xA9, 0x22], [0xFF]]
        pieces.append(Array("name".utf8))
        pieces += [Array("<eos>".utf8), Array("<eot>".utf8)]
        return pieces
    }()

    static let vocabulary = TokenVocabulary(tokenBytes: pieces, endOfGeneration: [pieces.count - 2, pieces.count - 1])

    /// Walks the grammar along `path` (token ids), checking the mask against brute force at every
    /// step: each token tried on a fresh matcher replaying the path.
    private func checkMasks(_ grammar: Grammar, along path: [Int], pieces: [[UInt8]?] = pieces, vocabulary: TokenVocabulary = vocabulary,
                            sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let constraint = GrammarConstraint(grammar: grammar, vocabulary: vocabulary)
        for step in 0...path.count {
            let mask = constraint.allowedTokens()
            for token in 0..<vocabulary.count {
                let expected: Bool
                if vocabulary.isEndOfGeneration(token) {
                    expected = constraint.canEnd
                } else if let bytes = pieces[token], token != 0 {
                    var matcher = GrammarMatcher(grammar: grammar)
                    var replay = true
                    for earlier in path[..<step] { replay = replay && matcher.advance(pieces[earlier]!) }
                    expected = replay && matcher.advance(bytes)
                } else {
                    expected = false
                }
                #expect(mask.contains(token) == expected, "step \(step), token \(token)", sourceLocation: sourceLocation)
                #expect(constraint.allows(token) == expected, "step \(step), token \(token)", sourceLocation: sourceLocation)
            }
            guard step < path.count else { break }
            #expect(constraint.accept(path[step]), "step \(step) accepts its token", sourceLocation: sourceLocation)
        }
    }

    private func id(_ text: String) -> Int { id(Array(text.utf8)) }

    private func id(_ bytes: [UInt8]) -> Int { Self.pieces.firstIndex { $0 == bytes }! }

    @Test func maskEqualsBruteForceThroughAnObject() throws {
        let grammar = try Grammar(jsonSchema: #"""
            {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]}
            """#)
        // {"name": "日é\né", "age": -12}: "日" comes in two tokens, the second "é" in two with the
        // closing quote, so tokens stop inside characters and cross from a string to the object.
        let path = [id("{\""), id("name"), id("\": \""), id([0xE6]), id([0x97, 0xA5]), id("é"), id("\\n"), id([0xC3]),
                    id([0xA9, 0x22]), id(","), id(" "), id("\"age\":"), id(" "), id("-"), id("12"), id("}")]
        checkMasks(grammar, along: path)
    }

    @Test func maskEqualsBruteForceForAGrammarWithAlternatives() throws {
        let grammar = try Grammar(gbnf: #"""
            root ::= item ("," " "? item)* "]"?
            item ::= "true" | "null" | [0-9]+ | "ab" "c"? | "x"
            """#)
        checkMasks(grammar, along: [id("tr"), id("ue"), id(","), id(" "), id("12"), id("1,"), id("abc"), id(","), id("x"), id("]")])
    }

    /// States along a long counted repetition share the mask of their short tokens; tokens longer
    /// than the shared lookahead are still checked against each state, near the limit too.
    @Test func maskEqualsBruteForceAlongLongRepetitions() throws {
        var pieces: [[UInt8]?] = [nil]
        for length in 1...70 {
            pieces.append(Array(String(repeating: "a", count: length).utf8))
            pieces.append(Array((String(repeating: "b", count: length - 1) + "\"").utf8))
        }
        pieces += [Array("\"".utf8), Array("é".utf8), Array("\"}".utf8), Array("<end>".utf8)]
        let vocabulary = TokenVocabulary(tokenBytes: pieces, endOfGeneration: [pieces.count - 1])
        func id(_ text: String) -> Int { pieces.firstIndex { $0 == Array(text.utf8) }! }
        let a = { (count: Int) in id(String(repeating: "a", count: count)) }

        let optional = try Grammar(gbnf: #"root ::= "\"" [a-zé]{0,100} "\"" "}"?"#)
        var (after20, after21, after30) = (GrammarMatcher(grammar: optional), GrammarMatcher(grammar: optional), GrammarMatcher(grammar: optional))
        after20.advance(Array(("\"" + String(repeating: "a", count: 20)).utf8))
        after21.advance(Array(("\"" + String(repeating: "a", count: 21)).utf8))
        after30.advance(Array(("\"" + String(repeating: "a", count: 30)).utf8))
        let standIn = { (matcher: GrammarMatcher) in matcher.automaton.lookaheadEquivalent(matcher.state, lookahead: 15) }
        #expect(after20.state != after21.state && standIn(after20) == standIn(after21), "20 and 21 copies left share a stand-in")
        #expect(standIn(after30) == standIn(after20), "70 and 80 copies left share a stand-in")
        var after90 = GrammarMatcher(grammar: optional)
        after90.advance(Array(("\"" + String(repeating: "a", count: 90)).utf8))
        #expect(standIn(after90) == after90.state, "10 copies left: within the lookahead, its own")
        #expect(Set(vocabulary.tiers.map(\.lookahead)) == [15, 31, 63, 70], "tiers up to the longest token")
        checkMasks(optional, along: [id("\""), a(3), a(40), a(30), a(10), id("é"), a(8), a(2), a(1), a(1), a(1)],
                   pieces: pieces, vocabulary: vocabulary)
        let required = try Grammar(gbnf: #"root ::= "\"" [ab]{70,90} "\"""#)
        checkMasks(required, along: [id("\""), a(2), a(50), a(7), a(10), a(5), a(5)], pieces: pieces, vocabulary: vocabulary)
        // The JSON schema form: maxLength over the escape-aware character rule.
        let schema = try Grammar(jsonSchema: #"{"type": "string", "minLength": 20, "maxLength": 80}"#)
        checkMasks(schema, along: [id("\""), a(17), a(40), a(12), a(2), a(5)], pieces: pieces, vocabulary: vocabulary)
    }

    @Test func endOfGenerationOnlyWhereTheGrammarCanEnd() throws {
        let (eos, eot) = (Self.pieces.count - 2, Self.pieces.count - 1)
        let constraint = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= "ab" "c"?"#), vocabulary: Self.vocabulary)
        #expect(!constraint.allowedTokens().contains(eos))
        #expect(!constraint.allows(eos))
        #expect(constraint.accept(id("ab")))
        let afterAB = constraint.allowedTokens()
        #expect(afterAB.contains(eos) && afterAB.contains(eot) && constraint.allows(eos))
        #expect(afterAB.allowedCount == 2, "no token is a lone c")
        #expect(constraint.canEnd && !constraint.isComplete)

        let complete = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= "x""#), vocabulary: Self.vocabulary)
        #expect(complete.accept(id("x")))
        #expect(complete.isComplete)
        let mask = complete.allowedTokens()
        #expect(mask.allowedCount == 2 && mask.contains(eos) && mask.contains(eot), "only end-of-generation after completion")
    }

    @Test func aGrammarNoTokenCanContinueEndsGeneration() throws {
        let constraint = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= "q" "q""#), vocabulary: Self.vocabulary)
        let mask = constraint.allowedTokens()
        #expect(mask.allowedCount == 2 && mask.contains(Self.pieces.count - 1), "end-of-generation rather than a broken grammar")
    }

    @Test func controlTokensAreNeverAllowed() throws {
        let constraint = GrammarConstraint(grammar: try Grammar(gbnf: "root ::= [^\\x00]*"), vocabulary: Self.vocabulary)
        let mask = constraint.allowedTokens()
        #expect(!mask.contains(0) && !constraint.allows(0) && !constraint.accept(0))
        #expect(mask.contains(id("name")) && mask.contains(id("é")))
        #expect(!mask.contains(Self.pieces.firstIndex { $0 == [0xFF] }!), "0xFF is never UTF-8")
    }

    @Test func duplicatePiecesAreBothAllowed() throws {
        let constraint = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= "name""#), vocabulary: Self.vocabulary)
        let mask = constraint.allowedTokens()
        let ids = Self.pieces.indices.filter { Self.pieces[$0] == Array("name".utf8) }
        #expect(ids.count == 2 && ids.allSatisfy(mask.contains))
        #expect(mask.contains(id("na")) && !mask.contains(id("me")))
    }

    @Test func applyingTheMaskSetsOnlyDisallowedLogitsToMinusInfinity() throws {
        let constraint = GrammarConstraint(grammar: try Grammar(gbnf: #"root ::= [0-9]+"#), vocabulary: Self.vocabulary)
        var logits = [Float](repeating: 1, count: Self.vocabulary.count)
        let mask = constraint.allowedTokens()
        logits.withUnsafeMutableBufferPointer { mask.apply(to: $0) }
        for token in logits.indices { #expect((logits[token] == 1) == mask.contains(token)) }
        #expect(mask.contains(id("12")) && mask.contains(id("0")) && !mask.contains(id("-1")))
    }
}
