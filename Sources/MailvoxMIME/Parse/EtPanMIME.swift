import CEtPan
import Foundation
import MailvoxCore

/// A libetpan MIME tree and the buffer it points into, owned together and freed together.
///
/// `mailmime_parse` results point into the input (docs/PLATFORM.md), so the copy lives exactly as long
/// as the tree. Nothing of this class leaves the module.
final class EtPanMIME {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    let root: UnsafeMutablePointer<mailmime>

    /// Parses `bytes`, which the caller has already held to Mailvox's limits.
    init(_ bytes: UnsafeBufferPointer<UInt8>) throws(MessageParseError) {
        // One spare NUL: libetpan is handed a length, but some of its scanners peek one past.
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count + 1)
        _ = buffer.initialize(from: bytes)
        buffer[bytes.count] = 0
        var index = 0
        var result: UnsafeMutablePointer<mailmime>?
        let status = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count + 1) {
            mailmime_parse($0, bytes.count, &index, &result)
        }
        guard status == Int32(MAILIMF_NO_ERROR), let result else {
            buffer.deallocate()
            throw .malformed("libetpan could not parse the MIME structure (error \(status))")
        }
        self.buffer = buffer
        self.root = result
    }

    deinit {
        mailmime_free(root)
        buffer.deallocate()
    }

    /// The offset of a pointer into the buffer.
    func offset(_ pointer: UnsafePointer<CChar>) -> Int {
        UnsafeRawPointer(buffer.baseAddress!).distance(to: UnsafeRawPointer(pointer))
    }

    /// The body of an entity as offsets, or nil when libetpan kept none.
    func bodyRange(_ mime: UnsafeMutablePointer<mailmime>) -> Range<Int>? {
        guard let body = mime.pointee.mm_body, body.pointee.dt_type == Int32(MAILMIME_DATA_TEXT),
            let data = body.pointee.dt_data.dt_text.dt_data
        else { return nil }
        let start = offset(data)
        return start..<(start + body.pointee.dt_data.dt_text.dt_length)
    }
}

/// The elements of a libetpan `clist`, typed.
struct EtPanList<Element>: Sequence {
    let list: UnsafeMutablePointer<clist>?

    init(_ list: UnsafeMutablePointer<clist>?) {
        self.list = list
    }

    func makeIterator() -> AnyIterator<UnsafeMutablePointer<Element>> {
        var cell = list.flatMap { cetpan_clist_begin($0) }
        return AnyIterator {
            while let current = cell {
                cell = cetpan_clist_next(current)
                if let content = cetpan_clist_content(current) { return content.assumingMemoryBound(to: Element.self) }
            }
            return nil
        }
    }
}
