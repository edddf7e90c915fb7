import Foundation
import MailvoxCore

/// Directories of mode 0700 for what must not be read by others (an export's decrypted mail,
/// a restore's data dir), and the hidden staging directory an all-or-nothing write builds in.
public enum PrivateDirectory {
    /// A fresh 0700 directory `.<name>.<purpose>-XXXXXX` beside `target` (same file system, so
    /// the final rename into place is atomic).
    public static func staging(beside target: URL, purpose: String) throws -> String {
        let template =
            target.deletingLastPathComponent().path + "/." + target.lastPathComponent + ".\(purpose)-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else {
            throw MailStoreError.io(
                path: template, reason: "cannot create the \(purpose)'s staging directory: \(errnoText())")
        }
        return String(cString: made)
    }

    /// Makes `path` (an existing one is fine) and sets it to exactly 0700.
    public static func make(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw MailStoreError.io(path: path, reason: "cannot create: \(errnoText())")
        }
        // The umask may take bits away but never adds any; be exact all the same.
        guard chmod(path, 0o700) == 0 else {
            throw MailStoreError.io(path: path, reason: "cannot chmod: \(errnoText())")
        }
    }
}
