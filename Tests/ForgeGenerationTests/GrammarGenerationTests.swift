import Foundation
import ForgeGeneration
import ForgeGrammar
import ForgeKernels
import Testing

/// Generation under a grammar with a real (tiny, random-weight) model: whatever the model prefers,
/// the output follows the schema and generation stops where the grammar is complete.
struct GrammarGenerationTests {
    static let prompt = [256] + Array("the keeper".utf8).map(Int.init)
    static let schema = #"""
        {"type": "object",
         "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0, "maximum": 120},
                        "ok": {"type": "boolean"}, "color": {"enum": ["red", "green"]},
                        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3}},
         "required": ["name", "age", "ok", "color", "tags"]}
        """#

    /// Checks every constraint of `schema` on a reply.
    private func validate(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            Issue.record("not a JSON object: \(text)", sourceLocation: sourceLocation)
            return
        }
        #expect(Set(object.keys) == ["name", "age", "ok", "color", "tags"], sourceLocation: sourceLocation)
        #expect(((object["name"] as? String)?.count ?? 99) <= 12, sourceLocation: sourceLocation)
        let age = object["age"] as? Int
        #expect(age.map { (0...120).contains($0) } == true, "\(text)", sourceLocation: sourceLocation)
        #expect(object["ok"] is Bool, sourceLocation: sourceLocation)
        #expect(["red", "green"].contains(object["color"] as? String ?? ""), sourceLocation: sourceLocation)
        let tags = object["tags"] as? [String]
        #expect(tags.map { $0.count <= 3 && $0.allSatisfy { $0.count <= 5 } } == true, "\(text)", sourceLocation: sourceLocation)
    }

    @Test func greedyOutputFollowsTheSchemaAndStopsWhenComplete() throws {
        let tiny = try TinyLanguageModel(contextLength: 512)
        let session = try GenerationSession(model: tiny.model, contextSize: 512, threadCount: 2)
        let parameters = GenerationParameters(maxTokens: 400, sampling: .greedy, grammar: try Grammar(jsonSchema: Self.schema))
        let result = try session.generate(prompt: Self.prompt, parameters: parameters)
        validate(result.text)
        #expect(result.finishReason == .stop)
        #expect(result.outputTokens.count < 400)
        #expect(!result.outputTokens.contains(257), "stopped by the complete grammar, no end token needed")

        // Unconstrained, the same model writes only letters and spaces.
        let free = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 20, sampling: .greedy))
        #expect(free.text.allSatisfy { $0.isLetter || $0 == " " })
    }

    @Test func toolCallsInTheOutputComeBackParsed() throws {
        let tiny = try TinyLanguageModel(contextLength: 512)
        let session = try GenerationSession(model: tiny.model, contextSize: 512, threadCount: 2)
        let call = try Grammar(gbnf: #"""
            root ::= "Sure. <tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"" [a-z]{1,8} "\"}}</tool_call>"
            """#)
        var parameters = GenerationParameters(maxTokens: 200, sampling: .greedy, grammar: call, toolNames: ["get_weather"])
        let result = try session.generate(prompt: Self.prompt, parameters: parameters)
        #expect(result.toolCalls.count == 1, "\(result.text)")
        #expect(result.toolCalls.first?.name == "get_weather")
        let arguments = try JSONSerialization.jsonObject(with: Data((result.toolCalls.first?.arguments ?? "").utf8)) as? [String: String]
        #expect(arguments?["city"].map { (1...8).contains($0.count) && $0.allSatisfy(\.isLowercase) } == true)

        parameters.toolNames = []
        #expect(try session.generate(prompt: Self.prompt, parameters: parameters).toolCalls.isEmpty, "no tools offered, no calls parsed")
    }

    @Test func sampledOutputFollowsTheSchemaForEverySeed() throws {
        let tiny = try TinyLanguageModel(contextLength: 512)
        let session = try GenerationSession(model: tiny.model, contextSize: 512, threadCount: 2)
        let grammar = try Grammar(jsonSchema: Self.schema)
        for seed: UInt64 in [1, 2, 3] {
            var sampling = SamplingParameters()
            sampling.temperature = 1.5
            sampling.topK = 0
            sampling.minP = 0
            sampling.seed = seed
            let result = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 400, sampling: sampling, grammar: grammar))
            validate(result.text)
            #expect(result.finishReason == .stop)
        }
    }

    /// The sampler never picks a token the mask excludes, greedy (the fast path and the masked
    /// scan agree with brute force) or drawn.
    @Test func samplerKeepsToTheMask() throws {
        // 300 tokens: 200 one-character pieces and 100 two-character ones.
        let characters = Array("abcdefghij0123456789".utf8)
        let pieces: [[UInt8]?] = (0..<300).map { (id: Int) -> [UInt8]? in
            id < 200 ? [characters[id % 20]] : [characters[id % 20], characters[(id / 20) % 20]]
        }
        let vocabulary = TokenVocabulary(tokenBytes: pieces, endOfGeneration: [])
        // Digits only (scattered bits), or every piece (whole words of the mask set).
        let grammars = [try Grammar(gbnf: "root ::= [0-9]+"), try Grammar(gbnf: "root ::= [a-j0-9]+")]
        var random = SplitMix64(seed: 7)
        for round in 0..<50 {
            let constraint = GrammarConstraint(grammar: grammars[round % 2], vocabulary: vocabulary)
            let logits = (0..<300).map { (_: Int) -> Float in Float(random.next() % 1000) / 100 - 5 }
            let mask = constraint.allowedTokens()
            let allowed = (0..<300).filter { mask.contains($0) }
            let expected = allowed.max { (a: Int, b: Int) -> Bool in logits[a] < logits[b] || (logits[a] == logits[b] && a > b) }
            let greedy = logits.withUnsafeBufferPointer { Sampler.argmax($0, allowed: mask) }
            #expect(greedy == expected)
            var sampler = Sampler(parameters: .greedy)
            #expect(logits.withUnsafeBufferPointer { sampler.sample(logits: $0, history: [], constraint: constraint) } == expected)
            var sampling = SamplingParameters()
            sampling.seed = UInt64(round)
            sampling.temperature = 2
            var drawing = Sampler(parameters: sampling)
            let drawn = logits.withUnsafeBufferPointer { drawing.sample(logits: $0, history: [], constraint: constraint) }
            #expect(mask.contains(drawn))
        }
    }

    @Test func anyJSONObject() throws {
        let tiny = try TinyLanguageModel(contextLength: 512)
        let session = try GenerationSession(model: tiny.model, contextSize: 512, threadCount: 2)
        let result = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 300, sampling: .greedy, grammar: .jsonObject))
        #expect(result.finishReason == .stop, "\(result.text)")
        #expect((try? JSONSerialization.jsonObject(with: Data(result.text.utf8))) is [String: Any], "\(result.text)")
    }
}

