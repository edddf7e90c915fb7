import Foundation

/// What the index keeps of a message, sealed to its owner: the header block (for ENVELOPE
/// and header SEARCH without opening the blob). Caller data lives in those headers, so it is
/// never in the clear.
public struct MessageMetadata: Codable, Sendable, Equatable {
    /// The message's header block, up to the blank line (at most 256 KiB).
    public var headers: String

    static let headerLimit = 262_144

    public init(message: Data) {
        let bytes = message.prefix(Self.headerLimit)
        let end =
            bytes.range(of: Data("\r\n\r\n".utf8)).map { $0.lowerBound + 2 }
            ?? bytes.range(of: Data("\n\n".utf8)).map { $0.lowerBound + 1 } ?? bytes.endIndex
        headers = String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    func encoded() throws -> Data { try JSONEncoder().encode(self) }

    static func decode(_ data: Data) throws -> MessageMetadata {
        try JSONDecoder().decode(MessageMetadata.self, from: data)
    }
}
