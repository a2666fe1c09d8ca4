import ForgeGGUF

/// libFuzzer's per-input callback: parses the input as a GGUF file and, when it loads, reads
/// every tensor's bytes and tries every typed getter on every key. A crash, a sanitizer report
/// or any error but a `GGUFError` is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let file: GGUFFile
    do {
        file = try GGUFFile(bytes: bytes)
    } catch is GGUFError {
        return 0
    } catch {
        // The harness's oracle, not the reader's: libFuzzer saves the input that got here.
        fatalError("GGUFFile(bytes:) threw something other than GGUFError: \(error)")
    }
    for tensor in file.tensors {
        let tensorBytes = file.data(for: tensor)
        // Reading both ends lets AddressSanitizer catch a view that leaves the buffer.
        _ = (tensorBytes.first, tensorBytes.last, tensor.rowCount, tensor.bytesPerRow)
    }
    for key in file.keys {
        _ = try? file.integer(key)
        _ = try? file.float(key)
        _ = try? file.string(key)
        _ = try? file.stringArray(key)
        _ = try? file.integerArray(key)
        _ = try? file.floatArray(key)
    }
    return 0
}

#if FUZZING
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// SwiftPM links this file's top-level code as the executable's `main` (`--defsym`), which
// takes the place of libFuzzer's own `main`; so the top-level code starts libFuzzer through
// its library entry point. scripts/fuzz-gguf defines FUZZING; a plain build only prints a note.
@_extern(c, "LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argumentCount = CommandLine.argc
var arguments = CommandLine.unsafeArgv
let status = runFuzzerDriver(&argumentCount, &arguments) { data, size in fuzzGGUFReader(data, size) }
exit(status)
#else
print("ForgeGGUFFuzz does nothing unless built by scripts/fuzz-gguf (libFuzzer, -DFUZZING).")
#endif
