import ForgeCLI
import ForgeGGUF
import ForgeHub
import Foundation
import Testing

/// `forge template` parsed and run in-process, on files written to a temporary directory.
@Suite struct TemplateCommandTests {
    private let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("forge-template-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    private func file(_ name: String, _ contents: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func render(_ arguments: [String]) throws -> String {
        let command = try Forge.parseAsRoot(["template"] + arguments)
        let template = try #require(command as? TemplateCommand)
        return try template.renderedPrompt()
    }

    @Test func templateFileWithWholeContext() throws {
        let template = try file("t.jinja", "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}{% endfor %}{{ extra | tojson }}\n")
        let context = try file("c.json", #"{"messages": [{"role": "user", "content": "  é 🙂  "}], "bos_token": "<s>", "extra": {"z": 1.0, "a": [true, null]}}"#)
        #expect(try render(["--template", template, "--context", context]) == #"<s><user>é 🙂{"z": 1.0, "a": [true, null]}"#)
    }

    @Test func templateFileWithMessagesAndTools() throws {
        let template = try file("t.jinja", "{{ tools | length }}|{% for m in messages %}{{ m.content }};{% endfor %}{{ add_generation_prompt }}")
        let messages = try file("m.json", #"[{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": "b"}, {"type": "text", "text": "c"}]}]"#)
        let tools = try file("tools.json", #"[{"type": "function", "function": {"name": "f"}}]"#)
        #expect(try render(["--template", template, "--messages", messages, "--tools", tools]) == "1|a;b\nc;True")
        #expect(try render(["--template", template, "--messages", messages, "--no-generation-prompt"]) == "0|a;b\nc;False")
    }

    @Test func builtInTemplateByName() throws {
        let messages = try file("m.json", #"[{"role": "user", "content": "Hi"}]"#)
        #expect(try render(["--chat-template", "chatml", "--messages", messages]) == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func modelTemplateAndSpecialTokens() throws {
        var writer = GGUFWriter()
        writer.set("tokenizer.ggml.tokens", .array(.string(["<unk>", "<s>", "</s>"])))
        writer.set("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(2))
        writer.set("tokenizer.chat_template", .string("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"))
        let model = directory.appendingPathComponent("model.gguf").path
        try writer.write(to: model)
        let messages = try file("m.json", #"[{"role": "user", "content": "Hi"}]"#)
        #expect(try render(["-m", model, "--messages", messages]) == "<s>Hi</s>")
        #expect(try render(["-m", model, "--messages", messages, "--chat-template", "llama3"]).hasPrefix("<s><|start_header_id|>user"))
    }

    @Test(.enabled(if: (try? ModelCache.resolve(nil)) != nil, "needs the default model in the cache; run scripts/fetch-models"))
    func defaultModelsOwnTemplate() throws {
        let messages = try file("m.json", #"[{"role": "user", "content": "Hello! Who are you?"}]"#)
        // Python jinja2's rendering of Qwen2.5's template (chat-templates.json, qwen2.5 / single_user).
        let expected = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello! Who are you?<|im_end|>\n<|im_start|>assistant\n"
        #expect(try render(["--messages", messages]) == expected)
        #expect(try render(["-m", "qwen2.5-coder-0.5b-instruct-q4_k_m", "--messages", messages]) == expected)
    }

    @Test func invalidCommandLinesAreRejected() throws {
        let messages = try file("m.json", "[]")
        let context = try file("c.json", "{}")
        let invalid: [[String]] = [
            ["--chat-template", "chatml"],
            ["--chat-template", "chatml", "--messages", messages, "--context", context],
            ["--chat-template", "chatml", "--context", context, "--no-generation-prompt"],
            ["--template", context, "--chat-template", "chatml", "--messages", messages],
        ]
        for arguments in invalid {
            #expect(throws: (any Error).self, "\(arguments)") { try Forge.parseAsRoot(["template"] + arguments) }
        }
    }

    @Test func badInputFilesGiveClearErrors() throws {
        let template = try file("t.jinja", "{% if %}")
        let context = try file("c.json", "{}")
        let notObject = try file("list.json", "[1]")
        let broken = try file("broken.json", "{\"a\": }")
        let good = try file("good.jinja", "x")
        let syntax = #expect(throws: (any Error).self) { try render(["--template", template, "--context", context]) }
        #expect(String(describing: syntax).contains("line 1"))
        let shape = #expect(throws: (any Error).self) { try render(["--template", good, "--context", notObject]) }
        #expect(String(describing: shape).contains("expected a JSON file with an object"))
        let json = #expect(throws: (any Error).self) { try render(["--template", good, "--context", broken]) }
        #expect(String(describing: json).contains("invalid JSON at byte 6"))
        let missing = #expect(throws: (any Error).self) { try render(["--template", "/nonexistent/t.jinja", "--context", context]) }
        #expect(String(describing: missing).contains("cannot read"))
        let unknown = #expect(throws: (any Error).self) { try render(["--chat-template", "nope", "--context", context]) }
        #expect(String(describing: unknown).contains("unknown chat template 'nope'"))
    }
}
