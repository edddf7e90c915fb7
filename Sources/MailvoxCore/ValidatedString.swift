/// A string that is only ever made through a checking initialiser (`MailboxID`, `EmailAddress`,
/// `PhoneNumber`): it encodes as the plain string and decodes through the same check, so a
/// stored or received value that breaks the rules is refused when read, never carried on.
public protocol ValidatedString: Hashable, Sendable, CustomStringConvertible, Codable {
    var rawValue: String { get }
    init?(_ text: String)
    /// Named in the decoding error: "bad mailbox id".
    static var kindName: String { get }
}

extension ValidatedString {
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "bad \(Self.kindName)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
