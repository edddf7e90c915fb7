import MailvoxSMTPCore
import Testing

/// The framing of RFC 5321 §4.5.2 and RFC 3030, with what hostile clients send.
@Suite struct SMTPInputTests {
    func events(_ text: String, mode: SMTPInput.Mode = .command, limit: Int = 1000) -> ([SMTPInput.Event], SMTPInput) {
        var input = SMTPInput(maxLineLength: 64, maxMessageBytes: limit)
        if mode == .data { input.beginData() } else { input.mode = mode }
        input.append(Array(text.utf8))
        var events: [SMTPInput.Event] = []
        while let event = input.next() { events.append(event) }
        return (events, input)
    }

    @Test func pipelinedCommandsComeOutOneByOne() {
        let (events, input) = events("EHLO a\r\nMAIL FROM:<>\r\nRCPT")
        #expect(events == [.line(Array("EHLO a".utf8)), .line(Array("MAIL FROM:<>".utf8))])
        #expect(input.bufferedByteCount == 4)
    }

    @Test func bareLineFeedInACommandIsReported() {
        let (events, _) = events("NOOP\nNOOP\r\n")
        #expect(events == [.bareLineFeed, .line(Array("NOOP".utf8))])
    }

    @Test func anOverlongLineIsDroppedNotKept() {
        var input = SMTPInput(maxLineLength: 64, maxMessageBytes: 1000)
        // A megabyte line arriving in pieces: memory stays at one piece.
        for _ in 0..<1000 { input.append([UInt8](repeating: 0x41, count: 1024)); #expect(input.next() == nil) }
        #expect(input.bufferedByteCount < 2048)
        input.append(Array("\r\nQUIT\r\n".utf8))
        #expect(input.next() == .lineTooLong)
        #expect(input.next() == .line(Array("QUIT".utf8)))
    }

    @Test func dataIsUnstuffedAndEndsOnlyAtCRLFDotCRLF() {
        let (events, input) = events("Subject: x\r\n\r\n..leading dot\r\n.\nnot the end\r\n.\r\nQUIT\r\n", mode: .data)
        #expect(events == [.dataEnd(overLimit: false), .line(Array("QUIT".utf8))])
        // The bare-LF dot line is text (no smuggled end of data); bare LF becomes CRLF.
        #expect(
            String(decoding: input.message, as: UTF8.self) == "Subject: x\r\n\r\n.leading dot\r\n\r\nnot the end\r\n")
    }

    @Test func dataEndSplitAcrossReads() {
        var input = SMTPInput(maxMessageBytes: 1000)
        input.beginData()
        var events: [SMTPInput.Event] = []
        for piece in ["ab\r", "\n", ".", "\r", "\n"] {
            input.append(Array(piece.utf8))
            while let event = input.next() { events.append(event) }
        }
        #expect(events == [.dataEnd(overLimit: false)])
        #expect(input.message == Array("ab\r\n".utf8))
    }

    @Test func dataPastTheLimitIsCountedNotKept() {
        let body = String(repeating: "x", count: 5000) + "\r\n.\r\n"
        let (events, input) = events(body, mode: .data, limit: 1000)
        #expect(events == [.dataEnd(overLimit: true)])
        #expect(input.message.count <= 1000)
        #expect(input.messageBytesSeen == 5002)
    }

    @Test func chunksTakeExactlyTheirSize() {
        var input = SMTPInput(maxMessageBytes: 1000)
        input.mode = .chunk(remaining: 8)
        input.append(Array("abcQU".utf8))
        #expect(input.next() == nil)
        input.append(Array("IT\r\nRSET\r\n".utf8))
        // BDAT counts octets, not lines: "QUIT\r" inside the chunk is data.
        #expect(input.next() == .chunkEnd(overLimit: false))
        #expect(input.message == Array("abcQUIT\r".utf8))
        #expect(input.next() == .bareLineFeed)
        #expect(input.next() == .line(Array("RSET".utf8)))
    }
}
