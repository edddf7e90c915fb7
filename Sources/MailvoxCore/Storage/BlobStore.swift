/// Where sealed blobs (messages, deposits, alert copies — all MVX1 ciphertext) are kept: a
/// directory on this machine or an S3 bucket, behind one narrow seam so the store, the queue
/// and the workers never know which.
///
/// Every method throws `BlobStoreError` only. Writes are whole-object and atomic: a reader sees
/// the old bytes or the new ones, never a part. A `put` that returns has made the bytes durable
/// (fsynced, or acknowledged by the object store with 200).
public protocol BlobStore: Sendable {
    /// Stores `bytes` under `key`, replacing what was there.
    func put(key: BlobKey, bytes: [UInt8]) async throws
    /// The bytes under `key`, or nil when there is no such blob.
    func get(key: BlobKey) async throws -> [UInt8]?
    /// Removes `key`; removing an absent key is not an error.
    func delete(key: BlobKey) async throws
    /// Whether a blob is stored under `key`.
    func exists(key: BlobKey) async throws -> Bool
    /// Up to `limit` keys starting with `prefix`, from where `after` (the previous page's
    /// `next`, nil for the first page) left off. `BlobPage.next` is nil at the end.
    ///
    /// Every key is listed exactly once across the pages, but the order is the backend's: byte
    /// order on the filesystem and on AWS; SeaweedFS lists folder by folder (`a/b` before `a-c`).
    func list(prefix: BlobPrefix, after: BlobCursor?, limit: Int) async throws -> BlobPage
}

/// One page of a listing by prefix.
public struct BlobPage: Sendable, Equatable {
    /// Keys in the backend's listing order.
    public var keys: [BlobKey]
    /// Pass as `after` to get the next page; nil when this page was the last.
    public var next: BlobCursor?

    public init(keys: [BlobKey], next: BlobCursor?) {
        self.keys = keys
        self.next = next
    }
}

/// Where a listing goes on: opaque to callers (the last key for the filesystem, S3's
/// continuation token for a bucket), valid only for the same store and prefix.
public struct BlobCursor: Sendable, Hashable {
    public let value: String
    public init(_ value: String) { self.value = value }
}

extension BlobStore {
    /// Every key under `prefix`, fetched a page of `pageSize` at a time.
    public func allKeys(prefix: BlobPrefix, pageSize: Int = 1000) async throws -> [BlobKey] {
        var keys: [BlobKey] = []
        var after: BlobCursor?
        repeat {
            let page = try await list(prefix: prefix, after: after, limit: pageSize)
            keys += page.keys
            after = page.next
        } while after != nil
        return keys
    }
}

/// What went wrong with a blob store, sorted by what the caller should do about it.
public enum BlobStoreError: MailvoxFailure, Equatable {
    /// Temporary: connection refused, timeout, a 5xx or 503 SlowDown, a full disk. Callers answer
    /// SMTP 451 / HTTP 503 and try again later.
    case unavailable(String)
    /// Permanent until an administrator acts: credentials refused, the bucket missing, no
    /// permission on the directory.
    case refused(String)
    /// The key (or prefix) breaks the rules of `BlobKey`; nothing was sent anywhere.
    case invalidKey(String)
    /// The store answered something that cannot be read (a cut or garbled listing). Treated as
    /// temporary: a proxy or a half-written answer, not a verdict.
    case malformedResponse(String)

    /// Whether trying again later may work.
    public var isTemporary: Bool {
        switch self {
        case .unavailable, .malformedResponse: true
        case .refused, .invalidKey: false
        }
    }

    public var kind: FailureKind {
        if case .invalidKey = self { return .input }
        return .runtime
    }

    // Never carries a secret: the texts are built from endpoints, buckets, keys, status codes
    // and the store's error code and message, never from credentials or signatures.
    public var description: String {
        switch self {
        case .unavailable(let reason): "blob store unavailable: \(reason)"
        case .refused(let reason): "blob store refused: \(reason)"
        case .invalidKey(let reason): "invalid blob key: \(reason)"
        case .malformedResponse(let reason): "blob store answer unreadable: \(reason)"
        }
    }
}
