import Foundation
import HTTPTypes
import Hummingbird
import MailvoxAudio
import MailvoxCore
import MailvoxMIME
import MailvoxPipeline
import NIOCore

/// Greetings (docs/WEB.md): recorded or uploaded in the browser, stored as voice messages in
/// the Greetings folder with `X-CNS-Greeting-Type`, and handed to the PBX in its own format.
/// Audio is converted in memory files only: nothing of it is written to disk in clear.
extension WebInbox {
    /// What a PBX asks for: WAV at 8 kHz, G.711 µ-law (Asterisk's `wav`), A-law, or 16-bit PCM.
    static let pbxFormats: [String: WAVEncoding] = ["wav-ulaw": .muLaw, "wav-alaw": .aLaw, "wav-pcm": .pcm16]

    struct Greeting: Sendable {
        let type: String
        let uid: UInt32
        let seconds: Int
        let received: Date
    }

    /// The newest greeting of each type in the mailbox's Greetings folder.
    func greetings(_ identity: Identity, mailbox id: String) async throws -> (WebMailbox, [String: Greeting]) {
        let page = try await folderPage(identity, mailbox: id, folder: "Greetings", page: 1, pageSize: Self.maxPageSize)
        var found: [String: Greeting] = [:]
        for entry in page.entries {
            guard let type = entry.greetingType, GreetingComposer.types.contains(type), found[type] == nil else {
                continue
            }
            found[type] = Greeting(type: type, uid: entry.uid, seconds: entry.seconds, received: entry.received)
        }
        return (page.mailbox, found)
    }

    // MARK: - Page

    func greetingsPage(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        guard let identity = await identify(request, context) else { return Self.redirect("/login?next=/greetings") }
        let language = language(identity, request)
        let words = pages.words(language)
        let mailboxID = request.uri.queryParameters.get("mailbox") ?? identity.login.rawValue
        let mailbox: WebMailbox
        let current: [String: Greeting]
        do {
            (mailbox, current) = try await greetings(identity, mailbox: mailboxID)
        } catch {
            return errorPage(identity, language: language, .of(error))
        }
        let types: [[String: Any]] = GreetingComposer.types.map { type in
            var values: [String: Any] = ["type": type, "label": words["greeting.\(type)"] ?? type]
            if let greeting = current[type] {
                let base = "/api/v1/mailboxes/\(Self.pathComponent(mailbox.id))/greetings/\(type)/audio"
                values["present"] = true
                values["uid"] = Int(greeting.uid)
                values["audio_url"] = base
                values["duration"] =
                    "\(greeting.seconds / 60):\(greeting.seconds % 60 < 10 ? "0" : "")\(greeting.seconds % 60)"
                values["downloads"] = ["wav-ulaw", "wav-alaw", "wav-pcm", "mp3"].map { format in
                    [
                        "format": format, "label": words["download.\(format)"] ?? format,
                        "url": base + "?format=\(format)&download=1",
                    ]
                }
            }
            return values
        }
        let values: [String: Any] = [
            "csrf": identity.session?.csrf ?? "", "signed_in": true, "user_name": identity.profile.name,
            "mailbox_id": mailbox.id, "mailbox_name": mailbox.name, "types": types,
            "page_title": words["greetings"] ?? "Greetings",
            "notice": request.uri.queryParameters.get("saved") != nil ? (words["greeting.saved"] ?? "Saved.") : false,
        ]
        return Self.html(pages.render("greetings", language: language, values: values))
    }

    /// The upload form (multipart: csrf, mailbox, type, audio), then back to the page.
    func greetingUpload(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        guard let identity = await identify(request, context) else { return Self.redirect("/login?next=/greetings") }
        let language = language(identity, request)
        do {
            let upload = try await Self.multipart(request, limit: config.http.maxBodyBytes)
            guard csrfHolds(identity, request: request, form: upload.fields) else { return forbiddenPage(identity) }
            let mailbox = upload.fields["mailbox"] ?? identity.login.rawValue
            guard let audio = upload.audio else { throw WebError.badRequest("choose a recording to upload") }
            _ = try await storeGreeting(identity, mailbox: mailbox, type: upload.fields["type"] ?? "", audio: audio)
            return Self.redirect("/greetings?mailbox=\(Self.queryValue(mailbox))&saved=1")
        } catch {
            return errorPage(identity, language: language, .of(error))
        }
    }

    // MARK: - API

    func listGreetings(_ identity: Identity, mailbox id: String) async throws -> Response {
        let (mailbox, current) = try await greetings(identity, mailbox: id)
        return Self.json([
            "mailbox": mailbox.id,
            "greetings": GreetingComposer.types.compactMap { type in
                current[type].map {
                    [
                        "type": type, "uid": Int($0.uid), "duration_seconds": $0.seconds,
                        "received_at": Self.iso8601($0.received),
                        "audio_url": "/api/v1/mailboxes/\(Self.pathComponent(mailbox.id))/greetings/\(type)/audio",
                    ] as [String: Any]
                }
            },
        ])
    }

    /// `POST /api/v1/mailboxes/:id/greetings?type=unavailable` with the recording as the body
    /// (any audio type the server reads) or as the `audio` field of a multipart form.
    func uploadGreeting(_ identity: Identity, mailbox id: String, _ request: Request) async throws -> Response {
        let type = request.uri.queryParameters.get("type") ?? ""
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let audio: [UInt8]
        var fields: [String: String] = [:]
        if MediaTypes.base(contentType) == "multipart/form-data" {
            let upload = try await Self.multipart(request, limit: config.http.maxBodyBytes)
            guard let file = upload.audio else { throw WebError.badRequest("no file field \"audio\"") }
            audio = file
            fields = upload.fields
        } else {
            var request = request
            guard let body = try? await request.collectBody(upTo: config.http.maxBodyBytes) else {
                throw WebError(
                    status: .contentTooLarge, code: "payload_too_large", message: "the recording is too large")
            }
            audio = Array(buffer: body)
        }
        let uid = try await storeGreeting(identity, mailbox: id, type: fields["type"] ?? type, audio: audio)
        return Self.json(["type": fields["type"] ?? type, "uid": Int(uid)], status: .created)
    }

    /// The current greeting of `type`: as stored (`mp3`, `opus`, `wav`) or converted for a PBX
    /// (`wav-ulaw`, `wav-alaw`, `wav-pcm`, all 8 kHz mono).
    func greetingAudio(
        _ identity: Identity, mailbox id: String, type: String, _ request: Request
    ) async throws
        -> Response
    {
        let (mailbox, current) = try await greetings(identity, mailbox: id)
        guard let greeting = current[type] else { throw WebError.notFound("no \(type) greeting") }
        let format = request.uri.queryParameters.get("format")?.lowercased()
        guard let encoding = format.flatMap({ Self.pbxFormats[$0] }) else {
            return try await audio(
                identity, MessageRef(mailbox: mailbox.id, folder: "Greetings", uid: greeting.uid), format: format,
                download: request.uri.queryParameters.get("download") != nil, range: request.headers[.range])
        }
        // From the lossless copy when there is one.
        let (_, bytes) = try await audioPart(identity, folder: mailbox.storeName("Greetings"), uid: greeting.uid) {
            parts in parts.first { $0.format == "wav" } ?? parts.first
        }
        let converted = try await Offload.bulk { () throws -> [UInt8] in
            let input = try MemoryFile(name: "greeting-in", bytes: bytes)
            let output = try MemoryFile(name: "greeting-out")
            var options = TranscodeOptions()
            options.sampleRate = 8000
            _ = try Transcoder.transcode(
                input: input.path, to: [TranscodeTarget(.wav, path: output.path, wavEncoding: encoding)],
                options: options)
            return try output.contents()
        }
        var headers: HTTPFields = [.contentType: "audio/wav", .cacheControl: "private, no-store"]
        if request.uri.queryParameters.get("download") != nil {
            headers[.contentDisposition] = "attachment; filename=\"\(type).wav\""
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: converted)))
    }

    // MARK: - Storing

    /// Transcodes `audio` (any format the audio module reads) into the `[audio]` formats and a
    /// WAV kept for PBX copies, stores it in Greetings as the new greeting of `type`, and moves
    /// the one it replaces to Trash, where it stays recoverable. Returns the new UID.
    func storeGreeting(
        _ identity: Identity, mailbox id: String, type: String, audio: [UInt8]
    ) async throws
        -> UInt32
    {
        guard GreetingComposer.types.contains(type) else {
            throw WebError.badRequest("type must be one of \(GreetingComposer.types.joined(separator: ", "))")
        }
        guard !audio.isEmpty else {
            throw WebError(status: .unprocessableContent, code: "audio_empty", message: "the recording is empty")
        }
        let (mailbox, current) = try await greetings(identity, mailbox: id)
        let formats = config.audio.formats + (config.audio.formats.contains(.wav) ? [] : [.wav])
        let options = TranscodeOptions(config.audio)
        let transcoded: (parts: [GreetingComposer.Audio], seconds: Double)
        do {
            transcoded = try await Offload.bulk { () throws -> ([GreetingComposer.Audio], Double) in
                let input = try MemoryFile(name: "greeting-upload", bytes: audio)
                let outputs = try formats.map { _ in try MemoryFile(name: "greeting") }
                let result = try Transcoder.transcode(
                    input: input.path, to: zip(formats, outputs).map { TranscodeTarget($0, path: $1.path) },
                    options: options)
                let parts = try zip(formats, outputs).map { format, file in
                    GreetingComposer.Audio(
                        mediaType: format.mediaType, fileExtension: format.fileExtension, bytes: try file.contents())
                }
                return (parts, result.duration)
            }
        } catch let error as AudioError {
            throw WebError(
                status: .unprocessableContent, code: error.code?.rawValue ?? "audio_not_audio",
                message: error.description)
        } catch {
            throw WebError(
                status: .internalServerError, code: "internal", message: "the recording could not be converted")
        }
        let message = GreetingComposer.compose(
            type: type, mailbox: mailbox.id, ownerName: mailbox.name, hostname: config.server.hostname,
            duration: transcoded.seconds, date: Date(), timeZone: identity.profile.timeZone, audio: transcoded.parts)
        let name = mailbox.storeName("Greetings")
        do {
            let stored = try await identity.store.append(
                to: name, message: message, flags: MessageFlags(system: .seen), internalDate: nil)
            if let old = current[type], let trash = mailbox.trash {
                _ = try await identity.store.copy(
                    from: name, uids: [old.uid], to: mailbox.storeName(trash), removingSource: true)
            }
            return stored.summary.uid
        } catch {
            throw WebError.from(error)
        }
    }

    /// A `multipart/form-data` body: its text fields and the `audio` file.
    static func multipart(
        _ request: Request, limit: Int
    ) async throws -> (
        fields: [String: String], audio: [UInt8]?
    ) {
        let contentType = request.headers[.contentType] ?? ""
        guard MediaTypes.base(contentType) == "multipart/form-data",
            let boundary = MediaTypes.parameter("boundary", in: contentType)
        else { throw WebError.badRequest("send multipart/form-data with a boundary") }
        var request = request
        guard let body = try? await request.collectBody(upTo: limit) else {
            throw WebError(status: .contentTooLarge, code: "payload_too_large", message: "the recording is too large")
        }
        let form: MultipartForm
        do {
            form = try MultipartForm.parse(body, boundary: boundary)
        } catch {
            throw WebError.badRequest("malformed multipart body")
        }
        return (form.fields, form.files["audio"].map { [UInt8]($0.data) })
    }
}
