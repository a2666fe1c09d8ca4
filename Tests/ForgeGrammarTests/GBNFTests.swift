import Testing
@testable import ForgeGrammar

/// GBNF text: what it accepts and rejects, and how it reports mistakes.
struct GBNFTests {
    @Test func literalsAlternativesAndGroups() throws {
        let grammar = try Grammar(gbnf: #"""
            root ::= greeting (" " name)? "!"   # a comment
            greeting ::= "hello" | "hi"
            name ::= [A-Z] [a-z]*
            """#)
        for text in ["hello!", "hi!", "hello Ada!", "hi Bo!"] { #expect(matches(grammar, text), "\(text)") }
        for text in ["hello", "hey!", "hello ada!", "hello  Ada!", "hi!!"] { #expect(!matches(grammar, text), "\(text)") }
        #expect(isPrefix(grammar, "hello A"))
        #expect(!isPrefix(grammar, "hello a"))
    }

    @Test func repetitionBounds() throws {
        let grammar = try Grammar(gbnf: #"root ::= "a"{2} "b"{1,3} "c"{2,} "d"? "e"* "f"+"#)
        #expect(matches(grammar, "aabccf"))
        #expect(matches(grammar, "aabbbcccccdeeeff"))
        #expect(!matches(grammar, "abccf"), "too few a")
        #expect(!matches(grammar, "aabbbbccf"), "too many b")
        #expect(!matches(grammar, "aabcf"), "too few c")
        #expect(!matches(grammar, "aabccddf"), "two d")
        #expect(!matches(grammar, "aabcc"), "no f")
    }

    @Test func escapesAndClasses() throws {
        let grammar = try Grammar(gbnf: #"""
            root ::= "\"" [^"\\\n]* "\"" "\t" [\x41-\x43] "\u00e9" "\\" . [\-\]]
            """#)
        #expect(matches(grammar, "\"any thing\"\tBé\\x-"))
        #expect(matches(grammar, "\"\"\tAé\\€]"))
        #expect(!matches(grammar, "\"a\nb\"\tBé\\x-"), "newline excluded")
        #expect(!matches(grammar, "\"\"\tDé\\x-"), "D is outside the range")
        #expect(!matches(grammar, "\"\"\tAé\\x+"))
    }

    @Test func multiByteCharactersAndTokensEndingInsideThem() throws {
        let grammar = try Grammar(gbnf: #"root ::= "<" [^<>]+ ">" | "π" [α-ω]{2}"#)
        #expect(matches(grammar, "<日本語 ok>"))
        #expect(matches(grammar, "πβγ"))
        #expect(!matches(grammar, "πβA"))
        #expect(!matches(grammar, "πab"))
        // Feed "日" one byte at a time: every prefix of its UTF-8 is accepted, the character completes.
        var matcher = GrammarMatcher(grammar: grammar)
        var steps = [matcher.advance(Array("<".utf8))]
        for byte in Array("日".utf8) { steps.append(matcher.advance([byte])) }
        steps.append(matcher.advance(Array(">".utf8)))
        #expect(steps == [true, true, true, true, true])
        #expect(matcher.canEnd)
        // A continuation byte where a character must start, and an over-long encoding, are refused.
        var fresh = GrammarMatcher(grammar: grammar)
        let opened = fresh.advance([0x3C])
        #expect(opened)
        #expect(!fresh.accepts([0x80]))
        #expect(!fresh.accepts([0xC0, 0xBC]))
        #expect(!fresh.accepts([0xED, 0xA0, 0x80]), "a surrogate is not UTF-8")
        // "β" (CE B2) split across two advances after "π" (CF 80).
        var split = GrammarMatcher(grammar: grammar)
        let first = split.advance([0xCF, 0x80, 0xCE])
        #expect(first)
        #expect(!split.accepts([0x41]))
        let second = split.advance([0xB2, 0xCE, 0xB3])
        #expect(second)
        #expect(split.canEnd && split.isComplete)
    }

    @Test func rulesMaySpanLinesAndReferenceEachOtherRecursively() throws {
        let grammar = try Grammar(gbnf: """
            root ::=
                list
            list ::= "(" (item ("," item)*)? ")"
            item ::= [0-9]+
                   | list
            """)
        #expect(matches(grammar, "()"))
        #expect(matches(grammar, "(1,(2,(3)),())"))
        #expect(!matches(grammar, "(1,(2)"))
        #expect(!matches(grammar, "(1,)"))
    }

    @Test func completeMeansNothingMayFollow() throws {
        let grammar = try Grammar(gbnf: #"root ::= "ab" "c"?"#)
        var matcher = GrammarMatcher(grammar: grammar)
        matcher.advance(Array("ab".utf8))
        #expect(matcher.canEnd && !matcher.isComplete)
        matcher.advance(Array("c".utf8))
        #expect(matcher.isComplete)
        let snapshot = matcher
        matcher.reset()
        #expect(!matcher.canEnd && snapshot.isComplete, "copies are independent snapshots")
    }

    @Test func aGrammarThatCanNeverEndIsRejected() throws {
        for text in [#"root ::= "a" root"#, "root ::= x\nx ::= \"b\" x | \"c\" x"] {
            #expect {
                try Grammar(gbnf: text)
            } throws: { error in
                (error as? GrammarError)?.reason.contains("can never end") == true
            }
        }
        // An alternative that cannot end is dropped; the rest of the rule still works.
        let grammar = try Grammar(gbnf: "root ::= \"a\" | loop\nloop ::= \"b\" loop")
        #expect(matches(grammar, "a"))
        #expect(!isPrefix(grammar, "b"))
    }

    @Test func leftRecursionIsRejected() throws {
        #expect(throws: GrammarError.self) { try Grammar(gbnf: "root ::= root \"a\" | \"b\"") }
        #expect(throws: GrammarError.self) { try Grammar(gbnf: "root ::= x \"a\"\nx ::= \"\" | root") }
        #expect(throws: GrammarError.self) { try Grammar(gbnf: #"root ::= ("a"?)* "b""#) }
    }

    @Test func errorsSayWhere() throws {
        func failure(_ text: String) -> GrammarError? {
            do {
                _ = try Grammar(gbnf: text)
                return nil
            } catch {
                return error as? GrammarError
            }
        }
        let undefined = failure("root ::= item\nitem ::= \"a\" itme")
        #expect(undefined?.location == .text(line: 2, column: 14))
        #expect(undefined?.description == "grammar line 2, column 14: undefined rule 'itme'")
        #expect(failure(#"root ::= "abc"#)?.location == .text(line: 1, column: 10))
        #expect(failure(#"root ::= "abc"#)?.reason == "unterminated string literal")
        #expect(failure("root ::= [a-z")?.reason == "unterminated character class")
        #expect(failure(#"root ::= "\q""#)?.reason == "unknown escape '\\q'")
        #expect(failure("item ::= \"a\"")?.reason == "the grammar has no 'root' rule")
        #expect(failure("root ::= (\"a\"")?.reason.contains("expected ')'") == true)
        #expect(failure("root ::= \"a\"{3,2}")?.location == .text(line: 1, column: 13))
        #expect(failure("root ::= \"a\"\nroot ::= \"b\"")?.location == .text(line: 2, column: 1))
        #expect(failure("root ::= \"a\" ) \"b\"")?.reason == "')' without a matching '('")
    }
}
