import Crypto
import Foundation

/// Digests other modules need without importing swift-crypto themselves.
public enum Hashing {
    /// SHA-256: how API tokens and idempotency keys are stored (never in the clear).
    public static func sha256(_ data: Data) -> Data { Data(SHA256.hash(data: data)) }
}

/// SHA-256 fed in pieces, for files too large to hold in memory (backup manifests).
public struct StreamingSHA256: Sendable {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    /// The digest in lower-case hex; the hasher is spent.
    public func finalizeHex() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
