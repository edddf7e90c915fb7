import Foundation
import MailvoxCore
import MailvoxCrypto

/// The pipeline's sealed files, both sealed to the node key: a deposit, `<id>.mvx`, from intake
/// until its message is stored; an alert copy, `notify/<id>.mvx`, until its last alert is
/// sent. They live in the data dir's `queue/` folder, or (`[blobs] backend = "s3"`) in the
/// bucket under `queue/<name>`, where every node's workers find them.
///
/// `write` returns once the file is durable (fsynced, or acknowledged by the object store), so
/// a door acknowledges a deposit only when any node can deliver it.
public struct QueueFiles: Sendable {
    public let queueDir: String
    /// The bucket, when the files live there.
    public let bucket: BlockingBlobs?
    /// Deposits written here lately (`remembering`), read back without a GET.
    let recent: ByteCache?

    public init(queueDir: String, bucket: BlockingBlobs? = nil) {
        self.init(queueDir: queueDir, bucket: bucket, recent: nil)
    }

    private init(queueDir: String, bucket: BlockingBlobs?, recent: ByteCache?) {
        self.queueDir = queueDir
        self.bucket = bucket
        self.recent = recent
    }

    /// The same files, remembering in memory (up to `capacity` bytes) each deposit written
    /// through it until it is removed: the node whose door took a deposit usually delivers it
    /// too (the door wakes its own workers), and then reads back what it has just written —
    /// from the bucket, a GET of some milliseconds. Only with a bucket (a local file is read
    /// from the page cache), and only deposits: each is written once, under a new id, and never
    /// changes, so a remembered one is the stored one. `serve` shares one such value between its
    /// doors and workers; everything that checks what is stored (`migrate`'s verify) reads the
    /// bucket.
    public func remembering(capacity: Int = 32 << 20) -> QueueFiles {
        guard bucket != nil else { return self }
        return QueueFiles(queueDir: queueDir, bucket: bucket, recent: ByteCache(capacity: capacity))
    }

    public static func deposit(_ depositID: String) -> String { "\(depositID).mvx" }
    public static func alertCopy(_ depositID: String) -> String { "notify/\(depositID).mvx" }

    /// How errors and logs name the file.
    public func describe(_ name: String) -> String { bucket == nil ? "\(queueDir)/\(name)" : "queue/\(name)" }

    /// Stores `bytes` (already sealed) under `name`, durably.
    public func write(_ name: String, _ bytes: Data) throws {
        if let bucket {
            try bucket.put(try BlobKey("queue/" + name), [UInt8](bytes))
            if !name.contains("/") { recent?.keep(name, bytes) }
            return
        }
        let path = "\(queueDir)/\(name)"
        for folder in [queueDir, (path as NSString).deletingLastPathComponent] {
            if mkdir(folder, 0o700) != 0 && errno != EEXIST {
                throw PipelineError.io(path: folder, reason: String(cString: strerror(errno)))
            }
        }
        try DurableFile.replace(path, contents: bytes)
    }

    /// The sealed bytes under `name`, or nil when there is no such file.
    public func read(_ name: String) throws -> Data? {
        if let bucket {
            if let kept = recent?.get(name) { return kept }
            return try bucket.get(try BlobKey("queue/" + name)).map { Data($0) }
        }
        let path = "\(queueDir)/\(name)"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError.io(path: path, reason: "cannot read")
        }
        return data
    }

    /// The name of every sealed file there is (`<id>.mvx`, `notify/<id>.mvx`), sorted; a write
    /// cut short leaves no name here (a local file appears by rename, an object by its PUT).
    public func names() throws -> [String] {
        if let bucket {
            return try bucket.allKeys(prefix: try BlobPrefix("queue/")).map {
                String($0.value.dropFirst("queue/".count))
            }
            .filter { $0.hasSuffix(".mvx") }.sorted()
        }
        var names: [String] = []
        for folder in ["", "notify/"] {
            let path = queueDir + "/" + folder
            guard FileManager.default.fileExists(atPath: path) else { continue }
            do {
                for entry in try FileManager.default.contentsOfDirectory(atPath: path) where entry.hasSuffix(".mvx") {
                    names.append(folder + entry)
                }
            } catch {
                throw PipelineError.io(path: path, reason: error.localizedDescription)
            }
        }
        return names.sorted()
    }

    /// Opens the sealed file `name` with the node key; nil when there is no such file.
    func open(_ name: String, key: OwnerKey) throws -> Data? {
        guard let sealed = try read(name) else { return nil }
        return try SealedFileReader(sealed: sealed, key: key).readAll()
    }

    /// Whether the bucket answers (a HEAD of a key that need not exist); files of this machine
    /// always are.
    func isReachable() -> Bool {
        guard let bucket else { return true }
        return (try? bucket.exists(try BlobKey("queue/readiness-probe"))) != nil
    }

    /// Removes `name`; gone already is fine.
    public func remove(_ name: String) throws {
        recent?.forget(name)
        if let bucket { return try bucket.delete(try BlobKey("queue/" + name)) }
        let path = "\(queueDir)/\(name)"
        if unlink(path) != 0 && errno != ENOENT {
            throw PipelineError.io(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
