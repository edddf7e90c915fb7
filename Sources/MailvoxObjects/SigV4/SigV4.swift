import Crypto
import Foundation

/// AWS Signature Version 4 (header form) as pure value code: canonical request, string to
/// sign, signing key and the `Authorization` header, checked against AWS's published vectors
/// (Tests/MailvoxObjectsTests/SigV4Tests.swift).
public struct SigV4Signer: Sendable {
    public let accessKey: String
    private let secretKey: String
    public let region: String
    public let service: String

    public static let algorithm = "AWS4-HMAC-SHA256"
    /// SHA-256 of no bytes: the `x-amz-content-sha256` of GET, HEAD and DELETE.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(accessKey: String, secretKey: String, region: String, service: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.service = service
    }

    /// The canonical request of SigV4 step 1.
    public func canonicalRequest(_ request: SignableRequest) -> String {
        [
            request.method,
            Self.canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            Self.canonicalHeaders(request.headers),
            Self.signedHeaders(request.headers),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    /// `<date>/<region>/<service>/aws4_request`.
    public func scope(amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// The string to sign of step 2.
    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        [Self.algorithm, amzDate, scope(amzDate: amzDate), Self.hexSHA256(Array(canonicalRequest.utf8))]
            .joined(separator: "\n")
    }

    /// The signing key of step 3: HMAC-SHA256 chained over date, region, service, "aws4_request".
    public func signingKey(amzDate: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secretKey)".utf8))
        for part in [String(amzDate.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// The hex signature of `request`.
    public func signature(_ request: SignableRequest) -> String {
        let toSign = stringToSign(canonicalRequest: canonicalRequest(request), amzDate: request.amzDate)
        let code = HMAC<SHA256>.authenticationCode(
            for: Array(toSign.utf8), using: signingKey(amzDate: request.amzDate))
        return Self.hex(Array(code))
    }

    /// The `Authorization` header value.
    public func authorization(_ request: SignableRequest) -> String {
        "\(Self.algorithm) Credential=\(accessKey)/\(scope(amzDate: request.amzDate)), "
            + "SignedHeaders=\(Self.signedHeaders(request.headers)), Signature=\(signature(request))"
    }

    // MARK: - Canonical parts

    /// S3's rule: every path segment URI-encoded once, `/` kept. The path is given decoded.
    public static func canonicalURI(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, keepSlash: true)
    }

    /// Parameters encoded, then sorted by name and value in byte order; `name=` for no value.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name, keepSlash: false), uriEncode($0.value, keepSlash: false)) }
            .sorted { lhs, rhs in
                lhs.0 == rhs.0
                    ? lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8)
                    : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-case names in order, each `name:value` line ending in a newline; repeated names join
    /// their values with commas in the order given; values trimmed, inner runs of spaces made one.
    public static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> String {
        grouped(headers).map { "\($0.name):\($0.values.joined(separator: ","))\n" }.joined()
    }

    public static func signedHeaders(_ headers: [(name: String, value: String)]) -> String {
        grouped(headers).map(\.name).joined(separator: ";")
    }

    private static func grouped(_ headers: [(name: String, value: String)]) -> [(name: String, values: [String])] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if values[lower] == nil { order.append(lower) }
            values[lower, default: []].append(trimmed(value))
        }
        return order.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { ($0, values[$0]!) }
    }

    private static func trimmed(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for character in value.trimmingCharacters(in: .whitespaces) {
            if character == " " {
                if lastWasSpace { continue }
                lastWasSpace = true
            } else {
                lastWasSpace = false
            }
            out.append(character)
        }
        return out
    }

    /// RFC 3986 unreserved characters stay; every other byte of the UTF-8 is `%XX` upper-case.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }

    // MARK: - Hashing

    public static func hexSHA256(_ bytes: [UInt8]) -> String { hex(Array(SHA256.hash(data: bytes))) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `20150830T123600Z` for `date`, in UTC.
    public static func amzDate(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}

/// What SigV4 signs of a request: method, decoded path, decoded query parameters, the headers
/// to sign (with `host` and `x-amz-date`), the payload's hex SHA-256 and the request time.
public struct SignableRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    public var payloadHash: String
    public var amzDate: String

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)], payloadHash: String, amzDate: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
        self.amzDate = amzDate
    }
}
