import AsyncHTTPClient
import Foundation
import MailvoxCore
import NIOCore
import NIOHTTP1

/// A `BlobStore` in an S3-compatible bucket, spoken to over AsyncHTTPClient with SigV4-signed
/// PUT, GET, HEAD, DELETE and ListObjectsV2. It only ever sends what it is given — sealed MVX1
/// ciphertext — and the key.
///
/// - A `put` counts as done only on a 200 answer; its `x-amz-content-sha256` is the payload's
///   real SHA-256, so the store refuses bytes changed on the way.
/// - Every request here is idempotent (a PUT replaces the whole object), so temporary failures
///   (connection refused, timeouts, 5xx, 503 SlowDown, 429) are tried again up to
///   `S3Settings.maxAttempts` times with doubling, jittered back-off; refusals are not.
/// - Errors never carry the secret key or a signature (see `BlobStoreError`).
/// - Its core is synchronous (`…Now`), for the blocking threads the store runs on; the async
///   `BlobStore` calls run it on `Offload`'s pool.
public struct S3BlobStore: SynchronousBlobStore {
    public let settings: S3Settings
    private let endpoint: S3Settings.Endpoint
    private let signer: SigV4Signer
    private let client: HTTPClient

    /// The largest blob `get` reads (a sealed message is at most a few tens of MiB).
    public static let maxBlobBytes = 512 * 1024 * 1024
    static let maxListingBytes = 16 * 1024 * 1024
    static let maxErrorBytes = 64 * 1024

    /// The process's client for object storage. AsyncHTTPClient's own retry of a failed
    /// connection is off: with it, a refused connection was tried again until the connect
    /// timeout and beyond the request's deadline (seen: 8 s per attempt, and 300 s under the
    /// whole test suite's load), so a dead endpoint held a deposit for minutes instead of
    /// refusing it at once. The store retries temporary failures itself (`maxAttempts`). A
    /// static, like `HTTPClient.shared`: it lives as long as the process and is never shut down.
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Uses `client` (`S3BlobStore.client` unless a test or server brings its own); the
    /// caller keeps ownership of a client it passes.
    public init(settings: S3Settings, client: HTTPClient = S3BlobStore.client) throws(S3SettingsError) {
        self.settings = settings
        self.endpoint = try settings.checkedEndpoint()
        self.signer = SigV4Signer(
            accessKey: settings.accessKey, secretKey: settings.secretKey, region: settings.region, service: "s3")
        self.client = client
    }

    // MARK: - SynchronousBlobStore (a blocking thread's callers: the store, intake, workers)
    //
    // The requests run on NIO's event loops while the calling thread waits for their futures,
    // never on Swift's cooperative pool: the message store calls these from `Offload`'s pool,
    // and a wait there for a task of the cooperative pool could starve when that pool is busy.

    public func putNow(key: BlobKey, bytes: [UInt8]) throws(BlobStoreError) {
        let answer = try send("PUT", key: key, body: bytes, what: "PUT \(key)")
        // Only 200 means stored (S3 answers nothing else for a successful PutObject).
        guard answer.status == 200 else {
            throw failure(answer, what: "PUT \(key)")
        }
    }

    public func getNow(key: BlobKey) throws(BlobStoreError) -> [UInt8]? {
        let answer = try send("GET", key: key, what: "GET \(key)", bodyLimit: Self.maxBlobBytes)
        switch answer.status {
        case 200: return answer.body
        case 404 where answer.errorCode != "NoSuchBucket": return nil
        default: throw failure(answer, what: "GET \(key)")
        }
    }

    public func deleteNow(key: BlobKey) throws(BlobStoreError) {
        let answer = try send("DELETE", key: key, what: "DELETE \(key)")
        switch answer.status {
        case 200, 204: return
        case 404 where answer.errorCode != "NoSuchBucket": return
        default: throw failure(answer, what: "DELETE \(key)")
        }
    }

    public func existsNow(key: BlobKey) throws(BlobStoreError) -> Bool {
        // HEAD answers carry no body, so a 404 cannot tell a missing key from a missing bucket.
        let answer = try send("HEAD", key: key, what: "HEAD \(key)")
        switch answer.status {
        case 200: return true
        case 404: return false
        default: throw failure(answer, what: "HEAD \(key)")
        }
    }

    /// ListObjectsV2, following continuation tokens until `limit` keys are found or the
    /// listing ends (S3 may answer fewer keys than asked with more to come). The cursor is S3's
    /// own continuation token, so paging follows the server's order whatever it is (SeaweedFS
    /// does not list in byte order across folders, and `start-after` would then skip keys).
    public func listNow(prefix: BlobPrefix, after cursor: BlobCursor?, limit: Int) throws(BlobStoreError) -> BlobPage {
        guard limit > 0 else { throw .invalidKey("list limit must be at least 1") }
        var keys: [BlobKey] = []
        var token = cursor?.value
        let what = "list '\(prefix)' in bucket \(settings.bucket)"
        while true {
            let wanted = min(limit - keys.count, 1000)
            var query: [(name: String, value: String)] = [
                ("list-type", "2"), ("prefix", prefix.value), ("max-keys", String(wanted)),
            ]
            if let token { query.append(("continuation-token", token)) }
            let answer = try send("GET", key: nil, query: query, what: what, bodyLimit: Self.maxListingBytes)
            guard answer.status == 200 else { throw failure(answer, what: what) }
            let page: S3XML.ListPage
            do {
                page = try S3XML.listPage(answer.body)
            } catch {
                throw .malformedResponse("\(what): \(error.description)")
            }
            guard page.keys.count <= wanted else {
                throw .malformedResponse("\(what): \(page.keys.count) keys where \(wanted) were asked")
            }
            for name in page.keys {
                // A key another program put that breaks the rules is skipped: it cannot be
                // addressed through this seam anyway.
                guard let key = try? BlobKey(name) else { continue }
                guard prefix.matches(key) else {
                    throw .malformedResponse("\(what): key '\(key)' is outside the prefix")
                }
                keys.append(key)
            }
            guard page.isTruncated, let next = page.nextContinuationToken else {
                return BlobPage(keys: keys, next: nil)
            }
            if keys.count >= limit { return BlobPage(keys: keys, next: BlobCursor(next)) }
            token = next
        }
    }

    // MARK: - Requests

    struct Answer {
        var status: Int
        var body: [UInt8]
        /// S3's error `Code` when the body is an `<Error>`.
        var errorCode: String? { S3XML.errorCode(body)?.code }
        var errorMessage: String? { S3XML.errorCode(body)?.message }
    }

    /// Sends one signed request, retrying temporary failures. Returns any HTTP answer; throws
    /// `.unavailable` when none came (or only temporary ones, every try).
    private func send(
        _ method: String, key: BlobKey?, query: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        what: String, bodyLimit: Int = maxErrorBytes
    ) throws(BlobStoreError) -> Answer {
        var attempt = 1
        while true {
            do {
                let answer = try sendOnce(method, key: key, query: query, body: body, bodyLimit: bodyLimit)
                if Self.isTemporary(answer.status) && attempt < settings.maxAttempts {
                    backOff(attempt)
                    attempt += 1
                    continue
                }
                return answer
            } catch let error as BlobStoreError {
                throw error
            } catch {
                guard attempt < settings.maxAttempts else {
                    throw .unavailable(
                        "\(what): no answer from \(settings.endpoint) after \(attempt) tries: \(Self.describe(error))")
                }
                backOff(attempt)
                attempt += 1
            }
        }
    }

    private func sendOnce(
        _ method: String, key: BlobKey?, query: [(name: String, value: String)], body: [UInt8]?, bodyLimit: Int
    ) throws -> Answer {
        let payload = body ?? []
        let payloadHash = body == nil ? SigV4Signer.emptyPayloadHash : SigV4Signer.hexSHA256(payload)
        let amzDate = SigV4Signer.amzDate(Date())
        var host = endpoint.host.contains(":") && !endpoint.host.hasPrefix("[") ? "[\(endpoint.host)]" : endpoint.host
        if !settings.pathStyle { host = settings.bucket + "." + host }
        if let port = endpoint.port { host += ":\(port)" }
        let keyPath = key.map { "/" + $0.value } ?? "/"
        let path = settings.pathStyle ? "/" + settings.bucket + (key == nil ? "" : keyPath) : keyPath
        let signable = SignableRequest(
            method: method, path: path, query: query,
            headers: [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)],
            payloadHash: payloadHash, amzDate: amzDate)
        let canonicalQuery = SigV4Signer.canonicalQuery(query)
        var url = "\(endpoint.scheme)://\(host)\(SigV4Signer.canonicalURI(path))"
        if !canonicalQuery.isEmpty { url += "?" + canonicalQuery }

        let verb: HTTPMethod =
            switch method {
            case "PUT": .PUT
            case "HEAD": .HEAD
            case "DELETE": .DELETE
            default: .GET
            }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "x-amz-date", value: amzDate)
        headers.add(name: "x-amz-content-sha256", value: payloadHash)
        headers.add(name: "Authorization", value: signer.authorization(signable))
        headers.add(name: "User-Agent", value: "Mailvox")
        if let body { headers.add(name: "Content-Length", value: String(body.count)) }
        let request = try HTTPClient.Request(
            url: url, method: verb, headers: headers, body: body.map { .bytes($0) })
        // Error answers are read only so far as their Code and Message need; a success as far as
        // the operation allows.
        let accumulator = ResponseAccumulator(request: request, maxBodySize: max(bodyLimit, Self.maxErrorBytes))
        let response: HTTPClient.Response
        do {
            response = try client.execute(
                request: request, delegate: accumulator, deadline: .now() + Self.timeAmount(settings.timeout)
            ).wait()
        } catch is ResponseAccumulator.ResponseTooBigError {
            throw BlobStoreError.malformedResponse("\(method) answer is larger than \(bodyLimit) bytes")
        }
        let status = Int(response.status.code)
        return Answer(status: status, body: response.body.map { Array(buffer: $0) } ?? [])
    }

    /// Waits before the next try, on the calling (blocking) thread: 100 ms, 200 ms, 400 ms …
    /// (capped at 5 s), each ± 25 % so that many clients spread out.
    private func backOff(_ attempt: Int) {
        let base = min(0.1 * Double(1 << min(attempt - 1, 6)), 5.0)
        Thread.sleep(forTimeInterval: base * Double.random(in: 0.75...1.25))
    }

    static func isTemporary(_ status: Int) -> Bool {
        status >= 500 || status == 429 || status == 408
    }

    /// What an HTTP answer that is not the success expected means, in words an administrator
    /// can act on.
    private func failure(_ answer: Answer, what: String) -> BlobStoreError {
        let status = answer.status
        let code = answer.errorCode.map(Self.printable) ?? ""
        let message = answer.errorMessage.map(Self.printable) ?? ""
        let detail = code.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(code)\(message.isEmpty ? "" : ": \(message)")"
        let bucket = settings.bucket
        if Self.isTemporary(status) {
            return .unavailable("\(what): S3 at \(settings.endpoint) answered \(detail)")
        }
        switch (status, code) {
        case (403, "SignatureDoesNotMatch"):
            return .refused(
                "\(what): S3 at \(settings.endpoint) refused the signature (\(detail)); "
                    + "the secret key does not belong to access key \(settings.accessKey): check secret_key_file")
        case (403, "InvalidAccessKeyId"):
            return .refused(
                "\(what): S3 at \(settings.endpoint) does not know access key \(settings.accessKey): "
                    + "check access_key_file")
        case (403, "RequestTimeTooSkewed"):
            return .refused("\(what): S3 says this machine's clock is wrong (\(detail)): fix the time (NTP)")
        case (403, _):
            return .refused(
                "\(what): S3 at \(settings.endpoint) denied access (\(detail)); check the credentials and the "
                    + "permissions of access key \(settings.accessKey) on bucket \(bucket)")
        case (404, "NoSuchBucket"):
            return .refused(
                "\(what): bucket \(bucket) does not exist at \(settings.endpoint): create it or fix [blobs] bucket")
        case (301, _), (307, _), (400, "AuthorizationHeaderMalformed"), (400, "IllegalLocationConstraintException"):
            return .refused("\(what): S3 sent \(detail): check [blobs] region and path_style for bucket \(bucket)")
        case (200..<300, _):
            return .malformedResponse("\(what): S3 answered HTTP \(status), not 200")
        default:
            return .refused("\(what): S3 at \(settings.endpoint) answered \(detail)")
        }
    }

    /// S3's own texts for a log line: printable ASCII, at most 200 characters.
    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(200).map(Character.init))
    }

    private static func describe(_ error: any Error) -> String {
        printable(String(describing: error))
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
