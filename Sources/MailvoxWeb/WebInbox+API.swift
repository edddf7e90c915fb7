import Foundation
import HTTPTypes
import Hummingbird
import MailvoxCore
import MailvoxStore
import NIOCore

/// The JSON API of docs/API.md: what the page's script calls, and what other programs may
/// call with a personal token.
extension WebInbox {
    /// Runs `handler` for a signed-in caller; answers 401 without one, 403 for a session's
    /// state change without its CSRF token, and every failure as `{"error": {code, message}}`.
    func api(
        _ request: Request, _ context: some RemoteAddressRequestContext,
        _ handler: (Identity) async throws -> Response
    ) async -> Response {
        var found = await identify(request, context)
        if found == nil, let bearer = Self.bearer(request) {
            found = await identify(token: bearer, client: client(context))
        }
        guard let identity = found else {
            return Self.apiError(
                WebError(status: .unauthorized, code: "unauthorized", message: "sign in, or send a personal token"))
        }
        if ![.get, .head].contains(request.method), !csrfHolds(identity, request: request) {
            return Self.apiError(.forbidden("a state change needs the session's X-CSRF-Token header"))
        }
        do {
            return try await handler(identity)
        } catch {
            let answer = WebError.of(error)
            // The cause of a failure the client did not make goes to the log, not to the client.
            if answer.status == .internalServerError { logger.error("web: \(error)") }
            return Self.apiError(answer)
        }
    }

    static func apiError(_ error: WebError) -> Response {
        json(["error": ["code": error.code, "message": error.message]], status: error.status)
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// A JSON object body of at most `maxFormBytes`.
    static func jsonBody(_ request: Request) async throws -> [String: Any] {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: maxFormBytes) else {
            throw WebError(status: .contentTooLarge, code: "payload_too_large", message: "the body is too large")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            throw WebError.badRequest("the body is not a JSON object")
        }
        return object
    }

    // MARK: - Reading

    func listMailboxes(_ identity: Identity) async throws -> Response {
        var result: [[String: Any]] = []
        for mailbox in try await mailboxes(identity) {
            result.append([
                "id": mailbox.id, "name": mailbox.name, "own": mailbox.own,
                "folders": try await folderObjects(identity, mailbox),
            ])
        }
        return Self.json(["login": identity.login.rawValue, "mailboxes": result])
    }

    func listFolders(_ identity: Identity, mailbox id: String) async throws -> Response {
        let mailbox = try await mailbox(identity, id)
        return Self.json(["mailbox": mailbox.id, "folders": try await folderObjects(identity, mailbox)])
    }

    func folderObjects(_ identity: Identity, _ mailbox: WebMailbox) async throws -> [[String: Any]] {
        var folders: [[String: Any]] = []
        for folder in mailbox.folders {
            let status = try await identity.store.status(of: mailbox.storeName(folder.name))
            var object: [String: Any] = [
                "name": folder.name, "messages": status.messages, "unheard": status.unseen,
                "rights": status.rights.description,
            ]
            object["special_use"] = folder.specialUse ?? NSNull()
            folders.append(object)
        }
        return folders
    }

    func listVoicemails(_ identity: Identity, _ request: Request, mailbox id: String) async throws -> Response {
        let query = request.uri.queryParameters
        let folder = query.get("folder") ?? "INBOX"
        let perPage = min(max(1, query.get("per_page").flatMap { Int($0) } ?? Self.defaultPageSize), Self.maxPageSize)
        let page = try await folderPage(
            identity, mailbox: id, folder: folder, page: query.get("page").flatMap { Int($0) } ?? 1,
            pageSize: perPage)
        let language = language(identity, request)
        return Self.json([
            "mailbox": page.mailbox.id, "folder": folder, "page": page.page, "pages": page.pages,
            "per_page": perPage, "total": page.total,
            "voicemails": page.entries.map {
                describe($0, mailbox: page.mailbox, folder: folder, identity: identity, language: language)
            },
        ])
    }

    func showVoicemail(_ identity: Identity, _ ref: MessageRef) async throws -> Response {
        let (mailbox, name) = try await folder(identity, mailbox: ref.mailbox, ref.folder)
        let store = identity.store
        guard let summary = try await store.summaries(in: name, uids: [ref.uid]).first,
            let header = try await store.headers(in: name, uids: [ref.uid])[ref.uid]
        else { throw WebError.notFound("no voicemail \(ref.uid) in \(ref.folder)") }
        let structure = try await store.structure(in: name, uid: ref.uid)
        var object = describe(
            VoicemailEntry(summary: summary, header: header), mailbox: mailbox, folder: ref.folder, identity: identity,
            language: identity.profile.language)
        object["audio"] = AudioPart.all(in: structure).map { part in
            [
                "format": part.format, "content_type": part.contentType,
                "url": audioURL(mailbox: mailbox.id, folder: ref.folder, uid: ref.uid) + "&format=\(part.format)",
            ]
        }
        return Self.json(object)
    }

    // MARK: - Changing

    func patchVoicemail(_ identity: Identity, _ ref: MessageRef, _ request: Request) async throws -> Response {
        let body = try await Self.jsonBody(request)
        guard let heard = body["heard"] as? Bool, body.count == 1 else {
            throw WebError.badRequest("send {\"heard\": true} or {\"heard\": false}")
        }
        let result = try await perform(heard ? .heard : .unheard, identity, ref)
        return Self.json(["folder": result.folder ?? NSNull(), "uid": result.uid.map { Int($0) } ?? NSNull()])
    }

    func moveVoicemail(_ identity: Identity, _ ref: MessageRef, _ request: Request) async throws -> Response {
        let body = try await Self.jsonBody(request)
        guard let target = body["to"] as? String, !target.isEmpty else {
            throw WebError.badRequest("send {\"to\": \"Saved\"} (a folder of the same mailbox)")
        }
        let (mailbox, _) = try await folder(identity, mailbox: ref.mailbox, ref.folder)
        let result = try await move(identity, mailbox: mailbox, from: ref, to: target)
        return Self.json(["folder": result.folder ?? NSNull(), "uid": result.uid.map { Int($0) } ?? NSNull()])
    }

    func respond(_ action: Action, _ identity: Identity, _ ref: MessageRef) async throws -> Response {
        let result = try await perform(action, identity, ref)
        return Self.json(["folder": result.folder ?? NSNull(), "uid": result.uid.map { Int($0) } ?? NSNull()])
    }

    func emptyTrash(_ identity: Identity, mailbox id: String) async throws -> Response {
        Self.json(["expunged": try await emptyTrash(identity, mailboxID: id)])
    }

    // MARK: - Audio

    /// The audio part `choose` picks among the message's, decoded in memory (never written in
    /// clear) on the blocking pool: base64 of a long recording is megabytes of work.
    func audioPart(
        _ identity: Identity, folder name: String, uid: UInt32, choose: ([AudioPart]) -> AudioPart?
    ) async throws -> (part: AudioPart, bytes: [UInt8]) {
        let structure = try await identity.store.structure(in: name, uid: uid)
        guard let part = choose(AudioPart.all(in: structure)) else {
            throw WebError.notFound("voicemail \(uid) has no such audio")
        }
        let encoded = try await identity.store.content(in: name, uid: uid, range: part.body)
        guard let bytes = await Offload.run({ TransferDecoding.decode(encoded[...], encoding: part.encoding) }) else {
            throw WebError(
                status: .unprocessableContent, code: "bad_request",
                message: "the audio's transfer encoding \(part.encoding) cannot be decoded")
        }
        return (part, bytes)
    }

    /// The stored attachment, decoded in memory and never written in clear, whole or as the
    /// one byte range asked (RFC 9110 §14), which Safari and iOS need to play it.
    func audio(_ identity: Identity, _ ref: MessageRef, _ request: Request) async throws -> Response {
        try await audio(
            identity, ref, format: request.uri.queryParameters.get("format")?.lowercased(),
            download: request.uri.queryParameters.get("download") != nil, range: request.headers[.range])
    }

    func audio(
        _ identity: Identity, _ ref: MessageRef, format wanted: String?, download: Bool, range header: String?
    )
        async throws -> Response
    {
        let (_, name) = try await folder(identity, mailbox: ref.mailbox, ref.folder)
        let (part, bytes) = try await audioPart(identity, folder: name, uid: ref.uid) { parts in
            wanted.map { format in parts.first { $0.format == format } } ?? parts.first
        }
        let range = ByteRangeRequest(header: header, length: bytes.count)
        var headers: HTTPFields = [
            .contentType: part.contentType, .acceptRanges: "bytes", .cacheControl: "private, no-store",
        ]
        if download {
            headers[.contentDisposition] = "attachment; filename=\"voicemail-\(ref.uid).\(part.format)\""
        }
        if let contentRange = range.contentRange(length: bytes.count) { headers[.contentRange] = contentRange }
        switch range {
        case .whole:
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        case .partial(let slice):
            return Response(
                status: .partialContent, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes[slice])))
        case .unsatisfiable:
            headers[.contentType] = nil
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
    }
}
