// The ForgeModel module; see README.md, Architecture.
