#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

extension UnsafeBufferPointer where Element == UInt8 {
    /// The index of the first LF in `start..<end`, or `end`: libc's `memchr`, which scans many
    /// octets at a time. The MIME scans look for line ends in bodies of hundreds of kilobytes
    /// (a base64 voicemail), where a Swift loop over each octet was most of their cost.
    @inlinable
    public func lineFeed(from start: Int, before end: Int) -> Int {
        guard start < end, let base = baseAddress else { return end }
        guard let found = memchr(base + start, 0x0A, end - start) else { return end }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// The number of LFs in `range`.
    @inlinable
    public func lineFeedCount(in range: Range<Int>) -> Int {
        var count = 0
        var index = lineFeed(from: range.lowerBound, before: range.upperBound)
        while index < range.upperBound {
            count += 1
            index = lineFeed(from: index + 1, before: range.upperBound)
        }
        return count
    }
}
