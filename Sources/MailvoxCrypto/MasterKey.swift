import Crypto
import Foundation
import MailvoxCore

/// The 256-bit key that wraps every private key of the node and its mailboxes.
///
/// Stored as one line, `mailvox-master-key-v1 BASE64`, in a file of mode 0600. In production
/// it lives outside the data dir and its backups; without it, spool and database reveal nothing.
public struct MasterKey: Sendable {
    let key: SymmetricKey
    /// A short public name for this key, recorded beside everything it wraps.
    public let id: String

    private static let prefix = "mailvox-master-key-v1 "

    init(key: SymmetricKey) {
        self.key = key
        let digest = SHA256.hash(data: Data("mailvox master key id\u{0}".utf8) + key.withUnsafeBytes { Data($0) })
        self.id = digest.withUnsafeBytes { $0.prefix(8).lowercaseHex }
    }

    /// A new random master key (not yet written anywhere).
    public static func generate() -> MasterKey { MasterKey(key: SymmetricKey(size: .bits256)) }

    /// Writes the key to `path` with mode 0600; never replaces an existing file.
    public func write(to path: String) throws(CryptoError) {
        let line = Self.prefix + key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        try DurableFile.createExclusive(path, contents: Array(line.utf8))
    }

    /// Loads the key at `path`, refusing a file that group or others can read.
    public static func load(from path: String) throws(CryptoError) -> MasterKey {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .keyFileMissing(path: path) }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else { throw .keyFileInsecure(path: path, mode: String(mode, radix: 8)) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
            text.hasPrefix(prefix),
            let raw = Data(base64Encoded: text.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines)),
            raw.count == 32
        else { throw .keyFileMalformed(path: path) }
        return MasterKey(key: SymmetricKey(data: raw))
    }
}

extension MasterKey {
    /// Every master key a rotation may have left at `path`: the file itself, `PATH.new` (a
    /// rotation cut short) and `PATH.ID.old` (kept until the operator removes it). At start the
    /// one whose id the database names is used, so a crash at any step of `keys rotate` loses nothing.
    public static func candidates(at path: String) throws(CryptoError) -> [(path: String, key: MasterKey)] {
        var found: [(String, MasterKey)] = []
        var paths = [path, path + ".new"]
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        where name.hasPrefix(base + ".") && name.hasSuffix(".old") {
            paths.append(directory + "/" + name)
        }
        for candidate in paths where FileManager.default.fileExists(atPath: candidate) {
            found.append((candidate, try load(from: candidate)))
        }
        guard !found.isEmpty else { throw .keyFileMissing(path: path) }
        return found
    }
}
