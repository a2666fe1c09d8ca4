import ArgumentParser

/// The `forge` command: one root with a subcommand per job.
public struct Forge: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "forge",
        abstract: "Run GGUF language models on the CPU.",
        subcommands: [
            Inspect.self,
            PullCommand.self,
        ]
    )

    public init() {}
}
