import AsyncHTTPClient
import Foundation
import MailvoxObjects
import NIOCore
import NIOHTTP1

/// Buckets on the shared SeaweedFS (`SeaweedS3`), made through the S3 signer: the store itself
/// never creates one.
public enum TestBuckets {
    /// Settings for the shared server with `bucket` (not created).
    public static func settings(bucket: String) throws -> S3Settings {
        let server = try SeaweedS3.shared()
        return S3Settings(
            endpoint: server.endpoint, bucket: bucket, region: "us-east-1", accessKey: server.accessKey,
            secretKey: server.secretKey, pathStyle: true, timeout: .seconds(20), maxAttempts: 2)
    }

    /// A new bucket with a unique name on the shared server.
    public static func fresh() async throws -> S3Settings {
        let settings = try settings(bucket: "mvx-" + UUID().uuidString.lowercased().prefix(18))
        try await create(settings)
        return settings
    }

    /// `fresh()` for a synchronous caller (a test fixture's init). The request runs on NIO's
    /// event loops while this thread waits: a sync test runs on the cooperative pool, and a
    /// task of that pool waited for there could starve.
    public static func freshNow() throws -> S3Settings {
        let settings = try settings(bucket: "mvx-" + UUID().uuidString.lowercased().prefix(18))
        let (url, headers) = signedCreate(settings)
        let request = try HTTPClient.Request(url: url, method: .PUT, headers: HTTPHeaders(headers))
        let response = try HTTPClient.shared.execute(request: request, deadline: .now() + .seconds(20)).wait()
        guard response.status.code == 200 else {
            throw BucketFailure(description: "CreateBucket \(settings.bucket): \(response.status)")
        }
        return settings
    }

    /// The URL and signed headers of CreateBucket for `settings`.
    static func signedCreate(_ settings: S3Settings) -> (String, [(String, String)]) {
        let signer = SigV4Signer(
            accessKey: settings.accessKey, secretKey: settings.secretKey, region: settings.region, service: "s3")
        let host = settings.endpoint.replacingOccurrences(of: "http://", with: "")
        let date = SigV4Signer.amzDate(Date())
        let signable = SignableRequest(
            method: "PUT", path: "/" + settings.bucket,
            headers: [
                ("host", host), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", date),
            ], payloadHash: SigV4Signer.emptyPayloadHash, amzDate: date)
        return (
            settings.endpoint + "/" + settings.bucket,
            [
                ("Host", host), ("x-amz-date", date), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
                ("Authorization", signer.authorization(signable)),
            ]
        )
    }

    /// CreateBucket: `PUT /bucket`, signed like any request (the store itself never creates one).
    public static func create(_ settings: S3Settings) async throws {
        let (url, headers) = signedCreate(settings)
        var request = HTTPClientRequest(url: url)
        request.method = .PUT
        request.headers.add(contentsOf: headers)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard response.status.code == 200 else {
            throw BucketFailure(
                description: "CreateBucket \(settings.bucket): \(response.status) \(String(buffer: body))")
        }
    }

    public struct BucketFailure: Error, CustomStringConvertible {
        public var description: String
    }
}
