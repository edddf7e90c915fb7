import Foundation
import MailvoxCrypto

/// Content-defined chunks: where a file is cut into the pieces stored as blobs.
///
/// A gear rolling hash over the bytes (FastCDC-style): a cut falls where the hash's top 15 bits
/// are zero, at least `minimum` and at most `maximum` bytes after the previous cut, so chunks
/// average about 40 KiB. Cuts depend only on the bytes just before them, not on offsets: lines
/// inserted into a file move everything after them, yet the chunks after the change are found
/// again and stored once. Used for the manifest's entries (and for snapshots taken with `VACUUM
/// INTO` before `DatabasePageChunker`). The table and bounds are part of the
/// format only in that changing them makes the next run share fewer chunks with earlier ones.
public enum ContentChunker {
    public static let minimum = 8 << 10
    public static let maximum = 128 << 10
    static let mask: UInt64 = ((1 << 15) - 1) << 49

    /// 256 fixed pseudo-random values (splitmix64 from a fixed seed).
    static let gear: [UInt64] = {
        var state: UInt64 = 0x6D61_696C_766F_7821
        return (0..<256).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }()

    /// The lengths of the chunks `bytes` is cut into, in order; they add up to `bytes.count`.
    public static func lengths(_ bytes: UnsafeRawBufferPointer) -> [Int] {
        var lengths: [Int] = []
        var start = 0
        gear.withUnsafeBufferPointer { gear in
            while start < bytes.count {
                let remaining = bytes.count - start
                if remaining <= minimum {
                    lengths.append(remaining)
                    break
                }
                let end = start + min(remaining, maximum)
                var hash: UInt64 = 0
                var index = start + minimum
                var cut = end
                while index < end {
                    hash = (hash << 1) &+ gear[Int(bytes[index])]
                    index += 1
                    if hash & mask == 0 {
                        cut = index
                        break
                    }
                }
                lengths.append(cut - start)
                start = cut
            }
        }
        return lengths
    }
}

/// Page-aligned chunks for a page-for-page copy of an SQLite database (see `BackupWriter.copyPages`).
///
/// Between two runs the same pages of the live file sit at the same offsets, and the changed
/// ones are few but scattered: an insertion with a random key (a file name, a deposit id)
/// changes one leaf of each index, anywhere in the file. So each b-tree interior page and each
/// index leaf page is a chunk of its own (a changed one costs one page, not 40 KiB), and runs of
/// the other pages — table leaves, overflow and free pages, which rows appended at the end
/// rarely touch — are cut where a page's FNV-1a hash has its top 4 bits zero, at most 32
/// pages long (about 64 KiB on average), so the manifest lists a few hundred chunks rather than
/// one per page. A buffer that is not such a file is cut by `ContentChunker`.
public enum DatabasePageChunker {
    static let maximumPages = 32

    /// The lengths of the chunks `bytes` is cut into, in order; they add up to `bytes.count`.
    public static func lengths(_ bytes: UnsafeRawBufferPointer) -> [Int] {
        guard let pageSize = pageSize(bytes), bytes.count % pageSize == 0 else {
            return ContentChunker.lengths(bytes)
        }
        var lengths: [Int] = []
        var start = 0
        for page in stride(from: 0, to: bytes.count, by: pageSize) {
            // Page 1 begins with the 100-byte file header; its b-tree header follows it.
            let kind = bytes[page == 0 ? 100 : page]
            // 0x02 index interior, 0x05 table interior, 0x0A index leaf (SQLite file format §1.6).
            if page == 0 || kind == 0x02 || kind == 0x05 || kind == 0x0A {
                if start < page { lengths.append(page - start) }
                lengths.append(pageSize)
                start = page + pageSize
                continue
            }
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in UnsafeRawBufferPointer(rebasing: bytes[page..<page + pageSize]) {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            let end = page + pageSize
            if hash >> 60 == 0 || end - start >= maximumPages * pageSize {
                lengths.append(end - start)
                start = end
            }
        }
        if start < bytes.count { lengths.append(bytes.count - start) }
        return lengths
    }

    /// The page size an SQLite file header declares, nil if `bytes` does not start with one.
    static func pageSize(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 512, Array(bytes[0..<16]) == Array("SQLite format 3\0".utf8) else { return nil }
        // Big-endian at offset 16; 1 stands for 65536.
        let declared = Int(bytes[16]) << 8 | Int(bytes[17])
        let size = declared == 1 ? 65536 : declared
        return size >= 512 && size & (size - 1) == 0 ? size : nil
    }
}

/// A file stored as content-defined chunks in `blobs/`: the whole file's SHA-256 and size, and
/// its chunks in order, each a blob named by its own SHA-256.
public struct ChunkedFile: Sendable, Equatable {
    public var digest: String
    public var size: Int64
    public var chunks: [BackupManifest.Blob]
}

extension BackupRepository {
    /// Stores `bytes` as chunks: each chunk whose blob is already there (same digest, same size)
    /// is not written again; a new one is written under `temporaryDirectory` and renamed into
    /// `blobs/`. Nothing is fsynced here: the caller syncs the file system once before anything
    /// names these chunks (`BackupFiles.syncFileSystem`). Returns the file, the bytes written
    /// and the new blobs' digests.
    func storeChunks(
        _ bytes: UnsafeRawBufferPointer, temporaryDirectory: String,
        cutting lengths: (UnsafeRawBufferPointer) -> [Int] = ContentChunker.lengths
    ) throws -> (file: ChunkedFile, written: Int64, newBlobs: [String]) {
        var whole = StreamingSHA256()
        whole.update(bytes)
        var chunks: [BackupManifest.Blob] = []
        var written: Int64 = 0
        var newBlobs: [String] = []
        var offset = 0
        for length in lengths(bytes) {
            let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
            offset += length
            var hasher = StreamingSHA256()
            hasher.update(piece)
            let blob = BackupManifest.Blob(digest: hasher.finalizeHex(), size: Int64(length))
            chunks.append(blob)
            let path = blobPath(blob.digest)
            if BackupWriter.size(of: path) == blob.size { continue }
            let directory = (path as NSString).deletingLastPathComponent
            try BackupFiles.makeDirectory(directory)
            let temporary = "\(temporaryDirectory)/chunk-\(blob.digest)"
            unlink(temporary)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw BackupError.io(path: temporary, reason: "cannot create: \(errnoText())") }
            do {
                try DurableFile.writeAll(fd, Array(piece), path: temporary)
                close(fd)
            } catch {
                close(fd)
                unlink(temporary)
                throw error
            }
            // A blob of the wrong size under this name is damage; the new one replaces it.
            guard rename(temporary, path) == 0 else {
                throw BackupError.io(path: path, reason: "cannot store: \(errnoText())")
            }
            written += blob.size
            newBlobs.append(blob.digest)
        }
        return (ChunkedFile(digest: whole.finalizeHex(), size: Int64(bytes.count), chunks: chunks), written, newBlobs)
    }

    /// Stores the file at `path` as chunks (see `storeChunks(_:temporaryDirectory:cutting:)`).
    func storeChunks(
        ofFile path: String, temporaryDirectory: String,
        cutting lengths: (UnsafeRawBufferPointer) -> [Int] = ContentChunker.lengths
    ) throws -> (file: ChunkedFile, written: Int64, newBlobs: [String]) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw BackupError.io(path: path, reason: "cannot read: \(error)")
        }
        return try data.withUnsafeBytes {
            try storeChunks($0, temporaryDirectory: temporaryDirectory, cutting: lengths)
        }
    }

    /// Puts `file` together from its chunks, each checked against its digest and size, then the
    /// whole; into a new file at `destination` (0600, fsynced) when given. Returns what is wrong,
    /// nothing when the file is whole; a damaged file at `destination` is removed.
    func assemble(_ file: ChunkedFile, what: String, to destination: String?) throws -> [String] {
        var output: Int32 = -1
        if let destination {
            output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard output >= 0 else {
                throw BackupError.io(path: destination, reason: "cannot create: \(errnoText())")
            }
        }
        var problems: [String] = []
        var whole = StreamingSHA256()
        var total: Int64 = 0
        do {
            for (index, chunk) in file.chunks.enumerated() {
                let path = blobPath(chunk.digest)
                guard let data = FileManager.default.contents(atPath: path) else {
                    problems.append("\(what), chunk \(index + 1) of \(file.chunks.count): missing (\(path))")
                    continue
                }
                var hasher = StreamingSHA256()
                data.withUnsafeBytes { hasher.update($0) }
                if Int64(data.count) != chunk.size {
                    problems.append(
                        "\(what), chunk \(index + 1) of \(file.chunks.count): \(data.count) bytes where the manifest says \(chunk.size) (\(path))"
                    )
                } else if hasher.finalizeHex() != chunk.digest {
                    problems.append(
                        "\(what), chunk \(index + 1) of \(file.chunks.count): content differs from its SHA-256 (\(path))"
                    )
                }
                guard problems.isEmpty else { continue }
                data.withUnsafeBytes { whole.update($0) }
                total += Int64(data.count)
                if output >= 0 { try DurableFile.writeAll(output, Array(data), path: destination ?? "") }
            }
            if problems.isEmpty && (total != file.size || whole.finalizeHex() != file.digest) {
                problems.append("\(what): the chunks put together differ from its SHA-256")
            }
            if output >= 0 && problems.isEmpty && fsync(output) != 0 {
                throw BackupError.io(path: destination ?? "", reason: "cannot fsync: \(errnoText())")
            }
        } catch {
            if output >= 0 { close(output) }
            if let destination { unlink(destination) }
            throw error
        }
        if output >= 0 { close(output) }
        if let destination, !problems.isEmpty { unlink(destination) }
        return problems
    }
}

extension BackupFiles {
    /// A new private (0700) directory for the snapshot while it is cut into chunks: in
    /// `/dev/shm` when there is one (RAM: the snapshot is never written to a disk whole), else
    /// in the temporary directory. The caller removes it.
    static func scratchDirectory() throws -> String {
        for base in ["/dev/shm", NSTemporaryDirectory()] where access(base, W_OK) == 0 {
            var template = Array(
                "\(base.hasSuffix("/") ? String(base.dropLast()) : base)/mvx-backup-XXXXXX".utf8CString)
            if let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) {
                return String(cString: made)
            }
        }
        throw BackupError.io(path: NSTemporaryDirectory(), reason: "cannot make a scratch directory: \(errnoText())")
    }
}
