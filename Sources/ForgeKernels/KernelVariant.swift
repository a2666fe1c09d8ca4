import CForgeKernels

/// The instruction-set variant of the C kernels. All variants compute the same integer sums;
/// only the order of float additions differs.
public enum KernelVariant: CaseIterable, Sendable, CustomStringConvertible {
    case generic
    case avx2
    case avx512
    case neon
    case neonDotprod
    case neonI8mm

    /// Whether this build has the variant and the running CPU can execute it.
    public var isSupported: Bool { forge_isa_supported(isa) != 0 }

    /// The fastest supported variant, the one a context uses by default.
    public static let best: KernelVariant = {
        switch forge_isa_best() {
        case FORGE_ISA_AVX512: .avx512
        case FORGE_ISA_AVX2: .avx2
        case FORGE_ISA_NEON_I8MM: .neonI8mm
        case FORGE_ISA_NEON_DOTPROD: .neonDotprod
        case FORGE_ISA_NEON: .neon
        default: .generic
        }
    }()

    public var description: String {
        switch self {
        case .generic: "generic"
        case .avx2: "AVX2"
        case .avx512: "AVX-512"
        case .neon: "NEON"
        case .neonDotprod: "NEON dotprod"
        case .neonI8mm: "NEON i8mm"
        }
    }

    /// The variant's name on the command line and in reports.
    public var name: String {
        switch self {
        case .generic: "generic"
        case .avx2: "avx2"
        case .avx512: "avx512"
        case .neon: "neon"
        case .neonDotprod: "neon-dotprod"
        case .neonI8mm: "neon-i8mm"
        }
    }

    public init?(name: String) {
        guard let variant = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = variant
    }

    /// The C kernel table's name for this variant.
    public var isa: forge_isa {
        switch self {
        case .generic: FORGE_ISA_GENERIC
        case .avx2: FORGE_ISA_AVX2
        case .avx512: FORGE_ISA_AVX512
        case .neon: FORGE_ISA_NEON
        case .neonDotprod: FORGE_ISA_NEON_DOTPROD
        case .neonI8mm: FORGE_ISA_NEON_I8MM
        }
    }
}
