import Foundation

/// A `BlobStore` in a directory of this machine: the key `a/b/c` is the file `root/a/b/c`.
///
/// Durable as the spool always was: a `put` writes `root/.blobstore/tmp/<random>`, fsyncs it,
/// renames it over the key's file and fsyncs that directory (and any directory it had to make,
/// through its parent), so after a crash the key holds the old bytes or the new ones. All file
/// work runs on `Offload`'s blocking pool, never on the cooperative pool. Files are 0600,
/// directories 0700.
public struct FilesystemBlobStore: SynchronousBlobStore {
    public let root: String
    private var temporaryDirectory: String { root + "/" + BlobKey.reservedSegment + "/tmp" }

    /// Uses `root`, which must exist; the temp directory is made when missing.
    public init(root: String) throws(BlobStoreError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .refused("blob directory \(root) does not exist")
        }
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
        let temporary = self.temporaryDirectory
        do {
            try FileManager.default.createDirectory(
                atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .refused("cannot create \(temporary): \(error.localizedDescription)")
        }
    }

    // MARK: - On the caller's thread (SynchronousBlobStore; the async calls run these on `Offload`)

    public func putNow(key: BlobKey, bytes: [UInt8]) throws(BlobStoreError) {
        let path = self.path(of: key)
        let temporary = temporaryDirectory + "/" + UUID().uuidString
        let root = self.root
        try Self.makeParents(of: key, under: root)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("cannot create \(temporary)") }
        var written = 0
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let n = write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return true
        }
        let wrote = ok && fsync(fd) == 0
        let saved = errno
        close(fd)
        guard wrote else {
            unlink(temporary)
            errno = saved
            throw Self.failure("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let failure = Self.failure("cannot rename into \(path)")
            unlink(temporary)
            throw failure
        }
        try Self.syncDirectory(Self.parent(of: path))
    }

    public func getNow(key: BlobKey) throws(BlobStoreError) -> [UInt8]? {
        let path = self.path(of: key)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            // ENOTDIR: a key's folder is a file of another key ("a" exists, "a/b" asked).
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw Self.failure("cannot open \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.failure("cannot stat \(path)") }
        // A folder named like the key (it holds longer keys) is not a blob.
        if (info.st_mode & S_IFMT) == S_IFDIR { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var read = 0
        while read < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + read, $0.count - read) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure("cannot read \(path)")
            }
            if n == 0 { break }
            read += n
        }
        // Shorter than its size when read: replaced meanwhile cannot happen (rename swaps the
        // inode we hold open), so it was truncated by something outside the store.
        guard read == bytes.count else { throw .unavailable("\(path) changed size while being read") }
        return bytes
    }

    public func deleteNow(key: BlobKey) throws(BlobStoreError) {
        let path = self.path(of: key)
        if unlink(path) != 0 {
            if errno == ENOENT || errno == ENOTDIR || errno == EISDIR { return }
            throw Self.failure("cannot remove \(path)")
        }
        try Self.syncDirectory(Self.parent(of: path))
    }

    public func existsNow(key: BlobKey) throws(BlobStoreError) -> Bool {
        let path = self.path(of: key)
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return false }
            throw Self.failure("cannot stat \(path)")
        }
        return (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Walks only the folder the prefix names (for `spool/2000/` that folder alone), then sorts:
    /// each page costs a walk of that folder, which is fine for the sizes listing is used at
    /// (fsck, recovery); an index answers the hot paths.
    public func listNow(prefix: BlobPrefix, after cursor: BlobCursor?, limit: Int) throws(BlobStoreError) -> BlobPage {
        guard limit > 0 else { throw .invalidKey("list limit must be at least 1") }
        let root = self.root
        // The cursor is the last key of the previous page: keys sort in byte order here.
        let after = try cursor.map { cursor throws(BlobStoreError) in try BlobKey(cursor.value) }
        // The folder part of the prefix: everything up to its last slash.
        let folder = prefix.value.lastIndex(of: "/").map { String(prefix.value[..<$0]) } ?? ""
        var found: [BlobKey] = []
        try Self.walk(root: root, folder: folder) { relative in
            guard let key = try? BlobKey(relative), prefix.matches(key) else { return }
            if let after, !(after < key) { return }
            found.append(key)
        }
        found.sort()
        if found.count > limit {
            let page = Array(found.prefix(limit))
            return BlobPage(keys: page, next: page.last.map { BlobCursor($0.value) })
        }
        return BlobPage(keys: found, next: nil)
    }

    // MARK: - Files

    private func path(of key: BlobKey) -> String { root + "/" + key.value }

    private static func parent(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    }

    /// Makes the key's folders, fsyncing each new one's parent so the new entry lasts.
    private static func makeParents(of key: BlobKey, under root: String) throws(BlobStoreError) {
        var current = root
        for segment in key.segments.dropLast() {
            let next = current + "/" + segment
            if mkdir(next, 0o700) == 0 {
                try syncDirectory(current)
            } else if errno != EEXIST {
                throw failure("cannot create folder \(next)")
            }
            current = next
        }
    }

    private static func syncDirectory(_ path: String) throws(BlobStoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open folder \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("cannot fsync folder \(path)") }
    }

    /// Calls `visit` with the key-relative path of every regular file under `root/folder`,
    /// skipping the store's own `.blobstore` folder.
    private static func walk(
        root: String, folder: String, _ visit: (String) throws(BlobStoreError) -> Void
    ) throws(BlobStoreError) {
        var pending = [folder]
        while let relative = pending.popLast() {
            let path = relative.isEmpty ? root : root + "/" + relative
            guard let directory = opendir(path) else {
                if errno == ENOENT || errno == ENOTDIR { continue }
                throw failure("cannot list \(path)")
            }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                if relative.isEmpty && name == BlobKey.reservedSegment { continue }
                let child = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(root + "/" + child, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: pending.append(child)
                case S_IFREG: try visit(child)
                default: continue
                }
            }
        }
    }

    /// `errno` as a store error: a full disk is temporary, a permission problem is not.
    private static func failure(_ what: String) -> BlobStoreError {
        let code = errno
        let text = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM, EROFS: return .refused("\(what): \(text)")
        // A key whose folder is another key's file ("a" and "a/b"), or the reverse: S3 allows
        // both, a directory cannot; the store's own keys never collide so.
        case ENOTDIR, EISDIR: return .refused("\(what): \(text) (a key and a folder of keys share a name)")
        default: return .unavailable("\(what): \(text)")
        }
    }
}
