// The ForgeGeneration module; see README.md, Architecture.
