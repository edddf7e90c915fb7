import Foundation

/// Writes small secret files the durable way: exclusive create with mode 0600, fsync, then
/// fsync of the directory, so a key that was reported written survives a power cut.
enum SecureFile {
    static func createExclusive(_ path: String, contents: [UInt8], mode: mode_t = 0o600) throws(CryptoError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw .keyFileExists(path: path) }
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        // The umask may have narrowed the mode; never widen past what was asked.
        fchmod(fd, mode)
        var offset = 0
        while offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else {
                if written < 0 && errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                unlink(path)
                throw .io(path: path, reason: reason)
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        syncDirectory(of: path)
    }

    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
