import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MailvoxCore
import MailvoxPipeline
import MailvoxStore
import MailvoxTLS
import MailvoxWeb
import MultipartKit
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The HTTP front door (docs/DESIGN.md §3.5): deposits, deposit status, health, readiness, metrics.
///
/// Every deposit goes through `Intake`, the one path all doors share; a 202 is sent only once
/// the deposit is durable. Access logs carry method, path and status — never the query string,
/// whose caller fields are a caller's data.
public struct FrontDoor: Sendable {
    let config: Configuration
    let intake: Intake
    let directory: Directory
    let metrics: @Sendable () -> String
    let logger: Logger
    let limiter: FailureCounter
    /// The web inbox on the same listener; nil when `[web] enabled` is false.
    let web: WebInbox?

    public init(
        config: Configuration, intake: Intake, directory: Directory, metrics: @escaping @Sendable () -> String,
        web: WebInbox? = nil, logger: Logger
    ) {
        self.config = config
        self.web = web
        self.intake = intake
        self.directory = directory
        self.metrics = metrics
        self.logger = logger
        // HTTP answers at once: the lockout, not a delay, is what stops guessing here.
        self.limiter = FailureCounter(
            maxFailures: config.auth.maxFailures, lockoutSeconds: Double(config.auth.lockoutSeconds), baseDelay: .zero)
    }

    /// The Hummingbird application, a swift-service-lifecycle `Service`; nil when `[http] listen` is "".
    public func application() throws -> (any Service)? {
        guard let listen = config.http.listen else { return nil }
        let router = Router(context: FrontDoorContext.self)
        router.add(middleware: AccessLog(logger: logger))
        router.add(middleware: SecurityHeaders(tls: config.http.tls))
        router.get("/healthz") { _, _ in Self.text("ok\n") }
        // Every handler that reads SQLite or the disk does it on the blocking pool: an event
        // loop or the cooperative pool that waits on I/O stalls every other client.
        router.get("/readyz") { _, _ in
            let readiness = await Offload.run { self.readiness() }
            return readiness.ready
                ? Self.text("ready\n") : Self.text("not ready: \(readiness.reason)\n", status: .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            Self.text(await Offload.run { metrics() }, contentType: "text/plain; version=0.0.4")
        }
        router.post("/api/v1/mailboxes/:id/voicemails") { request, context in
            try await handleDeposit(request, context)
        }
        router.get("/api/v1/deposits/:id") { request, context in
            try await handleStatus(request, context)
        }
        web?.addRoutes(to: router)
        // The idle timeout runs from connect (and from each response) until a request's head has
        // arrived: a TLS handshake that never ends, or headers sent a byte at a time, cannot keep
        // a connection open past it.
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(idleTimeout: .seconds(Int64(config.http.headerTimeoutSeconds))))
        let server: HTTPServerBuilder
        if config.http.tls {
            let tls = try ServerTLS.configuration(
                certificateFile: config.tls.certificateFile, privateKeyFile: config.tls.privateKeyFile)
            server = try .tls(http1, tlsConfiguration: tls)
        } else {
            server = http1
        }
        return Application(
            router: router, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(listen.host, port: listen.port), serverName: nil),
            logger: logger)
    }

    // MARK: - Handlers

    func handleDeposit(_ request: Request, _ context: FrontDoorContext) async throws -> Response {
        if let refusal = try await authorize(request, context) { return refusal }
        let mailbox = context.parameters.get("id") ?? ""
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: config.http.maxBodyBytes)
        } catch {
            return Self.error(.payloadTooLarge, "the body exceeds http.max_body_bytes (\(config.http.maxBodyBytes))")
        }
        var fields: [String: String] = [:]
        for key in ["caller_number", "caller_name", "received_at", "urgent"] {
            if let value = request.uri.queryParameters.get(key) { fields[key] = value }
        }
        let contentType = request.headers[.contentType] ?? ""
        var audio = Data(buffer: body)
        var mediaType = contentType
        if MediaTypes.base(contentType) == "multipart/form-data" {
            guard let boundary = MediaTypes.parameter("boundary", in: contentType) else {
                return Self.error(.badRequest, "multipart/form-data needs a boundary")
            }
            let form: MultipartForm
            do {
                form = try MultipartForm.parse(body, boundary: boundary)
            } catch {
                return Self.error(.badRequest, "malformed multipart body")
            }
            guard let part = form.files["audio"] else { return Self.error(.badRequest, "no file field \"audio\"") }
            audio = part.data
            mediaType = part.contentType ?? "application/octet-stream"
            for (key, value) in form.fields where fields[key] == nil { fields[key] = value }
        }
        guard !audio.isEmpty else { return Self.error(.audioEmpty, "the request carries no audio") }
        guard let kind = MediaTypes.audio(mediaType) else {
            return Self.error(
                .unsupportedMediaType,
                "\(MediaTypes.base(mediaType).isEmpty ? "no Content-Type" : MediaTypes.base(mediaType)) is not an accepted audio type"
            )
        }
        var urgent = false
        if let flag = fields["urgent"] {
            switch flag.lowercased() {
            case "true", "1": urgent = true
            case "false", "0": urgent = false
            default: return Self.error(.badRequest, "urgent must be true, false, 1 or 0")
            }
        }
        var receivedAt: Date?
        if let text = fields["received_at"] {
            guard let date = ISO8601.parse(text, defaultTimeZone: config.server.defaultTimezone) else {
                return Self.error(.badRequest, "received_at is not an ISO 8601 date and time")
            }
            receivedAt = date
        }
        let depositRequest = DepositRequest(
            mailbox: mailbox, audio: .bytes(audio, fileExtension: kind.fileExtension), format: kind.format,
            callerNumber: fields["caller_number"], callerName: fields["caller_name"], receivedAt: receivedAt,
            urgent: urgent, idempotencyKey: request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value)
        let intake = self.intake
        do {
            let receipt = try await Offload.bulk { try intake.deposit(depositRequest) }
            return Self.json(
                ["deposit_id": receipt.depositID, "status": "queued"], status: receipt.duplicate ? .ok : .accepted)
        } catch let error as PipelineError where error.code != nil {
            return Self.error(error.code!, error.description)
        } catch {
            return await failure(error, doing: "the deposit could not be stored; nothing was queued")
        }
    }

    func handleStatus(_ request: Request, _ context: FrontDoorContext) async throws -> Response {
        if let refusal = try await authorize(request, context) { return refusal }
        let id = context.parameters.get("id") ?? ""
        let intake = self.intake
        let found: DepositStatus?
        do {
            found = try await Offload.run { try intake.status(of: id) }
        } catch {
            return await failure(error, doing: "the deposit's status could not be read")
        }
        guard let status = found else { return Self.error(.notFound, "no deposit \(id)") }
        var object: [String: Any] = [
            "deposit_id": status.depositID, "mailbox": status.mailbox, "status": status.status,
        ]
        if let uid = status.uid { object["uid"] = Int(uid) }
        if let code = status.errorCode {
            object["error"] = ["code": code, "message": status.errorMessage ?? ""]
        }
        return Self.json(object)
    }

    /// The answer to a failure the client did not cause: always a JSON body with a stable code,
    /// 507 `insufficient_storage` when the disk is full (the client may retry later, elsewhere),
    /// 503 `unavailable` with `Retry-After` when the database server or the bucket does not
    /// answer, else 500 `internal`. The cause goes to the log, not to the client.
    func failure(_ error: any Error, doing what: String) async -> Response {
        if (error as? any MailvoxFailure)?.isTemporary == true {
            logger.error("http: \(what)", metadata: ["error": "\(error)", "temporary": "true"])
            var response = Self.error(.unavailable, "storage does not answer right now; \(what); try again later")
            response.headers[.retryAfter] = "30"
            return response
        }
        let queueDir = config.queueDir
        let full = await Offload.run { DiskSpace.isFull(queueDir) } || DiskSpace.isDiskFullError(error)
        logger.error("http: \(what)", metadata: ["error": "\(error)", "disk_full": "\(full)"])
        if full { return Self.error(.insufficientStorage, "the server's storage is full; \(what)") }
        return Self.json(["error": ["code": "internal", "message": what]], status: .internalServerError)
    }

    /// Ready when the database answers and the disk has room: a full disk takes the node out of
    /// a load balancer's rotation before deposits start failing.
    func readiness() -> (ready: Bool, reason: String) {
        if let reason = intake.unreadiness() { return (false, reason) }
        let free = DiskSpace.freeBytes(config.queueDir)
        if free < max(config.server.minFreeBytes, DiskSpace.fullBelow) {
            return (false, "\(free / 1_048_576) MiB free on the queue's disk")
        }
        return (true, "")
    }

    /// `Authorization: Bearer TOKEN`; failures counted per client address and refused for a
    /// while past `[auth] max_failures`, so tokens cannot be guessed at speed.
    func authorize(_ request: Request, _ context: FrontDoorContext) async throws -> Response? {
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        if limiter.isLocked([address]) {
            return Self.error(.unauthorized, "too many failed attempts from this address; try again later")
        }
        let header = request.headers[.authorization] ?? ""
        let token = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces) : ""
        let directory = self.directory
        if !token.isEmpty {
            let known: Bool
            do {
                known = try await Offload.run { try directory.authenticateToken(token) } != nil
            } catch {
                return await failure(error, doing: "the token could not be checked")
            }
            if known {
                limiter.succeeded([address])
                return nil
            }
        }
        limiter.failed([address])
        return Self.error(.unauthorized, "a valid Authorization: Bearer token is required")
    }

    // MARK: - Responses

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ code: ErrorCode, _ message: String) -> Response {
        json(
            ["error": ["code": code.rawValue, "message": message]], status: HTTPResponse.Status(code: code.httpStatus))
    }

    static func text(
        _ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8"
    )
        -> Response
    {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The request context: Hummingbird's basics plus the client address (for the failure limiter).
public struct FrontDoorContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are bounded by `[http] max_body_bytes` in the handler, not here.
    public var maxUploadSize: Int { Int.max }
}

/// What every answer carries (docs/WEB.md): no script but the site's own and no framing, no
/// type sniffing, no referrer leaving with a URL, and with TLS, HTTPS only from then on.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    let tls: Bool

    static var policy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.policy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}

/// One access-log line per request: method, path without the query, status, milliseconds.
struct AccessLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        logger.info(
            "http",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
                "ms": "\(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000)",
            ])
        return response
    }
}
