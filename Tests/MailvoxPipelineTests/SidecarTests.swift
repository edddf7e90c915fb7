import Foundation
import MailvoxPipeline
import Testing

@Suite struct SidecarReaderTests {
    func request() -> DepositRequest { DepositRequest(mailbox: "", audio: .file(path: "x.wav")) }

    @Test func readsTheJSONSidecar() throws {
        var request = request()
        try SidecarReader.applyJSON(
            Data(
                #"{"mailbox":"1000","caller_number":"+4930123456","caller_name":"Jürgen Groß","received_at":"2026-11-26T09:15:00+01:00","urgent":true}"#
                    .utf8),
            to: &request)
        #expect(request.mailbox == "1000")
        #expect(request.callerNumber == "+4930123456")
        #expect(request.callerName == "Jürgen Groß")
        #expect(request.receivedAt == Date(timeIntervalSince1970: 1_795_680_900))
        #expect(request.urgent)
    }

    @Test func readsAsterisksMessageFile() throws {
        var request = request()
        let text = """
            ;
            ; Message Information file
            ;
            [message]
            origmailbox=1234
            context=default
            callerid="John Doe" <5551234>
            origtime=1700000000
            flag=Urgent
            duration=12
            """
        try SidecarReader.applyAsterisk(text, to: &request)
        #expect(request.mailbox == "1234")
        #expect(request.callerName == "John Doe")
        #expect(request.callerNumber == "5551234")
        #expect(request.receivedAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(request.urgent)
    }

    @Test(
        arguments: [
            ("\"Ada\" <+4930>", "Ada", "+4930"), ("Ada <2001>", "Ada", "2001"), ("<2001>", nil, "2001"),
            ("2001", nil, "2001"),
            ("Unknown", "Unknown", nil),
        ] as [(String, String?, String?)])
    func callerIDForms(_ text: String, _ name: String?, _ number: String?) throws {
        var request = request()
        try SidecarReader.applyAsterisk("callerid=\(text)\n", to: &request)
        #expect(request.callerName == name)
        #expect(request.callerNumber == number)
    }

    @Test(arguments: [
        "", "[]", "not json", #"{"mailbox": 5}"#, #"{"urgent": "yes"}"#, #"{"received_at": "tomorrow"}"#,
        String(repeating: " ", count: 70_000),
    ])
    func hostileJSONIsABadRequest(_ text: String) {
        var request = request()
        #expect(throws: PipelineError.self) { try SidecarReader.applyJSON(Data(text.utf8), to: &request) }
    }

    @Test func hostileAsteriskFilesAreABadRequestOrIgnored() {
        var request = request()
        #expect(throws: PipelineError.self) { try SidecarReader.applyAsterisk("origtime=soon\n", to: &request) }
        #expect(throws: PipelineError.self) {
            try SidecarReader.applyAsterisk(String(repeating: "x", count: 70_000), to: &request)
        }
        #expect(throws: Never.self) { try SidecarReader.applyAsterisk("=\n==\n[x\n;;\nno equals here\n", to: &request) }
    }
}
