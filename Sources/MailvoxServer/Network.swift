import Foundation
import MailvoxCore

/// A socket probe for `doctor`: can we bind this listener. (Reaching the relay uses the
/// alert path's own `TCPConnector`.)
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
