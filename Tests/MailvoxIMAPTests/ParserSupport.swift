import MailvoxCore
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// Feeds `input` in chunks of `chunk` octets (nil: all at once), draining events after each.
/// `loggedIn` picks the literal limits: grammar tests parse as a logged-in client would.
func events(
    _ input: [UInt8], chunk: Int? = nil, limits: ParserLimits = ParserLimits(), loggedIn: Bool = true
) -> [ParserEvent] {
    var parser = CommandParser(limits: limits)
    parser.loggedIn = loggedIn
    var result: [ParserEvent] = []
    var index = 0
    let size = chunk ?? max(input.count, 1)
    repeat {
        let end = min(index + size, input.count)
        parser.append(input[index..<end])
        index = end
        while let event = parser.next() { result.append(event) }
    } while index < input.count
    return result
}

func events(
    _ text: String, chunk: Int? = nil, limits: ParserLimits = ParserLimits(), loggedIn: Bool = true
) -> [ParserEvent] {
    events(Array(text.utf8), chunk: chunk, limits: limits, loggedIn: loggedIn)
}

/// The single command `text` parses to; records an issue otherwise.
func command(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Command? {
    let result = events(text).filter { $0 != .continuationRequest }
    guard result.count == 1, case .command(let tagged) = result[0] else {
        Issue.record("expected one command, got \(result)", sourceLocation: sourceLocation)
        return nil
    }
    return tagged.command
}

func wire(_ response: Response) -> String {
    String(buffer: ResponseEncoder.encode(response))
}

func error(of result: [ParserEvent]) -> ParseError? {
    for case .error(let error) in result { return error }
    return nil
}
