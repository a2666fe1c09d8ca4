import ArgumentParser

/// The `forge` command: one root with a subcommand per job.
public struct Forge: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "forge",
        abstract: "Run GGUF language models on the CPU.",
        subcommands: [
            TemplateCommand.self,
            Inspect.self,
            PullCommand.self,
            TokenizeCommand.self,
            DetokenizeCommand.self,
            TrainCommand.self,
            GenerateCommand.self,
            ChatCommand.self,
            LogitsCommand.self,
            PerplexityCommand.self,
            QuantizeCommand.self,
            BenchCommand.self,
            ServeCommand.self,
            DevicesCommand.self,
        ]
    )

    public init() {}
}
