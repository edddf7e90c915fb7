/// A blob store that can also be called on the caller's own thread: the file system store
/// (blocking file I/O) and the S3 store (NIO futures waited for).
public protocol SynchronousBlobStore: BlobStore {
    func putNow(key: BlobKey, bytes: [UInt8]) throws(BlobStoreError)
    func getNow(key: BlobKey) throws(BlobStoreError) -> [UInt8]?
    func deleteNow(key: BlobKey) throws(BlobStoreError)
    func existsNow(key: BlobKey) throws(BlobStoreError) -> Bool
    func listNow(prefix: BlobPrefix, after cursor: BlobCursor?, limit: Int) throws(BlobStoreError) -> BlobPage
}

/// The async `BlobStore` calls of a synchronous store: each runs its `…Now` twin on `Offload`'s
/// blocking pool, never on the cooperative pool.
extension SynchronousBlobStore {
    public func put(key: BlobKey, bytes: [UInt8]) async throws {
        try await Offload.run { () throws(BlobStoreError) in try self.putNow(key: key, bytes: bytes) }
    }

    public func get(key: BlobKey) async throws -> [UInt8]? {
        try await Offload.run { () throws(BlobStoreError) -> [UInt8]? in try self.getNow(key: key) }
    }

    public func delete(key: BlobKey) async throws {
        try await Offload.run { () throws(BlobStoreError) in try self.deleteNow(key: key) }
    }

    public func exists(key: BlobKey) async throws -> Bool {
        try await Offload.run { () throws(BlobStoreError) -> Bool in try self.existsNow(key: key) }
    }

    public func list(prefix: BlobPrefix, after cursor: BlobCursor?, limit: Int) async throws -> BlobPage {
        try await Offload.run { () throws(BlobStoreError) -> BlobPage in
            try self.listNow(prefix: prefix, after: cursor, limit: limit)
        }
    }
}

/// A blob store for synchronous code on a blocking thread — the message store, the intake and
/// the workers, which run on `Offload`'s pool, never on the cooperative pool: each call
/// returns when the store has answered. Errors are the store's `BlobStoreError`s.
public struct BlockingBlobs: Sendable {
    public let store: any SynchronousBlobStore

    public init(_ store: any SynchronousBlobStore) { self.store = store }

    public func put(_ key: BlobKey, _ bytes: [UInt8]) throws { try store.putNow(key: key, bytes: bytes) }

    public func get(_ key: BlobKey) throws -> [UInt8]? { try store.getNow(key: key) }

    public func delete(_ key: BlobKey) throws { try store.deleteNow(key: key) }

    public func exists(_ key: BlobKey) throws -> Bool { try store.existsNow(key: key) }

    /// Every key under `prefix`.
    public func allKeys(prefix: BlobPrefix) throws -> [BlobKey] {
        var keys: [BlobKey] = []
        try forEachPage(prefix: prefix) { keys += $0 }
        return keys
    }

    /// The keys under `prefix` a listing page (up to `pageSize` keys) at a time, so a caller
    /// going through millions of objects holds one page, not all of them.
    public func forEachPage(prefix: BlobPrefix, pageSize: Int = 1000, _ body: ([BlobKey]) throws -> Void) throws {
        var after: BlobCursor?
        repeat {
            let page = try store.listNow(prefix: prefix, after: after, limit: pageSize)
            if !page.keys.isEmpty { try body(page.keys) }
            after = page.next
        } while after != nil
    }
}
