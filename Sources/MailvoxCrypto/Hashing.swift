import Crypto
import Foundation

/// Digests other modules need without importing swift-crypto themselves.
public enum Hashing {
    /// SHA-256: how API tokens and idempotency keys are stored (never in the clear).
    public static func sha256(_ data: Data) -> Data { Data(SHA256.hash(data: data)) }
}
