// The ForgeHub module; see README.md, Architecture.
