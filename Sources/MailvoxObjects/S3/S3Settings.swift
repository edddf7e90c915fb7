import Foundation
import MailvoxCore

/// Where and as whom `S3BlobStore` talks to an S3-compatible object store: the values of
/// `[blobs]` when `backend = "s3"`. The config layer calls the memberwise init (or
/// `reading(…)` for the key files); this type checks what it can without the network.
public struct S3Settings: Sendable, CustomStringConvertible {
    /// `https://host[:port]` (or `http://` for a loopback test endpoint), no path.
    public var endpoint: String
    public var bucket: String
    public var region: String
    public var accessKey: String
    public var secretKey: String
    /// `endpoint/bucket/key` (MinIO, SeaweedFS, most self-hosted stores) rather than
    /// `bucket.endpoint/key` (AWS's virtual-hosted style).
    public var pathStyle: Bool
    /// Per attempt, connection and whole answer.
    public var timeout: Duration
    /// Tries per request (1 = no retry); only temporary failures are retried.
    public var maxAttempts: Int

    public init(
        endpoint: String, bucket: String, region: String, accessKey: String, secretKey: String, pathStyle: Bool,
        timeout: Duration = .seconds(30), maxAttempts: Int = 3
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.pathStyle = pathStyle
        self.timeout = timeout
        self.maxAttempts = maxAttempts
    }

    /// The checked endpoint: scheme, host, port.
    struct Endpoint: Sendable {
        var scheme: String
        var host: String
        var port: Int?
    }

    func checkedEndpoint() throws(S3SettingsError) -> Endpoint {
        guard let components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw S3SettingsError("[blobs] endpoint \(endpoint) is not a URL like https://host[:port]") }
        guard components.path.isEmpty || components.path == "/", components.query == nil,
            components.user == nil, components.password == nil
        else { throw S3SettingsError("[blobs] endpoint \(endpoint) must be scheme, host and port only") }
        switch scheme {
        case "https": break
        case "http":
            // Plain HTTP would show every request's signature and every blob's (sealed) bytes to
            // the network: only for a store on this machine, as tests run it.
            guard Self.isLoopback(host) else {
                throw S3SettingsError("[blobs] endpoint \(endpoint): http is allowed only for loopback; use https")
            }
        default: throw S3SettingsError("[blobs] endpoint \(endpoint): scheme must be https")
        }
        guard Self.isBucketName(bucket) else {
            throw S3SettingsError("[blobs] bucket '\(bucket)' is not a valid bucket name (3–63 of a-z 0-9 . -)")
        }
        guard !region.isEmpty, region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw S3SettingsError("[blobs] region '\(region)' is not a region name such as us-east-1")
        }
        guard !accessKey.isEmpty, !secretKey.isEmpty else {
            throw S3SettingsError("[blobs] access or secret key is empty")
        }
        guard maxAttempts >= 1 else { throw S3SettingsError("[blobs] max attempts must be at least 1") }
        return Endpoint(scheme: scheme, host: host, port: components.port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// S3's rules for new buckets, which also keep the name safe in a host name and a path.
    static func isBucketName(_ name: String) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, let last = name.last else { return false }
        let allowed = name.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "." }
        return allowed && first != "-" && first != "." && last != "-" && last != "." && !name.contains("..")
    }

    /// Everything but the secret key.
    public var description: String {
        "S3Settings(endpoint: \(endpoint), bucket: \(bucket), region: \(region), accessKey: \(accessKey), "
            + "secretKey: <redacted>, pathStyle: \(pathStyle))"
    }
}

/// A `[blobs]` S3 setting that cannot work, named by its key.
public struct S3SettingsError: MailvoxFailure, Equatable {
    public var description: String
    public var kind: FailureKind { .input }
    init(_ description: String) { self.description = description }
}
