import Foundation

/// Writing files so that "written" survives a power cut: data fsynced before it gets its final
/// name, and the directory fsynced after. Keys, the config, sealed deposits and the spool all
/// go through here, so the rule lives in one place.
public enum DurableFile {
    /// Creates `path` exclusively (never replacing a file — above all never a key) with `mode`.
    public static func createExclusive(
        _ path: String, contents: some DataProtocol, mode: mode_t = 0o600
    )
        throws(CryptoError)
    {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw .keyFileExists(path: path) }
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        // The umask may have narrowed the mode; never widen past what was asked.
        fchmod(fd, mode)
        do throws(CryptoError) {
            try writeAll(fd, contents, path: path)
            guard fsync(fd) == 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        } catch {
            unlink(path)
            throw error
        }
        syncDirectory(of: path)
    }

    /// Writes `contents` to `path` through `path.tmp`: fsync, rename, fsync the directory.
    public static func replace(_ path: String, contents: some DataProtocol, mode: mode_t = 0o600) throws(CryptoError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
        do throws(CryptoError) {
            try writeAll(fd, contents, path: temporary)
            guard fsync(fd) == 0 else { throw .io(path: temporary, reason: String(cString: strerror(errno))) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io(path: path, reason: reason)
        }
        syncDirectory(of: path)
    }

    /// Writes every byte of `contents` to `fd`, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ contents: some DataProtocol, path: String) throws(CryptoError) {
        for region in contents.regions {
            var failure: CryptoError?
            region.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else {
                        failure = .io(path: path, reason: String(cString: strerror(errno)))
                        return
                    }
                    offset += written
                }
            }
            if let failure { throw failure }
        }
    }

    /// Makes a rename or unlink in `path`'s directory durable.
    public static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
