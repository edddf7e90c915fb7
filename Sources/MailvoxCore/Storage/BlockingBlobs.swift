import Foundation
import Synchronization

/// A blob store that can also be called on the caller's own thread: the file system store,
/// whose work is blocking file I/O anyway.
public protocol SynchronousBlobStore: BlobStore {
    func putNow(key: BlobKey, bytes: [UInt8]) throws(BlobStoreError)
    func getNow(key: BlobKey) throws(BlobStoreError) -> [UInt8]?
    func deleteNow(key: BlobKey) throws(BlobStoreError)
    func listNow(prefix: BlobPrefix, after cursor: BlobCursor?, limit: Int) throws(BlobStoreError) -> BlobPage
}

/// A `BlobStore` for synchronous code on a blocking thread — the message store, the intake and
/// the workers, which run on `Offload`'s pool, never on the cooperative pool: each call
/// returns when the store has answered.
///
/// A file system store is called on this thread directly (waiting for `Offload` from one of its
/// own threads could wait for itself); any other store's async call runs as a task while this
/// thread waits for it. Errors are the store's `BlobStoreError`s.
public struct BlockingBlobs: Sendable {
    public let store: any BlobStore

    public init(_ store: any BlobStore) { self.store = store }

    /// Whether the blobs are files of this machine (disk-space checks apply to them).
    public var isLocal: Bool { store is any SynchronousBlobStore }

    public func put(_ key: BlobKey, _ bytes: [UInt8]) throws {
        if let local = store as? any SynchronousBlobStore { return try local.putNow(key: key, bytes: bytes) }
        let store = self.store
        try wait { try await store.put(key: key, bytes: bytes) }
    }

    public func get(_ key: BlobKey) throws -> [UInt8]? {
        if let local = store as? any SynchronousBlobStore { return try local.getNow(key: key) }
        let store = self.store
        return try wait { try await store.get(key: key) }
    }

    public func delete(_ key: BlobKey) throws {
        if let local = store as? any SynchronousBlobStore { return try local.deleteNow(key: key) }
        let store = self.store
        try wait { try await store.delete(key: key) }
    }

    /// Every key under `prefix`.
    public func allKeys(prefix: BlobPrefix) throws -> [BlobKey] {
        if let local = store as? any SynchronousBlobStore {
            var keys: [BlobKey] = []
            var after: BlobCursor?
            repeat {
                let page = try local.listNow(prefix: prefix, after: after, limit: 1000)
                keys += page.keys
                after = page.next
            } while after != nil
            return keys
        }
        let store = self.store
        return try wait { try await store.allKeys(prefix: prefix) }
    }

    private func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
