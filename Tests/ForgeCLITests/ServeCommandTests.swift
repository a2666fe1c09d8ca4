import ArgumentParser
import Testing
@testable import ForgeCLI

/// `forge serve` takes the flags the issue names (the server itself is tested in ForgeServerTests).
@Suite struct ServeCommandTests {
    @Test func parsesEveryFlag() throws {
        let command = try ServeCommand.parse([
            "-m", "model.gguf", "--host", "0.0.0.0", "--port", "9000", "--ctx-size", "2048", "--parallel", "4",
            "--api-key", "k1", "--api-key", "k2", "--api-key-file", "keys.txt", "--alias", "smol", "--timeout", "30",
            "--metrics", "-t", "3", "--drain-timeout", "12.5",
        ])
        #expect(command.modelOptions.model == "model.gguf")
        #expect(command.host == "0.0.0.0")
        #expect(command.port == 9000)
        #expect(command.runtime.contextSize == 2048)
        #expect(command.parallel == 4)
        #expect(command.apiKeys == ["k1", "k2"])
        #expect(command.apiKeyFile == "keys.txt")
        #expect(command.alias == "smol")
        #expect(command.timeout == 30)
        #expect(command.metrics)
        #expect(command.runtime.threads == 3)
        #expect(command.drainTimeout == 12.5)
    }

    @Test func defaultsBindToLoopback() throws {
        let command = try ServeCommand.parse([])
        #expect(command.host == "127.0.0.1")
        #expect(command.port == 8080)
        #expect(command.parallel == 1)
        #expect(!command.metrics)
        #expect(command.drainTimeout == 30)
    }

    @Test func rejectsBadValues() {
        for arguments in [["--parallel", "0"], ["--port", "70000"], ["--timeout", "-1"], ["--timeout", "nan"], ["--drain-timeout", "-1"], ["--drain-timeout", "inf"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try ServeCommand.parse(arguments) }
        }
    }
}
