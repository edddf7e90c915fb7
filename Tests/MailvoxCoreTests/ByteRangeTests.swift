import MailvoxCore
import Testing

/// RFC 9110 §14's byte ranges, as the web inbox's audio endpoint reads them.
@Suite struct ByteRangeTests {
    @Test func readsTheThreeFormsOfOneRange() {
        #expect(ByteRangeRequest(header: nil, length: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=0-0", length: 100) == .partial(0..<1))
        #expect(ByteRangeRequest(header: "bytes=10-19", length: 100) == .partial(10..<20))
        #expect(ByteRangeRequest(header: "bytes=90-", length: 100) == .partial(90..<100))
        #expect(ByteRangeRequest(header: "bytes=-10", length: 100) == .partial(90..<100))
        #expect(ByteRangeRequest(header: "bytes=-1000", length: 100) == .partial(0..<100), "a suffix longer than all")
        #expect(ByteRangeRequest(header: "bytes=95-200", length: 100) == .partial(95..<100), "clipped at the end")
        #expect(
            ByteRangeRequest(header: " Bytes = 5-6 ".replacingOccurrences(of: " = ", with: "="), length: 100)
                == .partial(5..<7))
    }

    @Test func refusesWhatCannotBeServed() {
        for header in [
            "bytes=100-", "bytes=100-200", "bytes=9-2", "bytes=abc", "bytes=-0", "bytes=", "bytes=-", "bytes=1-2-3",
            "bytes=+1-2", "bytes=1 -2", "bytes=99999999999999999999-",
            "bytes=" + String(repeating: "1", count: 300) + "-",
        ] {
            #expect(ByteRangeRequest(header: header, length: 100) == .unsatisfiable, "\(header)")
        }
        #expect(ByteRangeRequest(header: "bytes=-5", length: 0) == .unsatisfiable)
        #expect(ByteRangeRequest(header: "bytes=0-", length: 0) == .unsatisfiable)
    }

    @Test func ignoresOtherUnitsAndAnswersSeveralRangesWhole() {
        #expect(ByteRangeRequest(header: "items=0-5", length: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=0-1, 5-6", length: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=0-1, x", length: 100) == .unsatisfiable)
    }

    @Test func writesContentRange() {
        #expect(ByteRangeRequest.partial(10..<20).contentRange(length: 100) == "bytes 10-19/100")
        #expect(ByteRangeRequest.unsatisfiable.contentRange(length: 100) == "bytes */100")
        #expect(ByteRangeRequest.whole.contentRange(length: 100) == nil)
    }
}
