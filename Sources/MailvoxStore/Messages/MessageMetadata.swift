import Foundation
import MailvoxCore
import MailvoxMIME

/// What the index keeps of a message, sealed to its owner: the header block (for header
/// SEARCH) and the parsed structure (ENVELOPE, BODYSTRUCTURE, where each part lies), so
/// neither needs the blob opened. Caller data lives in those, so it is never in the clear.
public struct MessageMetadata: Codable, Sendable, Equatable {
    /// The message's header block, up to the blank line (at most 256 KiB).
    public var headers: String
    /// Nil only for a message the parser refused (possible for a file found on the spool).
    public var structure: ParsedMessage?

    static let headerLimit = 262_144

    public init(message: Data, structure: ParsedMessage?) {
        let bytes = message.prefix(Self.headerLimit)
        let end =
            bytes.range(of: Data("\r\n\r\n".utf8)).map { $0.lowerBound + 4 }
            ?? bytes.range(of: Data("\n\n".utf8)).map { $0.lowerBound + 2 } ?? bytes.endIndex
        headers = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
        self.structure = structure
    }

    /// Parses `message` for its structure; a message the parser refuses keeps its headers only.
    public init(message: Data) {
        self.init(message: message, structure: try? MessageParser.parse([UInt8](message)))
    }

    func encoded() throws -> Data { try JSONEncoder().encode(self) }

    static func decode(_ data: Data) throws -> MessageMetadata {
        try JSONDecoder().decode(MessageMetadata.self, from: data)
    }
}
