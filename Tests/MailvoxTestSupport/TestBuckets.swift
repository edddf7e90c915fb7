import AsyncHTTPClient
import Foundation
import MailvoxObjects
import NIOCore

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

    /// CreateBucket: `PUT /bucket`, signed like any request (the store itself never creates one).
    public static func create(_ settings: S3Settings) async throws {
        let signer = SigV4Signer(
            accessKey: settings.accessKey, secretKey: settings.secretKey, region: settings.region, service: "s3")
        let host = settings.endpoint.replacingOccurrences(of: "http://", with: "")
        let date = SigV4Signer.amzDate(Date())
        let signable = SignableRequest(
            method: "PUT", path: "/" + settings.bucket,
            headers: [
                ("host", host), ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", date),
            ], payloadHash: SigV4Signer.emptyPayloadHash, amzDate: date)
        var request = HTTPClientRequest(url: settings.endpoint + "/" + settings.bucket)
        request.method = .PUT
        request.headers.add(name: "Host", value: host)
        request.headers.add(name: "x-amz-date", value: date)
        request.headers.add(name: "x-amz-content-sha256", value: SigV4Signer.emptyPayloadHash)
        request.headers.add(name: "Authorization", value: signer.authorization(signable))
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
