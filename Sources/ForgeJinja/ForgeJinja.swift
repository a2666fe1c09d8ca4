// The ForgeJinja module; see README.md, Architecture.
