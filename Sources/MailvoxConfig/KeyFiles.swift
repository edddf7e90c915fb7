import Foundation
import MailvoxCore

/// Checks and reads the files a config names for keys and secrets (`master_key_file`,
/// `private_key_file`, `*_file` secrets): they must exist and be readable by their owner only.
public enum KeyFiles {
    /// Throws unless `path` exists and has no group or other permission bits.
    public static func check(_ path: String, key: String, config: Configuration) throws(ConfigError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigError(source: config.file, key: key, message: "\(path): no such file")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ConfigError(source: config.file, key: key, message: "\(path): not a regular file")
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw ConfigError(
                source: config.file, key: key,
                message:
                    "\(path) is readable by group or others (mode \(String(mode, radix: 8))); run chmod 600 \(path)")
        }
    }

    /// Reads a secret file (first line, trailing newline and spaces removed) after `check`.
    public static func readSecret(_ path: String, key: String, config: Configuration) throws(ConfigError) -> String {
        try check(path, key: key, config: config)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError(source: config.file, key: key, message: "\(path): cannot read as UTF-8 text")
        }
        let secret =
            text.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline).first.map(
                String.init) ?? ""
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ConfigError(source: config.file, key: key, message: "\(path) is empty") }
        return trimmed
    }
}
