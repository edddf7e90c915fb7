import Foundation

/// An IP network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), for `[inbound]
/// trusted_networks`: which client addresses may send mail without AUTH.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's address as 4 or 16 octets, host bits cleared.
    public let octets: [UInt8]
    public let prefixLength: Int

    public static let loopbackV4 = IPNetwork("127.0.0.0/8")!
    public static let loopbackV6 = IPNetwork("::1/128")!

    /// `address/prefix`, or an address alone (a single host).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let octets = Self.octets(of: String(parts[0])) else { return nil }
        let maximum = octets.count * 8
        let length: Int
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maximum).contains(parsed), parts[1].allSatisfy(\.isNumber) else {
                return nil
            }
            length = parsed
        } else {
            length = maximum
        }
        self.octets = Self.mask(octets, length)
        self.prefixLength = length
    }

    /// Whether `address` (textual IPv4 or IPv6; an IPv4-mapped IPv6 address counts as IPv4) is in
    /// this network.
    public func contains(_ address: String) -> Bool {
        guard var candidate = Self.octets(of: address) else { return false }
        if candidate.count == 16, octets.count == 4, candidate[0..<10].allSatisfy({ $0 == 0 }),
            candidate[10] == 0xFF, candidate[11] == 0xFF
        {
            candidate = Array(candidate[12...])
        }
        guard candidate.count == octets.count else { return false }
        return Self.mask(candidate, prefixLength) == octets
    }

    public var description: String {
        let address: String
        if octets.count == 4 {
            address = octets.map(String.init).joined(separator: ".")
        } else {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: octets) }
            inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
            address = String(cString: buffer)
        }
        return "\(address)/\(prefixLength)"
    }

    static func octets(of address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func mask(_ octets: [UInt8], _ length: Int) -> [UInt8] {
        octets.enumerated().map { index, octet in
            let bits = max(0, min(8, length - index * 8))
            return bits == 8 ? octet : octet & ~(0xFF >> UInt8(bits))
        }
    }
}
