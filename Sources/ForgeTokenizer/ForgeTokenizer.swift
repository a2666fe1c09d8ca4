// The ForgeTokenizer module; see README.md, Architecture.
