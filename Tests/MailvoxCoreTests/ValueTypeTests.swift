import Foundation
import MailvoxCore
import Testing

@Suite struct MailboxIDTests {
    @Test(arguments: ["1000", "sales.emea", "a", "A_b-c.d", String(repeating: "x", count: 64)])
    func accepts(_ text: String) {
        #expect(MailboxID(text)?.rawValue == text)
    }

    @Test(arguments: [
        "", ".hidden", "-dash", "_under", "a/b", "../etc", "a b", "ümlaut", "a\u{0}b",
        String(repeating: "x", count: 65),
    ])
    func rejects(_ text: String) {
        #expect(MailboxID(text) == nil)
    }
}

@Suite struct AddressTests {
    @Test(arguments: ["grace@example.com", "a.b+tag@sub.example.org", "x@localhost"])
    func acceptsEmail(_ text: String) {
        #expect(EmailAddress(text) != nil)
    }

    @Test(arguments: [
        "nope", "@example.com", "a@", "a@b", "a..b@example.com", ".a@example.com", "a b@example.com",
        "a@-example.com", "a@exa mple.com", "jürgen@example.com", "a@example.com\r\nBcc: x@y.z",
    ])
    func rejectsEmail(_ text: String) {
        #expect(EmailAddress(text) == nil)
    }

    @Test(arguments: ["+4930123456", "+12025550123", "+123456789012345"])
    func acceptsE164(_ text: String) {
        #expect(PhoneNumber(text) != nil)
    }

    @Test(arguments: ["4930123456", "+1234567", "+1234567890123456", "+49 30 123456", "+0123456789", "+49301234a6", ""])
    func rejectsNonE164(_ text: String) {
        #expect(PhoneNumber(text) == nil)
    }
}

@Suite struct HostPortTests {
    @Test func parsesIPv4AndNames() {
        #expect(HostPort(parsing: "127.0.0.1:1143") == HostPort(host: "127.0.0.1", port: 1143))
        #expect(HostPort(parsing: "mail.example.com:587") == HostPort(host: "mail.example.com", port: 587))
    }

    @Test func parsesBracketedIPv6() {
        let address = HostPort(parsing: "[::1]:1993")
        #expect(address == HostPort(host: "::1", port: 1993))
        #expect(address?.description == "[::1]:1993")
        #expect(address?.isLoopback == true)
    }

    @Test(arguments: [
        "1143", "127.0.0.1", "127.0.0.1:", ":1143", "host:0", "host:65536", "host:12a", "::1:1993", "[::1]1993",
        "a b:1",
    ])
    func rejects(_ text: String) {
        #expect(HostPort(parsing: text) == nil)
    }

    @Test func errorCodesMapToTheirHTTPStatus() {
        #expect(ErrorCode.unauthorized.httpStatus == 401)
        #expect(ErrorCode.mailboxNotFound.rawValue == "mailbox_not_found")
        #expect(ErrorCode.audioTooLong.httpStatus == 422)
        #expect(ErrorCode.insufficientStorage.httpStatus == 507)
    }

    /// Validated strings encode as plain JSON strings and decode through their own check, so a
    /// bad value in a stored or received document is refused where it is read.
    @Test func validatedStringsRoundTripAndRefuseBadValuesWhenDecoded() throws {
        struct Record: Codable, Equatable {
            var mailbox: MailboxID
            var email: EmailAddress
            var number: PhoneNumber
        }
        let record = Record(
            mailbox: MailboxID("sales.emea")!, email: EmailAddress("grace@example.com")!,
            number: PhoneNumber("+4930123456")!)
        let json = try JSONEncoder().encode(record)
        #expect(String(decoding: json, as: UTF8.self).contains("\"mailbox\":\"sales.emea\""))
        #expect(try JSONDecoder().decode(Record.self, from: json) == record)
        for bad in [
            #"{"mailbox":"../etc","email":"grace@example.com","number":"+4930123456"}"#,
            #"{"mailbox":"1000","email":"not an address","number":"+4930123456"}"#,
            #"{"mailbox":"1000","email":"grace@example.com","number":"030 123"}"#,
        ] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(Record.self, from: Data(bad.utf8)) }
        }
        #expect(MailboxID("1000")!.description == "1000")
    }
}

@Suite struct HexTests {
    @Test func bytesBecomeTwoLowercaseDigitsEach() {
        #expect([UInt8]().lowercaseHex == "")
        #expect([0x00, 0x0f, 0x10, 0xa5, 0xff].lowercaseHex == "000f10a5ff")
        // Every byte value, against the formatter it replaced.
        let all = (0...255).map { UInt8($0) }
        #expect(all.lowercaseHex == all.map { String(format: "%02x", $0) }.joined())
    }
}
