/// Code point classification and UTF-8 handling with llama.cpp's semantics (src/unicode.cpp).
///
/// The pre-tokenizers never see Swift `Character`s: they work on arrays of code points, because
/// llama.cpp splits by code point (not grapheme), keeps surrogates and overlong forms it decodes,
/// and turns every byte it cannot decode into U+FFFD.

/// The category bits llama.cpp assigns to a code point (its `unicode_cpt_flags`).
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 1 << 0)
    static let number = CodepointFlags(rawValue: 1 << 1)
    static let letter = CodepointFlags(rawValue: 1 << 2)
    static let separator = CodepointFlags(rawValue: 1 << 3)
    static let mark = CodepointFlags(rawValue: 1 << 4)
    static let punctuation = CodepointFlags(rawValue: 1 << 5)
    static let symbol = CodepointFlags(rawValue: 1 << 6)
    static let control = CodepointFlags(rawValue: 1 << 7)
    static let whitespace = CodepointFlags(rawValue: 1 << 8)

    var isLetter: Bool { contains(.letter) }
    var isNumber: Bool { contains(.number) }
    var isWhitespace: Bool { contains(.whitespace) }
    var isPunctuation: Bool { contains(.punctuation) }
    /// Matches the regex class `[^\s\p{L}\p{N}]` for a code point inside the text: everything that is
    /// not whitespace, letter or number (positions past the end have no flags at all and never match).
    var isOther: Bool { !isEmpty && !contains(.whitespace) && !contains(.letter) && !contains(.number) }
}

enum UnicodeSupport {
    static let replacementCharacter: UInt32 = 0xFFFD

    /// The White_Space property, exactly the list llama.cpp's generator hard-codes.
    static func isWhitespace(_ cpt: UInt32) -> Bool {
        switch cpt {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    static func flags(_ cpt: UInt32) -> CodepointFlags {
        if cpt < 0x10000 { return basicPlaneFlags[Int(cpt)] }
        return computeFlags(cpt)
    }

    /// Flags of the Basic Multilingual Plane, computed once: almost all text lives there, and a table
    /// lookup keeps pre-tokenization fast.
    private static let basicPlaneFlags: [CodepointFlags] = (0..<0x10000).map { computeFlags(UInt32($0)) }

    private static func computeFlags(_ cpt: UInt32) -> CodepointFlags {
        var flags: CodepointFlags
        if let scalar = Unicode.Scalar(cpt) {
            flags = isAssignedInLlamaCppTables(scalar) ? categoryFlags(scalar.properties.generalCategory) : .undefined
        } else if cpt < 0x110000 {
            flags = .control  // surrogates: category Cs
        } else {
            return .undefined
        }
        if isWhitespace(cpt) { flags.insert(.whitespace) }
        return flags
    }

    /// llama.cpp's tables were generated from Unicode 15.1; Swift's may be newer. Characters assigned
    /// later are unassigned (category Cn) to llama.cpp, and so to Forge.
    private static func isAssignedInLlamaCppTables(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 15 || (age.major == 15 && age.minor <= 1)
    }

    private static func categoryFlags(_ category: Unicode.GeneralCategory) -> CodepointFlags {
        switch category {
        case .unassigned: .undefined
        case .control, .format, .privateUse, .surrogate: .control
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: .letter
        case .spacingMark, .enclosingMark, .nonspacingMark: .mark
        case .decimalNumber, .letterNumber, .otherNumber: .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: .separator
        @unknown default: .undefined
        }
    }

    /// Decodes UTF-8 the way llama.cpp's `unicode_cpts_from_utf8` does: a byte that does not start a
    /// complete sequence becomes U+FFFD and decoding resumes at the next byte. Like llama.cpp it does
    /// not reject overlong forms or surrogates (they decode to their numeric value). Unlike llama.cpp,
    /// which throws when a 4-byte form decodes above U+10FFFF, such a lead byte is treated as invalid.
    static func decodeCodepoints(_ bytes: UnsafeBufferPointer<UInt8>, into result: inout [UInt32]) {
        result.removeAll(keepingCapacity: true)
        result.reserveCapacity(bytes.count)
        let count = bytes.count
        var offset = 0
        @inline(__always) func isContinuation(_ index: Int) -> Bool { bytes[index] & 0xC0 == 0x80 }
        while offset < count {
            let lead = UInt32(bytes[offset])
            if lead & 0x80 == 0 {
                result.append(lead)
                offset += 1
                continue
            }
            var decoded: UInt32?
            var length = 1
            if lead & 0x40 == 0 {
                decoded = nil
            } else if lead & 0x20 == 0 {
                if offset + 1 < count, isContinuation(offset + 1) {
                    decoded = (lead & 0x1F) << 6 | UInt32(bytes[offset + 1] & 0x3F)
                    length = 2
                }
            } else if lead & 0x10 == 0 {
                if offset + 2 < count, isContinuation(offset + 1), isContinuation(offset + 2) {
                    decoded = (lead & 0x0F) << 12 | UInt32(bytes[offset + 1] & 0x3F) << 6 | UInt32(bytes[offset + 2] & 0x3F)
                    length = 3
                }
            } else if lead & 0x08 == 0 {
                if offset + 3 < count, isContinuation(offset + 1), isContinuation(offset + 2), isContinuation(offset + 3) {
                    let value = (lead & 0x07) << 18 | UInt32(bytes[offset + 1] & 0x3F) << 12
                        | UInt32(bytes[offset + 2] & 0x3F) << 6 | UInt32(bytes[offset + 3] & 0x3F)
                    if value <= 0x10FFFF {
                        decoded = value
                        length = 4
                    }
                }
            }
            if let decoded {
                result.append(decoded)
                offset += length
            } else {
                result.append(replacementCharacter)
                offset += 1
            }
        }
    }

    /// Encodes a code point as llama.cpp's `unicode_cpt_to_utf8` does (surrogates included).
    @inline(__always)
    static func appendUTF8(_ cpt: UInt32, to bytes: inout [UInt8]) {
        if cpt < 0x80 {
            bytes.append(UInt8(cpt))
        } else if cpt < 0x800 {
            bytes.append(UInt8(0xC0 | (cpt >> 6)))
            bytes.append(UInt8(0x80 | (cpt & 0x3F)))
        } else if cpt < 0x10000 {
            bytes.append(UInt8(0xE0 | (cpt >> 12)))
            bytes.append(UInt8(0x80 | ((cpt >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (cpt & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | ((cpt >> 18) & 0x07)))
            bytes.append(UInt8(0x80 | ((cpt >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((cpt >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (cpt & 0x3F)))
        }
    }

    /// The length llama.cpp assumes for a UTF-8 sequence from its first byte (`unicode_len_utf8`).
    @inline(__always)
    static func sequenceLength(leadByte: UInt8) -> Int {
        switch leadByte >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }
}

/// GPT-2's reversible byte-to-character mapping: printable Latin-1 bytes stand for themselves, the
/// other 68 bytes map to U+0100 and up in byte order. Byte-level BPE vocabularies spell every token
/// with these characters ('Ġ' is the space byte, 'Ċ' the newline).
enum ByteLevelMapping {
    static let characterOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped character stands for (-1 for other characters), indexed by code point.
    private static let byteOfCharacterTable: [Int16] = {
        var table = [Int16](repeating: -1, count: 512)
        for (byte, character) in characterOfByte.enumerated() { table[Int(character)] = Int16(byte) }
        return table
    }()

    @inline(__always) static func byte(ofCharacter character: UInt32) -> UInt8? {
        guard character < 512 else { return nil }
        let byte = byteOfCharacterTable[Int(character)]
        return byte >= 0 ? UInt8(byte) : nil
    }

    /// The raw bytes a vocabulary string spells, or nil when it contains a character outside the
    /// mapping (such a string can never come out of byte-level BPE).
    static func bytes(ofVocabularyText text: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard let byte = byte(ofCharacter: scalar.value) else { return nil }
            result.append(byte)
        }
        return result
    }
}
