extension Sequence where Element == UInt8 {
    /// The bytes as lowercase hexadecimal, two digits each: digests, key ids, signatures.
    ///
    /// A table lookup, not `String(format: "%02x")` per byte: that goes through CoreFoundation's
    /// formatter and was a third of a backup's time, hashing thousands of files.
    public var lowercaseHex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
