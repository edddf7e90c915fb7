import Testing

@testable import MailvoxNotify

/// `[smtp] from` taken apart, and the alert's From display name (docs/DESIGN.md §7).
@Suite struct SenderAddressTests {
    @Test func parsesTheFormsOfSMTPFrom() {
        #expect(
            SenderAddress("Voicemail <voicemail@example.com>")
                == SenderAddress(displayName: "Voicemail", address: "voicemail@example.com"))
        #expect(
            SenderAddress("\"Acme Voicemail\" <vm@acme.test>")
                == SenderAddress(displayName: "Acme Voicemail", address: "vm@acme.test"))
        #expect(SenderAddress("vm@acme.test") == SenderAddress(displayName: "Voicemail", address: "vm@acme.test"))
        #expect(SenderAddress("Voicemail <not an address>") == nil)
        #expect(SenderAddress("") == nil)
    }

    @Test func theCallerGoesIntoTheDisplayName() {
        let sender = SenderAddress(displayName: "Voicemail", address: "vm@example.com")
        #expect(
            sender.displayName(callerName: "Jürgen Groß", callerNumber: "+4930123456")
                == "Jürgen Groß (+4930123456) via Voicemail")
        #expect(sender.displayName(callerName: nil, callerNumber: "201") == "201 via Voicemail")
        #expect(sender.displayName(callerName: " Ada ", callerNumber: nil) == "Ada via Voicemail")
        #expect(sender.displayName(callerName: "", callerNumber: "") == "Unknown caller via Voicemail")
    }
}
