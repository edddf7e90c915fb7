import Foundation

/// Free space on the disk that holds a path, and whether a failure was the disk being full.
///
/// The one helper in Core that asks the system (statvfs): the HTTP door, the pipeline and the
/// store all need the same answer to "is the disk full?".
public enum DiskSpace {
    /// Below this many free bytes a disk counts as full whatever `server.min_free_bytes` says:
    /// SQLite's journal and a sealed file's temporary copy need some room to fail cleanly.
    public static let fullBelow = 1_048_576

    /// Bytes available to this (unprivileged) process; `Int.max` when the path cannot be asked.
    public static func freeBytes(_ path: String) -> Int { freeBytesIfKnown(path) ?? Int.max }

    /// Bytes available to this (unprivileged) process; nil when the path cannot be asked.
    public static func freeBytesIfKnown(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    public static func isFull(_ path: String) -> Bool { freeBytes(path) < fullBelow }

    /// True when `error` says so itself: ENOSPC from a file call, SQLITE_FULL from the database.
    public static func isDiskFullError(_ error: any Error) -> Bool {
        if let posix = error as? POSIXError, posix.code == .ENOSPC { return true }
        return isDiskFullError("\(error)")
    }

    /// The same for an error already turned into text (as `MailStoreError.storage` carries it).
    public static func isDiskFullError(_ description: String) -> Bool {
        description.contains("No space left on device") || description.contains("SQLITE_FULL")
            || description.contains("database or disk is full")
    }
}
