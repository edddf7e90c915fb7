/// The BODYSTRUCTURE of RFC 3501 §7.4.2, extension data included: what IMAP tells a client
/// about a message's MIME tree before it fetches any part.
public indirect enum BodyStructure: Sendable, Hashable, Codable {
    /// A leaf: text, audio, image, application… or an encapsulated `message/rfc822`.
    case single(SinglePart)
    /// A `multipart/*` entity with its children in order.
    case multipart(Multipart)

    /// `type/subtype` of this entity, lower-cased, e.g. `multipart/mixed`.
    public var mediaType: String {
        switch self {
        case .single(let part): "\(part.type)/\(part.subtype)"
        case .multipart(let multipart): "multipart/\(multipart.subtype)"
        }
    }

    /// A `name=value` parameter of Content-Type or Content-Disposition, names as written.
    public struct Parameter: Sendable, Hashable, Codable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Content-Disposition: `inline` or `attachment` (or an extension token) with its parameters.
    public struct Disposition: Sendable, Hashable, Codable {
        public var type: String
        public var parameters: [Parameter]

        public init(type: String, parameters: [Parameter] = []) {
            self.type = type
            self.parameters = parameters
        }
    }

    /// The extension data every BODYSTRUCTURE part may carry after its basic fields.
    public struct Extension: Sendable, Hashable, Codable {
        /// Content-MD5 (single parts only).
        public var md5: String?
        public var disposition: Disposition?
        /// Content-Language tags; empty is NIL.
        public var language: [String]
        /// Content-Location.
        public var location: String?

        public init(
            md5: String? = nil, disposition: Disposition? = nil, language: [String] = [], location: String? = nil
        ) {
            self.md5 = md5
            self.disposition = disposition
            self.language = language
            self.location = location
        }
    }

    /// A non-multipart body part.
    public struct SinglePart: Sendable, Hashable, Codable {
        /// Lower-cased media type, e.g. `audio`; `text` when the part declares none (RFC 2045 §5.2).
        public var type: String
        /// Lower-cased subtype, e.g. `mpeg`.
        public var subtype: String
        public var parameters: [Parameter]
        public var id: String?
        public var description: String?
        /// Content-Transfer-Encoding, lower-cased as Dovecot sends it (`7bit` by default).
        public var encoding: String
        /// Octets of the body as transmitted (still encoded).
        public var size: Int
        /// Lines of the body, for `text/*` and `message/rfc822` parts; nil for others.
        public var lines: Int?
        /// For `message/rfc822`: the encapsulated message's envelope and structure.
        public var message: EncapsulatedMessage?
        public var extensionData: Extension

        public init(
            type: String, subtype: String, parameters: [Parameter] = [], id: String? = nil,
            description: String? = nil, encoding: String = "7bit", size: Int, lines: Int? = nil,
            message: EncapsulatedMessage? = nil, extensionData: Extension = Extension()
        ) {
            self.type = type
            self.subtype = subtype
            self.parameters = parameters
            self.id = id
            self.description = description
            self.encoding = encoding
            self.size = size
            self.lines = lines
            self.message = message
            self.extensionData = extensionData
        }
    }

    /// What a `message/rfc822` part adds to its basic fields.
    public struct EncapsulatedMessage: Sendable, Hashable, Codable {
        public var envelope: Envelope
        public var body: BodyStructure

        public init(envelope: Envelope, body: BodyStructure) {
            self.envelope = envelope
            self.body = body
        }
    }

    /// A `multipart/*` entity.
    public struct Multipart: Sendable, Hashable, Codable {
        public var parts: [BodyStructure]
        /// Lower-cased, e.g. `mixed`, `alternative`.
        public var subtype: String
        /// Content-Type parameters (the boundary among them).
        public var parameters: [Parameter]
        /// Disposition, language, location; `md5` is never set on a multipart.
        public var extensionData: Extension

        public init(
            parts: [BodyStructure], subtype: String, parameters: [Parameter] = [],
            extensionData: Extension = Extension()
        ) {
            self.parts = parts
            self.subtype = subtype
            self.parameters = parameters
            self.extensionData = extensionData
        }
    }
}
