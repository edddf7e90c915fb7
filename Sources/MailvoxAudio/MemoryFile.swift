import CSndFile
import Foundation
import Glibc

/// A file that lives only in memory (`memfd_create`), reachable by path through
/// `/proc/self/fd`: how the transcoder, which opens paths, reads and writes audio that must
/// never touch the disk in clear (a greeting uploaded to the web inbox, its PBX copy).
public final class MemoryFile {
    public let descriptor: Int32

    public var path: String { "/proc/self/fd/\(descriptor)" }

    public init(name: String, bytes: [UInt8] = []) throws {
        descriptor = mailvox_memfd_create(name)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else {
                close(descriptor)
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            written += count
        }
    }

    deinit { close(descriptor) }

    /// Everything in the file now (another open of `path` may have rewritten it).
    public func contents() throws -> [UInt8] {
        let size = lseek(descriptor, 0, SEEK_END)
        guard size >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        while done < bytes.count {
            let count = bytes[done...].withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress, $0.count, off_t(done))
            }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            done += count
        }
        return bytes
    }
}
