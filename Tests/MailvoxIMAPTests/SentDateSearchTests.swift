import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// RFC 3501 §6.4.4: SENTBEFORE, SENTON and SENTSINCE compare the date of the Date: header as
/// written, disregarding its time and timezone (issue #14, item 2).
@Suite struct SentDateSearchTests {
    @Test func theDayIsTheOneTheHeaderNames() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        for date in [
            "Sun, 25 Mar 2007 23:59:59 +1100", "Sun, 25 Mar 2007 00:00:01 -1100", "Sat, 24 Mar 2007 23:00:00 -1200",
            "Mon, 26 Mar 2007 00:30:00 +1400",
        ] {
            try await store.deliver(
                Fixture.message(subject: "Sent \(date)", date: date), internalDate: Date(timeIntervalSince1970: 0))
        }
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX")
        // In UTC the first is the 25th at 12:59 and the second the 25th at 11:00, the third the
        // 25th at 11:00 and the fourth the 25th at 10:30: converted, all four would be SENTON 25.
        #expect(try await harness.send("c SEARCH SENTON 25-Mar-2007").lines.first == "* SEARCH 1 2")
        #expect(try await harness.send("d SEARCH SENTBEFORE 25-Mar-2007").lines.first == "* SEARCH 3")
        #expect(try await harness.send("e SEARCH SENTSINCE 26-Mar-2007").lines.first == "* SEARCH 4")
        #expect(try await harness.send("f SEARCH SENTSINCE 25-Mar-2007").lines.first == "* SEARCH 1 2 4")
    }
}
