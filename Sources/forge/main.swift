import ForgeCLI

// Top-level code would pick ParsableCommand's synchronous `main()`, which refuses an async root.
await Forge.runAsRoot()
