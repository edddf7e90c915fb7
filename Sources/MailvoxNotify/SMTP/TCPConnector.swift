import Foundation

/// Opens a TCP connection to the relay within a deadline (the SMTP client, and `doctor`).
///
/// libetpan's `mailsmtp_ssl_connect` connects with a plain blocking `connect(2)` (the kernel
/// gives up only after ~2 minutes of SYN retries), so the client connects itself: a
/// non-blocking `connect` per resolved address, `poll` for the rest of the deadline, then the
/// socket back in blocking mode (libetpan's GnuTLS handshake expects a blocking socket and
/// makes the stream non-blocking itself afterwards).
public enum TCPConnector {
    /// A connected socket to `host:port`, or a transient `NotifyError.connection`. The caller
    /// owns the descriptor. Name resolution uses the system resolver and its own timeouts.
    public static func connect(host: String, port: Int, timeout: Int) throws(NotifyError) -> Int32 {
        let deadline = Date().addingTimeInterval(Double(max(1, timeout)))
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw .connection("cannot resolve \(host)")
        }
        defer { freeaddrinfo(first) }

        var failure: NotifyError = .connection("\(host):\(port) refused the connection")
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            next = entry.pointee.ai_next
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { break }
            let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            switch attempt(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen, until: deadline) {
            case 0:
                return fd
            case ETIMEDOUT:
                close(fd)
                failure = .connection("\(host):\(port): no connection within \(timeout) s")
            case ECONNREFUSED:
                close(fd)
                failure = .connection("\(host):\(port) refused the connection")
            case let code:
                close(fd)
                failure = .connection("\(host):\(port): cannot connect (\(String(cString: strerror(code))))")
            }
        }
        throw failure
    }

    /// Connects `fd` by `deadline`: 0, or the errno that stopped it (`ETIMEDOUT` for the deadline).
    private static func attempt(
        _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, until deadline: Date
    ) -> Int32 {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return errno }
        if Glibc.connect(fd, address, length) != 0 {
            guard errno == EINPROGRESS else { return errno }
            while true {
                let milliseconds = Int32(clamping: Int((deadline.timeIntervalSinceNow * 1000).rounded(.up)))
                guard milliseconds > 0 else { return ETIMEDOUT }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&entry, 1, milliseconds)
                if ready < 0 && errno == EINTR { continue }
                if ready < 0 { return errno }
                if ready == 0 { return ETIMEDOUT }
                break
            }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 else { return errno }
            guard error == 0 else { return error }
        }
        guard fcntl(fd, F_SETFL, flags) == 0 else { return errno }
        return 0
    }
}
