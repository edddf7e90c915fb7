import Foundation
import MailvoxCore
import MailvoxCrypto

/// `mailvox keys rotate` (docs/DESIGN.md §5.2): write `master.key.new`, re-wrap every key in one
/// transaction, then keep the old file as `master.key.ID.old` and move the new one into
/// place. Each step is durable before the next, and `Context` accepts whichever file the
/// database names, so a crash anywhere loses nothing.
public enum KeyRotation {
    public struct Result: Sendable {
        public var oldID: String
        public var newID: String
        public var keysRewrapped: Int
        public var oldKeyPath: String
    }

    public static func rotate(_ context: Context) throws -> Result {
        try ServeLock.requireNotServing(context.config.serveLockPath, action: "rotate the master key")
        let path = context.config.crypto.masterKeyFile
        let current = context.requireMasterKey()
        let newPath = path + ".new"
        var rewrapped = 0
        let next: MasterKey
        if let pending = try? MasterKey.load(from: newPath), pending.id == current.id {
            // A previous rotation committed but stopped before its renames: finish it.
            next = pending
        } else {
            if FileManager.default.fileExists(atPath: newPath) {
                // Left by a rotation that stopped before its commit: nothing uses it.
                unlink(newPath)
            }
            next = MasterKey.generate()
            try next.write(to: newPath)
            rewrapped = try context.directory.rewrapKeys(from: current, to: next)
        }
        var old = (id: current.id, path: "\(path).\(current.id).old")
        if let onDisk = try? MasterKey.load(from: path), onDisk.id != next.id {
            old = (onDisk.id, "\(path).\(onDisk.id).old")
            guard rename(path, old.path) == 0 else {
                throw CryptoError.io(path: path, reason: String(cString: strerror(errno)))
            }
        }
        guard rename(newPath, path) == 0 else {
            throw CryptoError.io(path: newPath, reason: String(cString: strerror(errno)))
        }
        DurableFile.syncDirectory(of: path)
        return Result(oldID: old.id, newID: next.id, keysRewrapped: rewrapped, oldKeyPath: old.path)
    }
}
