import ArgumentParser

extension Forge {
    /// The executable's entry point: runs the async root command.
    public static func runAsRoot() async {
        await main()
    }
}
