import Foundation
import MailvoxCore
import MailvoxCrypto

/// Which message a file operation is about, as its index row says: where the Maildir spool
/// would keep it and under which flags. The object spool uses only mailbox, folder and name.
struct FileRef: Sendable {
    var mailbox: String
    var folderID: Int64
    var fileName: String
    var inCur: Bool
    var letters: String
}

/// Where the message store keeps sealed messages: the Maildir spool on this machine (`Spool`)
/// or objects in a bucket (`ObjectSpool`). Each operation names a file by what the index knows
/// (`FileRef`) and answers with the file's name as it was found or made — a path or a blob
/// key — which tombstones record and `remove` takes. Calls are synchronous: the store runs on
/// the blocking pool.
///
/// Both keep the store's rule: a message's bytes are durable (fsynced, or acknowledged by the
/// object store) before the row that names them commits, and are removed only after the
/// row's removal committed.
protocol MessageFiles: Sendable {
    /// Writes a new message's sealed bytes, which `seal` hands over in pieces.
    func write(_ ref: FileRef, seal: ((Data) throws -> Void) throws -> Void) throws
    /// The name of the row's file as it is now, or nil when it cannot be found.
    func locate(_ ref: FileRef) -> String?
    /// The name the row's file has when nothing went wrong (what a tombstone records for a
    /// file that could not be found).
    func expectedName(_ ref: FileRef) -> String
    /// Opens the row's sealed file for reading.
    func open(_ ref: FileRef, key: OwnerKey) throws -> SealedFileReader
    /// The row's sealed bytes as they are stored, unopened (`mailvox migrate` moves them as they are).
    func sealedBytes(_ ref: FileRef) throws -> Data
    /// The row's flags changed to those of `ref`: the Maildir spool renames `name` to match; an
    /// object's name carries no flags.
    func reflag(_ name: String, to ref: FileRef) throws
    /// A second file for the message at `name`, for the row `ref` (COPY, MOVE, an expunge into
    /// Recently Deleted); returns its name. Never re-sealed.
    func duplicate(_ name: String, to ref: FileRef) throws -> String
    /// Removes the file `name`; gone already is fine.
    func remove(_ name: String) throws
    /// Removes whatever is left of a deleted folder (its directories).
    func removeFolder(mailbox: String, folderID: Int64)
    /// Removes every file of a mailbox whose rows are gone (`mailbox remove`).
    func removeMailbox(_ mailbox: String) throws
}

extension Spool: MessageFiles {
    func write(_ ref: FileRef, seal: ((Data) throws -> Void) throws -> Void) throws {
        let path = expectedName(ref)
        try deliver(mailbox: ref.mailbox, folderID: ref.folderID, fileName: ref.fileName, destination: path) { fd in
            try seal { try DurableFile.writeAll(fd, $0, path: path) }
        }
    }

    func locate(_ ref: FileRef) -> String? {
        locate(mailbox: ref.mailbox, folderID: ref.folderID, fileName: ref.fileName, expected: expectedName(ref))
    }

    func expectedName(_ ref: FileRef) -> String {
        path(
            mailbox: ref.mailbox, folderID: ref.folderID, fileName: ref.fileName, inCur: ref.inCur, letters: ref.letters
        )
    }

    /// Another session's flag change renames the file (`new/` to `cur/`, a new info suffix) at
    /// any moment, so a name found a moment ago may be gone when it is opened: then the file is
    /// found again under its new name and opened (IMAPBench's FETCH BODY[] beside STORE ±FLAGS
    /// met this as NO [SERVERBUG]).
    func open(_ ref: FileRef, key: OwnerKey) throws -> SealedFileReader {
        var attempt = 0
        while true {
            guard let path = locate(ref) else {
                throw MailStoreError.unreadable(
                    path: expectedName(ref), reason: "the index has a row but the spool has no file")
            }
            do {
                return try SealedFileReader(path: path, key: key)
            } catch {
                attempt += 1
                guard attempt < 5, access(path, F_OK) != 0 else { throw error }
            }
        }
    }

    func sealedBytes(_ ref: FileRef) throws -> Data {
        guard let path = locate(ref) else {
            throw MailStoreError.unreadable(
                path: expectedName(ref), reason: "the index has a row but the spool has no file")
        }
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw MailStoreError.io(path: path, reason: "cannot read")
        }
        return bytes
    }

    func reflag(_ name: String, to ref: FileRef) throws { try rename(from: name, to: expectedName(ref)) }

    func duplicate(_ name: String, to ref: FileRef) throws -> String {
        let destination = expectedName(ref)
        try link(from: name, to: destination, mailbox: ref.mailbox, folderID: ref.folderID)
        return destination
    }

    func removeFolder(mailbox: String, folderID: Int64) {
        try? FileManager.default.removeItem(atPath: folderDirectory(mailbox: mailbox, folderID: folderID))
    }

    func removeMailbox(_ mailbox: String) throws {
        let directory = mailboxDirectory(mailbox)
        guard FileManager.default.fileExists(atPath: directory) else { return }
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            throw MailStoreError.io(path: directory, reason: error.localizedDescription)
        }
    }
}

/// Sealed messages as objects of a `BlobStore` (`[blobs] backend = "s3"`): the key
/// `spool/<mailbox>/<folder-id>/<file-name>`, the Maildir path without `new/`/`cur/` and
/// without flags, which live in the index alone. An object is written once and never renamed;
/// a copy is a second object. The bucket sees only MVX1 ciphertext.
struct ObjectSpool: MessageFiles {
    let blobs: BlockingBlobs
    /// Sealed objects this node wrote or read lately (`MessageStore`'s `rememberingObjects`).
    let recent: ByteCache?

    func expectedName(_ ref: FileRef) -> String { "spool/\(ref.mailbox)/\(ref.folderID)/\(ref.fileName)" }

    func locate(_ ref: FileRef) -> String? { expectedName(ref) }

    func write(_ ref: FileRef, seal: ((Data) throws -> Void) throws -> Void) throws {
        var bytes: [UInt8] = []
        try seal { bytes.append(contentsOf: $0) }
        let name = expectedName(ref)
        try blobs.put(try BlobKey(name), bytes)
        recent?.keep(name, Data(bytes))
    }

    func open(_ ref: FileRef, key: OwnerKey) throws -> SealedFileReader {
        try SealedFileReader(sealed: try sealedBytes(ref), key: key)
    }

    func sealedBytes(_ ref: FileRef) throws -> Data {
        let name = expectedName(ref)
        guard let bytes = try object(name) else {
            throw MailStoreError.unreadable(path: name, reason: "the index has a row but the bucket has no object")
        }
        return bytes
    }

    /// The object `name`, remembered or read (and then remembered); nil when there is none.
    private func object(_ name: String) throws -> Data? {
        if let kept = recent?.get(name) { return kept }
        guard let bytes = try blobs.get(try BlobKey(name)) else { return nil }
        let data = Data(bytes)
        recent?.keep(name, data)
        return data
    }

    func reflag(_ name: String, to ref: FileRef) throws {}

    func duplicate(_ name: String, to ref: FileRef) throws -> String {
        guard let bytes = try object(name) else {
            throw MailStoreError.unreadable(path: name, reason: "the bucket has no object to copy")
        }
        let destination = expectedName(ref)
        try blobs.put(try BlobKey(destination), [UInt8](bytes))
        recent?.keep(destination, bytes)
        return destination
    }

    func remove(_ name: String) throws {
        recent?.forget(name)
        try blobs.delete(try BlobKey(name))
    }

    func removeFolder(mailbox: String, folderID: Int64) {}

    func removeMailbox(_ mailbox: String) throws {
        for key in try blobs.allKeys(prefix: try BlobPrefix("spool/\(mailbox)/")) {
            recent?.forget(key.value)
            try blobs.delete(key)
        }
    }
}
