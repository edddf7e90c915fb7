import Crypto
import Foundation
import MailvoxCore

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
        hasher.finalize().withUnsafeBytes { $0.lowercaseHex }
    }
}

/// Secrets handed to clients (tokens, session cookies, CSRF tokens) and their comparison.
public enum Secrets {
    /// 32 random bytes from the system's generator, base64url without padding (43 characters).
    public static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Compares in time that depends only on the lengths, so a guess learns nothing of how
    /// much of it was right.
    public static func equal(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(lhs, rhs) { difference |= x ^ y }
        return difference == 0
    }
}
