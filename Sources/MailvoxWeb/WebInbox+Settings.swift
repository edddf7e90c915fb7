import Foundation
import Hummingbird
import MailvoxCore
import MailvoxStore

/// The settings page (docs/WEB.md): the TOTP second factor, enrolled with a QR code, and
/// personal tokens for programs — both for the login's own mailbox.
extension WebInbox {
    func settingsPage(
        _ request: Request, _ context: some RemoteAddressRequestContext, notice: String? = nil,
        newToken: (name: String, token: String)? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async -> Response {
        guard let identity = await identify(request, context), let session = identity.session else {
            return Self.redirect("/login?next=/settings")
        }
        let language = language(identity, request)
        let words = pages.words(language)
        let messages = self.messages
        let directory = self.directory
        let login = identity.login
        let state = try? await Offload.run { () throws -> (Bool, [PersonalToken]) in
            (try messages.secondFactorSecret(mailbox: login) != nil, try directory.personalTokens(mailbox: login))
        }
        var values: [String: Any] = [
            "csrf": session.csrf, "signed_in": true, "user_name": identity.profile.name, "login": login.rawValue,
            "page_title": words["settings"] ?? "Settings", "second_factor_on": state?.0 ?? false,
            "tokens": (state?.1 ?? []).map { token in
                [
                    "name": token.name, "created": Self.iso8601(token.createdAt),
                    "last_used": token.lastUsedAt.map(Self.iso8601) ?? (words["never"] ?? "never"),
                ]
            },
        ]
        if let secret = session.enrolling, state?.0 != true {
            let uri = SecondFactor.uri(secret: secret, account: login.rawValue, issuer: config.server.hostname)
            values["enrolling"] = true
            values["secret"] = SecondFactor.displayKey(secret)
            values["otpauth_uri"] = uri
            values["qr_svg"] = (try? QRCode(encoding: Array(uri.utf8)).svg(moduleSize: 5)) ?? ""
        }
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        if let newToken {
            values["new_token"] = newToken.token
            values["new_token_name"] = newToken.name
        }
        return Self.html(pages.render("settings", language: language, values: values), status: status)
    }

    func settingsAction(_ request: Request, _ context: some RemoteAddressRequestContext) async -> Response {
        guard let identity = await identify(request, context), let session = identity.session,
            let cookie = identity.cookie
        else { return Self.redirect("/login?next=/settings") }
        let language = language(identity, request)
        let words = pages.words(language)
        guard let form = await Self.form(request), csrfHolds(identity, request: request, form: form) else {
            return forbiddenPage(identity)
        }
        let messages = self.messages
        let directory = self.directory
        let login = identity.login
        let code = form["code"] ?? ""
        switch form["action"] ?? "" {
        case "second_factor_start":
            sessions.setEnrolling(SecondFactor.newSecret(), for: cookie)
            return Self.redirect("/settings")
        case "second_factor_confirm":
            guard let secret = session.enrolling, let step = SecondFactor.step(of: code, secret: secret),
                await sessions.use(step: step, login: login)
            else {
                return await settingsPage(request, context, error: words["error.code"], status: .unprocessableContent)
            }
            do {
                try await Offload.run { try messages.setSecondFactorSecret(mailbox: login, secret) }
            } catch {
                return errorPage(identity, language: language, .badRequest("the second factor could not be saved"))
            }
            sessions.setEnrolling(nil, for: cookie)
            logger.notice("web: second factor turned on", metadata: ["login": "\(login)"])
            return await settingsPage(request, context, notice: words["second_factor.turned_on"])
        case "second_factor_off":
            let secret = try? await Offload.run { try messages.secondFactorSecret(mailbox: login) }
            guard let secret: String = secret ?? nil, let step = SecondFactor.step(of: code, secret: secret),
                await sessions.use(step: step, login: login)
            else {
                return await settingsPage(request, context, error: words["error.code"], status: .unprocessableContent)
            }
            _ = try? await Offload.run { try messages.setSecondFactorSecret(mailbox: login, nil) }
            logger.notice("web: second factor turned off", metadata: ["login": "\(login)"])
            return await settingsPage(request, context, notice: words["second_factor.turned_off"])
        case "token_create":
            let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
            do {
                let token = try await Offload.run { try directory.createPersonalToken(mailbox: login, name: name) }
                return await settingsPage(request, context, newToken: (name, token))
            } catch {
                return await settingsPage(request, context, error: "\(error)", status: .unprocessableContent)
            }
        case "token_revoke":
            let name = form["name"] ?? ""
            _ = try? await Offload.run { try directory.revokePersonalToken(mailbox: login, name: name) }
            return Self.redirect("/settings")
        case let other:
            return errorPage(identity, language: language, .badRequest("unknown action \(other)"))
        }
    }
}
