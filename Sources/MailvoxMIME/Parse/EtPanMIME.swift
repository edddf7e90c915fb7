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

/// A libetpan address list, parsed from one header value and freed with it.
final class EtPanAddressList {
    private let list: UnsafeMutablePointer<mailimf_address_list>?

    init(_ value: String) {
        var index = 0
        var result: UnsafeMutablePointer<mailimf_address_list>?
        let bytes = Array(value.utf8CString)
        let status = bytes.withUnsafeBufferPointer {
            mailimf_address_list_parse($0.baseAddress, bytes.count - 1, &index, &result)
        }
        list = status == Int32(MAILIMF_NO_ERROR) ? result : nil
    }

    deinit {
        if let list { mailimf_address_list_free(list) }
    }

    /// ENVELOPE addresses (RFC 3501 §7.4.2), groups as start and end markers; nil when
    /// libetpan could not read the value.
    var addresses: [Envelope.Address]? {
        guard let list else { return nil }
        var result: [Envelope.Address] = []
        for item in EtPanList<mailimf_address>(list.pointee.ad_list) {
            if item.pointee.ad_type == Int32(MAILIMF_ADDRESS_MAILBOX), let mailbox = item.pointee.ad_data.ad_mailbox {
                result.append(Self.address(mailbox))
            } else if item.pointee.ad_type == Int32(MAILIMF_ADDRESS_GROUP), let group = item.pointee.ad_data.ad_group {
                result.append(.groupStart(group.pointee.grp_display_name.map { String(cString: $0) } ?? ""))
                if let members = group.pointee.grp_mb_list {
                    for mailbox in EtPanList<mailimf_mailbox>(members.pointee.mb_list) {
                        result.append(Self.address(mailbox))
                    }
                }
                result.append(.groupEnd)
            }
        }
        return result
    }

    private static func address(_ mailbox: UnsafeMutablePointer<mailimf_mailbox>) -> Envelope.Address {
        let name = mailbox.pointee.mb_display_name.map { String(cString: $0) }
        let spec = mailbox.pointee.mb_addr_spec.map { String(cString: $0) } ?? ""
        // Dovecot's convention for an address without a domain.
        guard let at = spec.lastIndex(of: "@") else {
            return Envelope.Address(name: name, mailbox: spec, host: "MISSING_DOMAIN")
        }
        return Envelope.Address(
            name: name, mailbox: String(spec[..<at]), host: String(spec[spec.index(after: at)...]))
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
