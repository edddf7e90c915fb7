import Foundation
import MailvoxCore
import MailvoxDatabase

/// What `mailvox migrate` asks of the message store: the sealed files of message rows, moved
/// between two stores (the Maildir spool and a bucket, either way) as the bytes they are —
/// never opened or sealed again, so a bucket still sees only MVX1 ciphertext.
extension MessageStore {
    /// The mailbox of each folder, by folder id: what names a message row's file.
    public func folderOwners() throws -> [Int64: String] {
        try database.read { db in
            var owners: [Int64: String] = [:]
            for row in try db.rows("SELECT id, mailbox_id FROM folder") {
                owners[try row.get("id")] = try row.get("mailbox_id")
            }
            return owners
        }
    }

    /// Writes the sealed file of each message row of `rows` (rows of `source`'s `message`
    /// table) into this store, durably, where the same row will look for it: call it before the
    /// rows are inserted, so no row ever names a file that is not there. Returns the bytes copied.
    @discardableResult
    public func copyFiles(of rows: [SQLRow], owners: [Int64: String], from source: MessageStore) throws -> Int {
        var bytes = 0
        for row in rows {
            let ref = try Self.transferRef(row, owners: owners)
            let sealed = try source.files.sealedBytes(ref)
            try files.write(ref) { seal in try seal(sealed) }
            bytes += sealed.count
        }
        return bytes
    }

    /// Whether this store holds, for message row `row` of `source`, the very bytes `source` holds;
    /// throws when either side cannot read its file.
    public func holdsSameFile(as source: MessageStore, row: SQLRow, owners: [Int64: String]) throws -> Bool {
        let ref = try Self.transferRef(row, owners: owners)
        return try files.sealedBytes(ref) == source.files.sealedBytes(ref)
    }

    static func transferRef(_ row: SQLRow, owners: [Int64: String]) throws -> FileRef {
        let folderID: Int64 = try row.get("folder_id")
        guard let owner = owners[folderID], let mailbox = MailboxID(owner) else {
            throw MailStoreError.unreadable(
                path: "folder \(folderID)", reason: "a message row names a folder the index does not have")
        }
        return try fileRef(mailbox: mailbox, folderID: folderID, row: row)
    }
}
