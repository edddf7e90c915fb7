import MailvoxSMTPCore

/// libFuzzer entry for what an SMTP or LMTP client sends: the bytes go through `SMTPInput` in
/// the mode the input picks (commands, DATA, a BDAT chunk), acted on as a session would
/// (each command line through `SMTPCommand.parse`, DATA and BDAT switching the mode), once in
/// one read and once in reads of sizes the input picks. The two must agree; the message kept
/// never passes `maxMessageBytes`; in command mode no more than a line is buffered. The whole
/// input is also parsed as an address. Refusals are expected; crashes are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    guard bytes.count >= 3 else { return 0 }
    let body = bytes[3...]
    if let text = String(validating: body, as: UTF8.self), let address = SMTPAddress.parse(Substring(text)) {
        check(address)
    }
    // Byte 0: the mode at the start; byte 1: the read sizes; byte 2: the message limit.
    let mode: SMTPInput.Mode =
        switch bytes[0] % 3 {
        case 0: .command
        case 1: .data
        default: .chunk(remaining: Int(bytes[0]) + 1)
        }
    let limit = Int(bytes[2]) * 8
    let whole = drive([body], mode: mode, limit: limit)
    var pieces: [ArraySlice<UInt8>] = []
    var index = body.startIndex
    var seed = UInt32(bytes[1]) &* 2_654_435_761 | 1
    while index < body.endIndex {
        seed ^= seed << 13
        seed ^= seed >> 17
        seed ^= seed << 5
        let size = Int(seed % (UInt32(bytes[1]) + 1)) + 1
        let end = min(index + size, body.endIndex)
        pieces.append(body[index..<end])
        index = end
    }
    let split = drive(pieces, mode: mode, limit: limit)
    precondition(whole == split, "reads of other sizes changed what was seen: \(whole) vs \(split)")
    return 0
}

/// What a session saw: the events, and each complete message that was within the limit.
struct Trace: Equatable {
    var events: [SMTPInput.Event] = []
    var messages: [[UInt8]] = []
}

let maxLineLength = 64

func drive(_ reads: [ArraySlice<UInt8>], mode: SMTPInput.Mode, limit: Int) -> Trace {
    var input = SMTPInput(maxLineLength: maxLineLength, maxMessageBytes: limit)
    if mode == .data { input.beginData() } else { input.mode = mode }
    var trace = Trace()
    var lastChunk = false
    for read in reads {
        input.append(read)
        while let event = input.next() {
            trace.events.append(event)
            precondition(input.message.count <= limit, "kept \(input.message.count) octets over \(limit)")
            precondition(input.message.count <= input.messageBytesSeen)
            switch event {
            case .line(let line):
                precondition(line.count <= maxLineLength && !line.contains(0x0A))
                guard case .success(let command) = SMTPCommand.parse(line) else { continue }
                check(command)
                switch command {
                case .data:
                    input.resetMessage()
                    input.beginData()
                case .bdat(let size, let last):
                    lastChunk = last
                    if size > 0 { input.mode = .chunk(remaining: size) }
                case .mail, .rset:
                    input.resetMessage()
                default:
                    break
                }
            case .bareLineFeed, .lineTooLong:
                break
            case .dataEnd(let overLimit), .chunkEnd(let overLimit):
                precondition(input.mode == .command)
                precondition(overLimit == input.isOverLimit)
                precondition(overLimit || input.message.count == input.messageBytesSeen)
                if case .chunkEnd = event, !lastChunk { continue }
                if !overLimit { trace.messages.append(input.message) }
                input.resetMessage()
            }
        }
        if input.mode == .command {
            // A client cannot make the server hold more than one line of commands.
            precondition(input.bufferedByteCount <= maxLineLength + 1, "\(input.bufferedByteCount) octets buffered")
        }
    }
    return trace
}

func check(_ command: SMTPCommand) {
    switch command {
    case .hello(_, let domain): precondition(!domain.isEmpty)
    case .mail(let from, _): from.map(check)
    case .rcpt(let to, _): check(to)
    case .bdat(let size, _): precondition((0...SMTPCommand.maxChunkSize).contains(size))
    case .auth(let mechanism, _): precondition(!mechanism.isEmpty && !mechanism.contains(" "))
    default: break
    }
}

/// A parsed mailbox stays within RFC 5321's sizes, and a plain one reads back as itself.
func check(_ address: SMTPAddress) {
    precondition(address.localPart.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F })
    precondition(!address.domain.contains("@") && !address.domain.contains(" "))
    // A dot-atom local part needs no quotes (RFC 5321 §4.1.2), so `description` is a mailbox.
    let local = address.localPart
    let atext = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~."
    let dotAtom =
        !local.isEmpty && local.unicodeScalars.allSatisfy { atext.unicodeScalars.contains($0) }
        && !local.hasPrefix(".") && !local.hasSuffix(".") && !local.contains("..")
    if dotAtom && address.domain.allSatisfy(\.isASCII) {
        let again = SMTPAddress.parse(Substring(address.description))
        precondition(again == address, "\(address) reads back as \(String(describing: again))")
    }
}
