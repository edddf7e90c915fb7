import Foundation
import HTTPTypes
import Hummingbird
import MailvoxCore
import MailvoxCrypto
import MailvoxStore
import NIOCore

/// The server-rendered pages: sign-in, the inbox, and the form posts that work without script.
extension WebInbox {
    // MARK: - Signing in and out

    func signInPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
        if await identify(request, client: ClientAddress("unknown")) != nil, error == nil {
            return Self.redirect(safeNext(request))
        }
        let language = pages.language(accepting: request.headers[.acceptLanguage])
        let token = Secrets.token()
        var values: [String: Any] = ["csrf": token, "next": safeNext(request), "signed_out": true]
        if let error { values["error"] = error }
        return Self.html(
            pages.render("login", language: language, values: values), status: status,
            headers: [.setCookie: Self.cookie(Self.signInCookieName, token, maxAge: 3600)])
    }

    func signIn(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        let language = pages.language(accepting: request.headers[.acceptLanguage])
        let words = pages.words(language)
        guard let form = await Self.form(request) else {
            return await signInPage(request, error: words["error.bad_form"], status: .badRequest)
        }
        // Login CSRF: the form must carry the token its page set in a cookie.
        let expected = request.cookies[Self.signInCookieName]?.value ?? ""
        guard !expected.isEmpty, Secrets.equal((form["csrf"] ?? "").utf8, expected.utf8) else {
            return await signInPage(request, error: words["error.expired_form"], status: .forbidden)
        }
        let id = (form["mailbox"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let client = self.client(context)
        switch await authenticator.authenticate(mailbox: id, password: password, client: client) {
        case .failure(let delay):
            // The same counting, delays and lockout as IMAP: it is the same authenticator.
            try? await Task.sleep(for: delay)
            logger.notice("web: sign-in failed", metadata: ["client": "\(client)"])
            return await signInPage(request, error: words["error.sign_in"], status: .unauthorized)
        case .success(let store):
            let login = store.mailbox
            let directory = self.directory
            let messages = self.messages
            let record = try? await Offload.run { try directory.mailbox(login) }
            let profile = self.profile(login, record)
            let next = Self.safePath(form["next"]) ?? "/inbox"
            let secret: String?
            do {
                secret = try await Offload.run { try messages.secondFactorSecret(mailbox: login) }
            } catch {
                logger.error("web: the second factor could not be read", metadata: ["error": "\(error)"])
                return errorPage(
                    nil, language: language,
                    WebError(status: .internalServerError, code: "internal", message: "sign-in failed"))
            }
            guard secret != nil else {
                return await startSession(
                    login: login, profile: profile, store: store, next: next, client: client, language: language)
            }
            // The password was right; the session waits for the authenticator app's code.
            do {
                let pending = try await sessions.hold(login: login, profile: profile, store: store)
                return codePage(request, next: next, language: language, pending: pending)
            } catch {
                return sessionFailure(error, language: language)
            }
        }
    }

    /// A signed-in session: its cookie set, the sign-in cookies cleared, off to `next`.
    func startSession(
        login: MailboxID, profile: WebSessions.Profile, store: any MailStore, next: String, client: ClientAddress,
        language: String?
    ) async -> Response {
        // A new token at every sign-in: a cookie planted before it is worth nothing after.
        let token: String
        do {
            token = try await sessions.start(login: login, profile: profile, store: store)
        } catch {
            return sessionFailure(error, language: language)
        }
        logger.info("web: signed in", metadata: ["login": "\(login)", "client": "\(client)"])
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: Self.cookie(Self.cookieName, token, maxAge: nil)))
        headers.append(HTTPField(name: .setCookie, value: Self.cookie(Self.signInCookieName, "", maxAge: 0)))
        headers.append(HTTPField(name: .setCookie, value: Self.cookie(Self.pendingCookieName, "", maxAge: 0)))
        return Self.redirect(next, headers: headers)
    }

    /// A sign-in whose session could not be recorded (the database did not answer).
    func sessionFailure(_ error: any Error, language: String?) -> Response {
        logger.error("web: a session could not be recorded", metadata: ["error": "\(error)"])
        let temporary = (error as? any MailvoxFailure)?.isTemporary ?? false
        return errorPage(
            nil, language: language,
            WebError(
                status: temporary ? .serviceUnavailable : .internalServerError,
                code: temporary ? "unavailable" : "internal", message: "sign-in failed"))
    }

    /// The second step of a sign-in: the form for the authenticator app's code.
    func codePage(
        _ request: Request, next: String, language: String?, pending: String?, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let token = Secrets.token()
        var values: [String: Any] = ["csrf": token, "next": next, "second_factor": true]
        if let error { values["error"] = error }
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: Self.cookie(Self.signInCookieName, token, maxAge: 600)))
        if let pending {
            headers.append(
                HTTPField(
                    name: .setCookie,
                    value: Self.cookie(Self.pendingCookieName, pending, maxAge: Int(WebSessions.pendingSeconds))))
        }
        return Self.html(pages.render("login", language: language, values: values), status: status, headers: headers)
    }

    /// `POST /login/code`: the code of a sign-in whose password was right.
    func signInCode(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        let language = pages.language(accepting: request.headers[.acceptLanguage])
        let words = pages.words(language)
        let form = await Self.form(request) ?? [:]
        let expected = request.cookies[Self.signInCookieName]?.value ?? ""
        let next = Self.safePath(form["next"]) ?? "/inbox"
        guard !expected.isEmpty, Secrets.equal((form["csrf"] ?? "").utf8, expected.utf8),
            let token = request.cookies[Self.pendingCookieName]?.value, let pending = await sessions.attempt(token)
        else {
            return await signInPage(request, error: words["error.expired_form"], status: .forbidden)
        }
        let messages = self.messages
        let login = pending.login
        let secret = try? await Offload.run { try messages.secondFactorSecret(mailbox: login) }
        guard let secret: String = secret ?? nil,
            let step = SecondFactor.step(of: form["code"] ?? "", secret: secret),
            await sessions.use(step: step, login: login)
        else {
            logger.notice("web: a second-factor code was refused", metadata: ["client": "\(client(context))"])
            return codePage(
                request, next: next, language: pending.profile.language ?? language, pending: nil,
                error: words["error.code"], status: .unauthorized)
        }
        await sessions.end(token)
        return await startSession(
            login: login, profile: pending.profile, store: pending.store, next: next, client: client(context),
            language: pending.profile.language ?? language)
    }

    func signOut(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        let clear = HTTPFields([HTTPField(name: .setCookie, value: Self.cookie(Self.cookieName, "", maxAge: 0))])
        guard let identity = await identify(request, context) else { return Self.redirect("/login", headers: clear) }
        let form = await Self.form(request)
        guard csrfHolds(identity, request: request, form: form ?? [:]) else { return forbiddenPage(identity) }
        if let cookie = identity.cookie { await sessions.end(cookie) }
        logger.info("web: signed out", metadata: ["login": "\(identity.login)"])
        return Self.redirect("/login", headers: clear)
    }

    /// `next` of the query, if it is a path of this site (never another host's URL).
    func safeNext(_ request: Request) -> String {
        Self.safePath(request.uri.queryParameters.get("next")) ?? "/inbox"
    }

    static func safePath(_ text: String?) -> String? {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }), text.utf8.count <= 512
        else { return nil }
        return text
    }

    // MARK: - The inbox

    func inboxPage(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        guard let identity = await identify(request, context) else {
            let path = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Self.redirect("/login?next=" + Self.queryValue(path))
        }
        let language = language(identity, request)
        let words = pages.words(language)
        let query = request.uri.queryParameters
        let mailboxID = query.get("mailbox") ?? identity.login.rawValue
        let folder = query.get("folder") ?? "INBOX"
        let pageNumber = query.get("page").flatMap { Int($0) } ?? 1
        let page: FolderPage
        let all: [WebMailbox]
        do {
            all = try await mailboxes(identity)
            page = try await folderPage(
                identity, mailbox: mailboxID, folder: folder, page: pageNumber, pageSize: Self.defaultPageSize,
                containing: query.get("uid").flatMap { UInt32($0) }, in: all)
        } catch {
            return errorPage(identity, language: language, .of(error))
        }
        var navigation: [[String: Any]] = []
        for mailbox in all {
            var folders: [[String: Any]] = []
            for info in mailbox.folders {
                let unseen = (try? await identity.store.status(of: mailbox.storeName(info.name)).unseen) ?? 0
                folders.append([
                    "name": info.name, "label": words["folder.\(info.name)"] ?? info.name,
                    "url": inboxURL(mailbox: mailbox.id, folder: info.name, page: 1),
                    "current": mailbox.id == page.mailbox.id && info.name == folder,
                    "unseen": unseen, "has_unseen": unseen > 0,
                ])
            }
            navigation.append([
                "id": mailbox.id, "name": mailbox.name, "own": mailbox.own, "folders": folders,
                "current": mailbox.id == page.mailbox.id,
            ])
        }
        let isTrash = folder == page.mailbox.trash
        let isSaved = folder == page.mailbox.saved
        let entries: [[String: Any]] = page.entries.map { entry in
            var values = describe(entry, mailbox: page.mailbox, folder: folder, identity: identity, language: language)
            values["download_url"] = (values["audio_url"] as? String ?? "") + "&download=1"
            values["can_save"] = !isSaved && !isTrash && page.mailbox.saved != nil
            values["can_restore"] = isTrash
            values["unheard"] = !entry.heard
            values["shown_name"] =
                values["caller_name"] ?? values["caller_number_display"] ?? words["caller.unknown"] ?? "Unknown caller"
            values["shows_number"] = values["caller_name"] != nil && values["caller_number_display"] != nil
            return values
        }
        let values: [String: Any] = [
            "csrf": identity.session?.csrf ?? "",
            "login": identity.login.rawValue,
            "user_name": identity.profile.name,
            "signed_in": true,
            "mailboxes": navigation,
            "mailbox_id": page.mailbox.id,
            "mailbox_name": page.mailbox.name,
            "shows_mailbox_name": all.count > 1,
            "folder": folder,
            "folder_label": words["folder.\(folder)"] ?? folder,
            "voicemails": entries,
            "empty": entries.isEmpty,
            "is_trash": isTrash,
            "trash_has_messages": isTrash && page.total > 0,
            "page": page.page,
            "pages": page.pages,
            "total": page.total,
            "paged": page.pages > 1,
            "prev_url": page.page > 1 ? inboxURL(mailbox: page.mailbox.id, folder: folder, page: page.page - 1) : false,
            "next_url": page.page < page.pages
                ? inboxURL(mailbox: page.mailbox.id, folder: folder, page: page.page + 1) : false,
        ]
        return Self.html(pages.render("inbox", language: language, values: values))
    }

    func inboxURL(mailbox: String, folder: String, page: Int) -> String {
        "/inbox?mailbox=\(Self.queryValue(mailbox))&folder=\(Self.queryValue(folder))"
            + (page > 1 ? "&page=\(page)" : "")
    }

    /// A row's buttons and the Trash's "Empty": one form endpoint, then back to where it was.
    func formAction(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        guard let identity = await identify(request, context) else { return Self.redirect("/login") }
        let language = language(identity, request)
        guard let form = await Self.form(request) else {
            return errorPage(identity, language: language, .badRequest("the form could not be read"))
        }
        guard csrfHolds(identity, request: request, form: form) else { return forbiddenPage(identity) }
        let mailbox = form["mailbox"] ?? identity.login.rawValue
        let folder = form["folder"] ?? "INBOX"
        let page = form["page"].flatMap { Int($0) } ?? 1
        do {
            switch form["action"] ?? "" {
            case "empty_trash":
                _ = try await emptyTrash(identity, mailboxID: mailbox)
            case let name:
                guard let action = Action(rawValue: name) else { throw WebError.badRequest("unknown action \(name)") }
                guard let uid = form["uid"].flatMap({ UInt32($0) }) else {
                    throw WebError.badRequest("the form names no voicemail")
                }
                _ = try await perform(action, identity, MessageRef(mailbox: mailbox, folder: folder, uid: uid))
            }
        } catch {
            return errorPage(identity, language: language, .of(error))
        }
        return Self.redirect(inboxURL(mailbox: mailbox, folder: folder, page: page))
    }

    // MARK: - Errors

    func errorPage(_ identity: Identity?, language: String?, _ error: WebError) -> Response {
        let values: [String: Any] = [
            "status": Int(error.status.code), "message": error.message, "code": error.code,
            "signed_in": identity != nil, "csrf": identity?.session?.csrf ?? "",
            "user_name": identity?.profile.name ?? "",
        ]
        return Self.html(pages.render("error", language: language, values: values), status: error.status)
    }

    func forbiddenPage(_ identity: Identity) -> Response {
        errorPage(
            identity, language: identity.profile.language,
            .forbidden("the form has expired or came from elsewhere (CSRF token missing or wrong); reload the page"))
    }

    // MARK: - Forms

    /// An `application/x-www-form-urlencoded` body, or nil when it is too large or not one.
    static func form(_ request: Request) async -> [String: String]? {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else { return nil }
        var request = request
        guard let body = try? await request.collectBody(upTo: maxFormBytes) else { return nil }
        return FormFields.parse(String(buffer: body))
    }
}
