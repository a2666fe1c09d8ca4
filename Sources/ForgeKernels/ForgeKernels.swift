// The ForgeKernels module; see README.md, Architecture.
