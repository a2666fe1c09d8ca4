import ForgeHub
import Foundation
import Testing

struct ModelCacheTests {
    /// A cache directory holding empty files of the given names, removed afterwards.
    private func withCache(_ names: [String], _ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "/forge-cache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in names { _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()) }
        try body(directory)
    }

    @Test func directoryComesFromTheEnvironment() {
        #expect(ModelCache.directory(environment: ["FORGE_MODELS": "/data/models", "HOME": "/home/u"]) == "/data/models")
        #expect(ModelCache.directory(environment: ["FORGE_MODELS": "", "HOME": "/home/u"]) == "/home/u/.cache/forge/models")
        #expect(ModelCache.directory(environment: ["HOME": "/home/u"]) == "/home/u/.cache/forge/models")
    }

    @Test func noArgumentMeansTheDefaultModel() throws {
        try withCache([ModelCache.defaultModelName, "other.gguf"]) { (directory: String) throws in
            #expect(try ModelCache.resolve(nil, directory: directory) == directory + "/" + ModelCache.defaultModelName)
        }
    }

    @Test func missingDefaultModelTellsHowToGetIt() throws {
        try withCache(["other.gguf"]) { (directory: String) throws in
            #expect(throws: HubError.defaultModelMissing(directory: directory)) { try ModelCache.resolve(nil, directory: directory) }
            let message = HubError.defaultModelMissing(directory: directory).description
            #expect(message.contains("scripts/fetch-models"))
            #expect(message.contains("forge pull"))
        }
    }

    @Test func namesAreLookedUpInTheCache() throws {
        let names = ["smollm2-135m-instruct-q4_1.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "qwen2.5-coder-0.5b-instruct-f16.gguf"]
        try withCache(names + ["smollm2-135m-instruct-q4_1.gguf.partial", ".hidden.gguf"]) { (directory: String) throws in
            #expect(try ModelCache.resolve("smollm2-135m-instruct-q4_1.gguf", directory: directory) == directory + "/smollm2-135m-instruct-q4_1.gguf")
            #expect(try ModelCache.resolve("smollm2-135m-instruct-q4_1", directory: directory) == directory + "/smollm2-135m-instruct-q4_1.gguf")
            #expect(try ModelCache.resolve("SmolLM2", directory: directory) == directory + "/smollm2-135m-instruct-q4_1.gguf")
            #expect(try ModelCache.resolve("qwen2.5-coder-0.5b-instruct-f", directory: directory) == directory + "/qwen2.5-coder-0.5b-instruct-f16.gguf")
            #expect(throws: HubError.ambiguousModel(name: "qwen", candidates: [names[2], names[1]])) {
                try ModelCache.resolve("qwen", directory: directory)
            }
            #expect(throws: HubError.modelNotFound(name: "llama", directory: directory, available: [names[2], names[1], names[0]])) {
                try ModelCache.resolve("llama", directory: directory)
            }
            #expect(ModelCache.models(in: directory) == [names[2], names[1], names[0]])
        }
    }

    @Test func pathsAreUsedAsGiven() throws {
        try withCache(["local.gguf"]) { (directory: String) throws in
            let path = directory + "/local.gguf"
            #expect(try ModelCache.resolve(path, directory: "/nonexistent") == path)
            #expect(throws: HubError.modelNotFound(name: directory + "/absent.gguf", directory: directory, available: ["local.gguf"])) {
                try ModelCache.resolve(directory + "/absent.gguf", directory: directory)
            }
            #expect(throws: HubError.modelNotFound(name: directory, directory: directory, available: ["local.gguf"])) {
                try ModelCache.resolve(directory, directory: directory)
            }
        }
    }

    @Test func emptyCacheSaysHowToFillIt() {
        let message = HubError.modelNotFound(name: "x", directory: "/c", available: []).description
        #expect(message.contains("scripts/fetch-models"))
    }
}
