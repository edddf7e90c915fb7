import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MailvoxCore
import MailvoxCrypto
import MailvoxStore
import MailvoxTemplates
import NIOCore

/// The web inbox (docs/WEB.md): server-rendered pages that work before any script runs, the
/// JSON API they and other programs use (docs/API.md), audio with HTTP ranges, and a live
/// event stream, all on the HTTP front door's listener.
///
/// Every read and change goes through the `MailStore` the login's sign-in opened, the same
/// one an IMAP session gets: rights, audit entries, recoverable deletion and the change feed
/// are the store's, so IMAP clients and web pages see each other's changes at once.
public struct WebInbox: Sendable {
    let config: Configuration
    let directory: Directory
    let authenticator: DirectoryAuthenticator
    /// For what the web keeps sealed to a mailbox's key: its second factor's secret.
    let messages: MessageStore
    let pages: WebPages
    let sessions: WebSessions
    let logger: Logger

    /// The session cookie. `__Host-` makes browsers refuse it unless it is `Secure`, for the
    /// whole host and set by the host itself.
    static let cookieName = "__Host-mailvox"
    /// Holds the sign-in form's CSRF token until there is a session (a double-submit cookie).
    static let signInCookieName = "__Host-mailvox-signin"
    /// Names a sign-in whose password was right while its second factor's code is asked.
    static let pendingCookieName = "__Host-mailvox-pending"
    /// Form bodies (sign-in, actions) are small; anything larger is refused unread.
    static let maxFormBytes = 65_536

    public init(
        config: Configuration, directory: Directory, authenticator: DirectoryAuthenticator, messages: MessageStore,
        logger: Logger
    ) throws(TemplateError) {
        self.config = config
        self.messages = messages
        self.directory = directory
        self.authenticator = authenticator
        self.logger = logger
        self.pages = try WebPages(searchPath: .standard(for: config))
        let defaultZone = config.server.defaultTimezone
        self.sessions = WebSessions(
            directory: directory, idle: TimeInterval(config.web.idleTimeoutSeconds),
            lifetime: TimeInterval(config.web.maxSessionSeconds),
            restore: { login in
                // A session another node (or an earlier run) made: the same profile and store a
                // sign-in opens, without recording another login.
                let record = try? await Offload.run { try directory.mailbox(login) }
                let store = await authenticator.openStore(
                    for: login, client: ClientAddress("session"), recordingLogin: false)
                return (Self.profile(login, record, defaultTimezone: defaultZone), store)
            })
    }

    /// Adds the pages, the API and the static files to `router`.
    public func addRoutes<Context: RequestContext & RemoteAddressRequestContext>(to router: Router<Context>) {
        router.get("/") { request, context in
            await identify(request, context) == nil ? Self.redirect("/login") : Self.redirect("/inbox")
        }
        router.get("/static/:file") { request, context in
            staticFile(request, name: context.parameters.get("file") ?? "")
        }
        router.get("/login") { request, _ in
            await signInPage(request)
        }
        router.post("/login") { request, context in
            await signIn(request, context)
        }
        router.post("/login/code") { request, context in
            await signInCode(request, context)
        }
        router.get("/settings") { request, context in
            await settingsPage(request, context)
        }
        router.post("/settings") { request, context in
            await settingsAction(request, context)
        }
        router.post("/logout") { request, context in
            await signOut(request, context)
        }
        router.get("/inbox") { request, context in
            await inboxPage(request, context)
        }
        router.get("/voicemail/:deposit") { request, context in
            await voicemailLink(request, context, deposit: context.parameters.get("deposit") ?? "")
        }
        router.post("/inbox/action") { request, context in
            await formAction(request, context)
        }

        router.get("/api/v1/session") { request, context in
            await api(request, context) { identity in
                Self.json(["login": identity.login.rawValue, "csrf_token": identity.session?.csrf ?? NSNull()])
            }
        }
        router.get("/api/v1/mailboxes") { request, context in
            await api(request, context) { identity in try await listMailboxes(identity) }
        }
        router.get("/api/v1/mailboxes/:id/folders") { request, context in
            await api(request, context) { identity in
                try await listFolders(identity, mailbox: context.parameters.get("id") ?? "")
            }
        }
        router.get("/api/v1/mailboxes/:id/voicemails") { request, context in
            await api(request, context) { identity in
                try await listVoicemails(identity, request, mailbox: context.parameters.get("id") ?? "")
            }
        }
        router.get("/api/v1/mailboxes/:id/voicemails/:uid") { request, context in
            await api(request, context) { identity in
                try await showVoicemail(identity, try MessageRef(request, context))
            }
        }
        router.patch("/api/v1/mailboxes/:id/voicemails/:uid") { request, context in
            await api(request, context) { identity in
                try await patchVoicemail(identity, try MessageRef(request, context), request)
            }
        }
        router.delete("/api/v1/mailboxes/:id/voicemails/:uid") { request, context in
            await api(request, context) { identity in
                try await respond(.delete, identity, try MessageRef(request, context))
            }
        }
        router.post("/api/v1/mailboxes/:id/voicemails/:uid/move") { request, context in
            await api(request, context) { identity in
                try await moveVoicemail(identity, try MessageRef(request, context), request)
            }
        }
        router.get("/api/v1/mailboxes/:id/voicemails/:uid/audio") { request, context in
            await api(request, context) { identity in
                try await audio(identity, try MessageRef(request, context), request)
            }
        }
        router.post("/api/v1/mailboxes/:id/trash/empty") { request, context in
            await api(request, context) { identity in
                try await emptyTrash(identity, mailbox: context.parameters.get("id") ?? "")
            }
        }
        router.get("/greetings") { request, context in
            await greetingsPage(request, context)
        }
        router.post("/greetings") { request, context in
            await greetingUpload(request, context)
        }
        router.get("/api/v1/mailboxes/:id/greetings") { request, context in
            await api(request, context) { identity in
                try await listGreetings(identity, mailbox: context.parameters.get("id") ?? "")
            }
        }
        router.post("/api/v1/mailboxes/:id/greetings") { request, context in
            await api(request, context) { identity in
                try await uploadGreeting(identity, mailbox: context.parameters.get("id") ?? "", request)
            }
        }
        router.get("/api/v1/mailboxes/:id/greetings/:type/audio") { request, context in
            await api(request, context) { identity in
                try await greetingAudio(
                    identity, mailbox: context.parameters.get("id") ?? "", type: context.parameters.get("type") ?? "",
                    request)
            }
        }
        router.get("/api/v1/events") { request, context in
            await api(request, context) { identity in try await events(identity) }
        }
    }

    // MARK: - Who is asking

    /// A signed-in login: by session cookie (pages, and the API the pages call) or by a
    /// personal token (other programs).
    struct Identity: Sendable {
        let login: MailboxID
        let profile: WebSessions.Profile
        let store: any MailStore
        /// Nil for a personal token, which needs no CSRF token: it is never sent by a browser
        /// on its own.
        let session: WebSessions.Session?
        let cookie: String?
        let client: ClientAddress
    }

    func client(_ context: some RemoteAddressRequestContext) -> ClientAddress {
        ClientAddress(context.remoteAddress?.ipAddress ?? "unknown")
    }

    func identify(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Identity? {
        await identify(request, client: client(context))
    }

    func identify(_ request: Request, client: ClientAddress) async -> Identity? {
        guard let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty,
            let session = await sessions.find(cookie)
        else { return nil }
        return Identity(
            login: session.login, profile: session.profile, store: session.store, session: session, cookie: cookie,
            client: client)
    }

    /// The language pages speak to `identity`: its mailbox's, else the browser's.
    func language(_ identity: Identity, _ request: Request) -> String? {
        identity.profile.language ?? pages.language(accepting: request.headers[.acceptLanguage])
    }

    /// Whether a state-changing request carries its session's CSRF token (form field or header).
    func csrfHolds(_ identity: Identity, request: Request, form: [String: String]? = nil) -> Bool {
        guard let session = identity.session else { return true }
        let presented = form?["csrf"] ?? request.headers[values: HTTPField.Name("X-CSRF-Token")!].first ?? ""
        return Secrets.equal(presented.utf8, session.csrf.utf8)
    }

    // MARK: - Static files

    func staticFile(_ request: Request, name: String) -> Response {
        guard let asset = pages.assetFiles[name] else { return Self.plain("not found\n", status: .notFound) }
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: [.eTag: asset.etag])
        }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    // MARK: - Responses

    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: .seeOther, headers: headers)
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func plain(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `Set-Cookie` for the session cookie; an empty token with `maxAge` 0 removes it.
    static func cookie(_ name: String, _ value: String, maxAge: Int?, path: String = "/") -> String {
        var text = "\(name)=\(value); Path=\(path); Secure; HttpOnly; SameSite=Strict"
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        return text
    }
}

/// A failure the web inbox answers with its own status and stable code.
struct WebError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    static func notFound(_ message: String) -> WebError {
        WebError(status: .notFound, code: "not_found", message: message)
    }
    static func badRequest(_ message: String) -> WebError {
        WebError(status: .badRequest, code: "bad_request", message: message)
    }
    static func forbidden(_ message: String) -> WebError {
        WebError(status: .forbidden, code: "forbidden", message: message)
    }

    /// Any failure as the web answers it: its own, the store's, or an internal one.
    static func of(_ error: any Error) -> WebError {
        if let error = error as? WebError { return error }
        if let error = error as? MailStoreError { return from(error) }
        return WebError(status: .internalServerError, code: "internal", message: "the request failed")
    }

    /// The store's refusal as the web answers it.
    static func from(_ error: MailStoreError) -> WebError {
        switch error {
        case .noSuchFolder, .noSuchMessage: .notFound(error.description)
        case .noPermission: .forbidden(error.description)
        case .readOnlyFolder, .protectedFolder, .folderExists, .invalidFolderName:
            WebError(status: .conflict, code: "conflict", message: error.description)
        case .overQuota:
            WebError(status: HTTPResponse.Status(code: 507), code: "mailbox_full", message: error.description)
        case .messageTooLarge: WebError(status: .contentTooLarge, code: "payload_too_large", message: error.description)
        case .malformedMessage: WebError(status: .unprocessableContent, code: "bad_request", message: error.description)
        case .storage: WebError(status: .internalServerError, code: "internal", message: "the store failed")
        }
    }
}

/// One message the API addresses: `/api/v1/mailboxes/:id/voicemails/:uid?folder=NAME`.
struct MessageRef: Sendable {
    let mailbox: String
    let folder: String
    let uid: UInt32

    init(_ request: Request, _ context: some RequestContext) throws {
        mailbox = context.parameters.get("id") ?? ""
        folder = request.uri.queryParameters.get("folder") ?? "INBOX"
        guard let uid = context.parameters.get("uid").flatMap({ UInt32($0) }), uid > 0 else {
            throw WebError.badRequest("a voicemail is addressed by its UID, a positive number")
        }
        self.uid = uid
    }

    init(mailbox: String, folder: String, uid: UInt32) {
        self.mailbox = mailbox
        self.folder = folder
        self.uid = uid
    }
}
