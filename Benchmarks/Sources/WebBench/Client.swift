import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Seconds on the monotonic clock.
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// One answer as the client saw it: when its first body byte and its end arrived, counted from
/// the moment the request was handed to the connection.
struct Answer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    /// Bytes of the body as sent (nothing here asks for compression).
    var bodyBytes: Int
    /// The status line and header fields as HTTP/1.1 text, before TLS.
    var headBytes: Int
    /// Seconds to the first body byte (to the head when there is no body).
    var firstByte: Double
    /// Seconds to the end of the body.
    var total: Double

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The `name=value` pairs of every Set-Cookie field.
    var cookies: [String: String] {
        var found: [String: String] = [:]
        for field in headers["set-cookie"] {
            let pair = field.prefix { $0 != ";" }
            guard let equals = pair.firstIndex(of: "=") else { continue }
            found[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return found
    }
}

/// An HTTPS client that keeps one HTTP/1.1 connection alive for every request it sends in turn,
/// as a browser tab does; certificates are not checked (the servers here are self-signed).
final class TimedClient: Sendable {
    let base: String
    private let client: HTTPClient

    init(base: String) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.redirectConfiguration = .disallow
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(600))
        self.base = base
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func get(_ path: String, headers: [(String, String)] = [], keepBody: Bool = true) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request, keepBody: keepBody)
    }

    func post(_ path: String, form: [(String, String)], headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: base + path)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = form.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
        return try await send(request, keepBody: true)
    }

    private func send(_ request: HTTPClientRequest, keepBody: Bool) async throws -> Answer {
        let start = now()
        let response = try await client.execute(request, timeout: .seconds(120))
        var first: Double?
        var count = 0
        var body: [UInt8] = []
        for try await chunk in response.body {
            if first == nil { first = now() }
            count += chunk.readableBytes
            if keepBody { body += chunk.readableBytesView }
        }
        let end = now()
        let head =
            "HTTP/1.1 \(response.status.code) \(response.status.reasonPhrase)\r\n".utf8.count
            + response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 } + 2
        return Answer(
            status: Int(response.status.code), headers: response.headers, body: body, bodyBytes: count,
            headBytes: head, firstByte: (first ?? end) - start, total: end - start)
    }

    func shutdown() async throws { try await client.shutdown() }
}
