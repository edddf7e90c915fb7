import Foundation
import MailvoxCore

/// Small socket probes for `doctor`: can we bind this listener, can we reach that relay.
enum Network {
    /// Nil when `address` can be bound now; otherwise why not.
    static func bindProblem(_ address: HostPort) -> String? {
        withAddresses(address, passive: true) { info in
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return String(cString: strerror(errno)) }
            defer { close(fd) }
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                return String(cString: strerror(errno))
            }
            return nil
        }
    }

    /// Nil when a TCP connection to `address` opens within the timeout; otherwise why not.
    static func connectProblem(_ address: HostPort, timeoutMilliseconds: Int32) -> String? {
        withAddresses(address, passive: false) { info in
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return String(cString: strerror(errno)) }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return "timed out" }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            return error == 0 ? nil : String(cString: strerror(error))
        }
    }

    static func freeBytes(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    private static func withAddresses(
        _ address: HostPort, passive: Bool, _ body: (UnsafeMutablePointer<addrinfo>) -> String?
    ) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &result)
        guard status == 0, let first = result else { return String(cString: gai_strerror(status)) }
        defer { freeaddrinfo(first) }
        return body(first)
    }
}
