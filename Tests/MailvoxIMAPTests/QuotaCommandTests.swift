import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// QUOTA (RFC 9208) over the session: one root, "", for the whole mailbox.
@Suite struct QuotaCommandTests {
    @Test func withoutLimitsThereIsNoRoot() async throws {
        var (harness, _) = try await Fixture.selected()
        #expect(
            try await harness.send("c GETQUOTAROOT INBOX").lines == [
                "* QUOTAROOT INBOX", "c OK GETQUOTAROOT completed",
            ])
        #expect(try await harness.send("d GETQUOTA \"\"").lines.first?.hasPrefix("d NO [NONEXISTENT]") == true)
    }

    @Test func theRootReportsStorageAndMessages() async throws {
        var (harness, store) = try await Fixture.selected()
        let size = try await store.quota().usage.bytes
        await store.setQuotaLimits(QuotaLimits(bytes: 1_048_576, messages: 10))
        let kib = (size + 1023) / 1024
        #expect(
            try await harness.send("c GETQUOTAROOT Saved").lines == [
                "* QUOTAROOT Saved \"\"", "* QUOTA \"\" (STORAGE \(kib) 1024 MESSAGE 3 10)",
                "c OK GETQUOTAROOT completed",
            ])
        #expect(
            try await harness.send("d GETQUOTA \"\"").lines == [
                "* QUOTA \"\" (STORAGE \(kib) 1024 MESSAGE 3 10)", "d OK GETQUOTA completed",
            ])
        #expect(try await harness.send("e GETQUOTA other").lines.first?.hasPrefix("e NO [NONEXISTENT]") == true)
        #expect(try await harness.send("f GETQUOTAROOT Nope").lines.first?.hasPrefix("f NO [NONEXISTENT]") == true)
        #expect(
            try await harness.send("g SETQUOTA \"\" (STORAGE 1)").lines.first?.hasPrefix("g NO [NOPERM]") == true)
        #expect(try await harness.send("h SETQUOTA \"\" (STORAGE x)").lines.first?.hasPrefix("h BAD") == true)
        let capabilities = try await harness.send("i CAPABILITY").lines.first ?? ""
        #expect(capabilities.contains(" QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE"), "\(capabilities)")
    }

    @Test func statusCountsDeletedMessagesAndTheirOctets() async throws {
        var (harness, store) = try await Fixture.selected()
        try await harness.send("c STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        let sizes = try await store.summaries(in: "INBOX", uids: [1, 3]).map(\.size)
        #expect(
            try await harness.send("d STATUS INBOX (DELETED DELETED-STORAGE)").lines.first
                == "* STATUS INBOX (DELETED 2 DELETED-STORAGE \(sizes.reduce(0, +)))")
    }
}
