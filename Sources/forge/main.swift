import ForgeCLI

await Forge.main()
