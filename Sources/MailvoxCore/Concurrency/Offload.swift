import Dispatch

/// Runs blocking work (SQLite, fsync, scrypt, libsndfile) on Dispatch's threads, so neither
/// an event loop nor Swift's small cooperative pool waits on it.
public enum Offload {
    public static func run<T: Sendable, E: Error>(
        _ work: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(E) -> T in try work() })
            }
        }
        return try result.get()
    }
}
