import Crypto
import Foundation
import MailvoxCrypto

/// libFuzzer entry for the `MVX1` reader (docs/STORAGE.md): any bytes opened as a sealed file
/// with a fixed key. Every input must either open and decrypt to exactly its stated size, or
/// fail with a `SealError` — never crash, never return bytes of the wrong length. The corpus
/// is seeded (`MVX_FUZZ_SEED_DIR`) with files sealed to this key, so mutations reach the
/// chunk and tag checks and not only the header parser.
let owner = "mailbox:1000"
let privateKey = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32))

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard let directory = ProcessInfo.processInfo.environment["MVX_FUZZ_SEED_DIR"] else { return 0 }
    let recipient = privateKey.publicKey.rawRepresentation
    for (size, chunk) in [(0, 64), (10, 64), (200, 64), (5_000, 1024), (70_000, 65_536)] {
        let plaintext = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let sealed = try! SealedFile.seal(plaintext, owner: owner, recipient: recipient, chunkSize: chunk)
        FileManager.default.createFile(atPath: "\(directory)/sealed-\(size)-\(chunk)", contents: sealed)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSealed(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let reader = try? SealedFileReader(sealed: data, owner: owner, privateKey: privateKey) else { return 0 }
    if let all = try? reader.readAll() { precondition(all.count == reader.plaintextSize) }
    let offset = count % (reader.plaintextSize + 1)
    if let part = try? reader.read(offset: offset, length: 100) {
        precondition(part.count == min(100, reader.plaintextSize - offset))
    }
    return 0
}
