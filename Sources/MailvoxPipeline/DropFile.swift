import Foundation
import MailvoxCore
import Synchronization

/// One file of the drop folder, opened without following a symlink and checked to be a
/// regular file by its descriptor: what was checked is what is read, whatever happens to the
/// name meanwhile. Closing it releases the read lease, if one was taken.
final class DropFile {
    let path: String
    let fd: Int32
    let info: stat

    /// Why an entry cannot be opened as a drop file.
    enum Refusal: Error {
        /// Gone since the listing (taken by another scan, renamed by its writer): not an error.
        case vanished
        /// Not a regular file: a symlink, directory, FIFO, socket or device.
        case notRegular(String)
        /// Some other error, to be logged and retried on the next pass.
        case failed(String)
    }

    /// Opens `path` read-only with `O_NOFOLLOW` (a symlink fails with ELOOP) and `O_NONBLOCK`
    /// (a FIFO put there never blocks the scanner); refuses anything but a regular file.
    init(path: String) throws(Refusal) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw .vanished
            case ELOOP: throw .notRegular("a symbolic link")
            case ENXIO: throw .notRegular("a socket")
            default: throw .failed(String(cString: strerror(code)))
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .failed(reason)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw .notRegular(Self.kind(info.st_mode))
        }
        self.path = path
        self.fd = fd
        self.info = info
    }

    deinit { close(fd) }

    var size: Int { Int(info.st_size) }
    var mtime: Double { Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 }
    var snapshot: DropSnapshot {
        DropSnapshot(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: size, mtimeSeconds: info.st_mtim.tv_sec,
            mtimeNanoseconds: info.st_mtim.tv_nsec)
    }

    /// What a lease attempt found.
    enum Lease {
        /// Held until the file is closed: nobody has it open for writing, and a writer that
        /// opens it now waits until we are done (the kernel breaks the lease only after
        /// `/proc/sys/fs/lease-break-time`, and we close long before).
        case held
        /// Some process has the file open for writing: still being written.
        case busy
        /// Leases are not available for this file (EACCES: not ours and no CAP_LEASE; EINVAL
        /// on file systems without them): only the size and settle checks apply.
        case unavailable
    }

    /// Takes a read lease (Linux `F_SETLEASE`, fcntl(2)): refused with EAGAIN while any process
    /// has the file open for writing — the one sure sign a writer is not done.
    func takeReadLease() -> Lease {
        _ = Self.ignoreLeaseBreakSignal
        if fcntl(fd, Self.setLease, Int32(F_RDLCK)) == 0 { return .held }
        return errno == EAGAIN || errno == EBUSY ? .busy : .unavailable
    }

    /// `F_SETLEASE` (F_LINUX_SPECIFIC_BASE + 0, <linux/fcntl.h>): Glibc's module map hides it
    /// behind _GNU_SOURCE.
    static let setLease: Int32 = 1024

    /// A writer opening a leased file makes the kernel send the holder SIGIO, whose default
    /// action ends the process; the lease is given back by closing the file, so the signal
    /// itself is not needed.
    private static let ignoreLeaseBreakSignal: Void = { _ = signal(SIGIO, SIG_IGN) }()

    /// The whole file through this descriptor, or nil when it is larger than `limit`.
    func readAll(limit: Int) throws -> Data? {
        guard size <= limit else { return nil }
        var data = Data(count: size)
        var offset = 0
        let result = data.withUnsafeMutableBytes { buffer -> Int in
            while offset < buffer.count {
                let got = pread(fd, buffer.baseAddress! + offset, buffer.count - offset, off_t(offset))
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { return got < 0 ? -1 : offset }
                offset += got
            }
            return offset
        }
        guard result >= 0 else {
            throw PipelineError.io(path: path.logEscaped, reason: String(cString: strerror(errno)))
        }
        // Shorter than fstat said (truncated meanwhile): take what is there.
        if result < size { data.removeSubrange(result...) }
        return data
    }

    /// Makes the file private to its owner (the caller number is in the name or sidecar);
    /// fails quietly when it belongs to another user — the 0700 folder it goes to covers it.
    func makePrivate() { fchmod(fd, 0o600) }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFLNK: "a symbolic link"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a named pipe"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "not a regular file"
        }
    }
}

/// What a scan saw of a file: it is taken only when the next scan sees the same.
struct DropSnapshot: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int
    var mtimeSeconds: Int
    var mtimeNanoseconds: Int
}

/// What the previous scan saw of each file, kept across scans (and across the copies of a
/// `DropFolder` value).
final class DropScanMemory: Sendable {
    let table = Mutex<[String: DropSnapshot]>([:])
}
