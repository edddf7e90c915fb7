import Foundation
import MailvoxCore

/// `DATA_DIR/serve.lock`: held by the one `serve` of a data dir for its whole life.
///
/// An advisory `flock`, so the kernel drops it when the process dies however it dies; commands
/// that must not run beside a server (`fsck --rebuild`, `keys rotate`, `mailbox remove`) test it.
public final class ServeLock: @unchecked Sendable {
    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Takes the lock, or throws `ServeLockError.held` when another process has it.
    public static func acquire(_ path: String) throws -> ServeLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServeLockError.io(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ServeLockError.held(path: path)
        }
        // The holder's pid, for people reading the file; the lock itself is the flock.
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return ServeLock(descriptor: fd, path: path)
    }

    /// Throws `held` if a `serve` holds the lock now; takes and drops it otherwise.
    public static func requireNotServing(_ path: String, action: String) throws {
        do {
            _ = try acquire(path)
        } catch ServeLockError.held {
            throw ServeLockError.busy(path: path, action: action)
        }
    }
}

public enum ServeLockError: MailvoxFailure {
    case held(path: String)
    case busy(path: String, action: String)
    case io(path: String, reason: String)

    public var kind: FailureKind { .runtime }

    public var description: String {
        switch self {
        case .held(let path): "another `mailvox serve` holds \(path); one server per data dir"
        case .busy(let path, let action):
            "refusing to \(action) while `mailvox serve` runs (it holds \(path)); stop it first"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
