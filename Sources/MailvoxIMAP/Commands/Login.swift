import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// Whether handling `event` may ask the `Authenticator` (and so wait its delay): LOGIN,
    /// AUTHENTICATE, or the SASL response of one in progress.
    func checksCredentials(_ event: ParserEvent) -> Bool {
        switch event {
        case .command(let tagged):
            switch tagged.command {
            case .login, .authenticate: return true
            default: return false
            }
        case .authenticationResponse: return true
        case .continuationRequest, .idleDone, .error: return false
        }
    }

    /// LOGIN (RFC 3501 §6.2.3): mailbox id and password, only where a password may travel.
    mutating func login(username: String, password: String, tag: String) async {
        guard loginAllowed else {
            no(tag, code: .privacyRequired, "Use STARTTLS first")
            return
        }
        await checkCredentials(username: username, password: password, tag: tag)
    }

    /// AUTHENTICATE PLAIN (RFC 4616) with or without an initial response (RFC 4959 SASL-IR).
    mutating func authenticate(mechanism: String, initialResponse: [UInt8]?, tag: String) async {
        guard mechanism.uppercased() == "PLAIN" else {
            no(tag, code: .cannot, "Unsupported authentication mechanism")
            return
        }
        guard loginAllowed else {
            no(tag, code: .privacyRequired, "Use STARTTLS first")
            return
        }
        if let initialResponse {
            await finishPlain(initialResponse, tag: tag)
        } else {
            state.authenticationStarted(tag: tag)
            send(.continuation(.challenge([])))
        }
    }

    /// The client's answer to the empty PLAIN challenge; nil when it cancelled with `*`.
    mutating func continueAuthentication(_ response: [UInt8]?) async -> SessionAction {
        guard let tag = state.authenticationResponseArrived() else {
            send(.untagged(.condition(StatusResponse(.bad, text: "No authentication in progress"))))
            return .proceed
        }
        guard let response else {
            bad(tag, "AUTHENTICATE cancelled")
            return .proceed
        }
        await finishPlain(response, tag: tag)
        return .proceed
    }

    private mutating func finishPlain(_ message: [UInt8], tag: String) async {
        // RFC 4616: [authzid] NUL authcid NUL passwd.
        let fields = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else {
            bad(tag, "Malformed PLAIN response")
            return
        }
        let authorization = String(decoding: fields[0], as: UTF8.self)
        let username = String(decoding: fields[1], as: UTF8.self)
        let password = String(decoding: fields[2], as: UTF8.self)
        guard authorization.isEmpty || authorization.lowercased() == username.lowercased() else {
            no(tag, code: .authorizationFailed, "Cannot act as another mailbox")
            return
        }
        await checkCredentials(username: username, password: password, tag: tag)
    }

    private mutating func checkCredentials(username: String, password: String, tag: String) async {
        let result = await authenticator.authenticate(
            mailbox: username, password: password, client: configuration.clientAddress)
        switch result {
        case .success(let store):
            state.loggedIn(store)
            logger.info(
                "IMAP login", metadata: ["mailbox": "\(store.mailbox)", "client": "\(configuration.clientAddress)"])
            send(.tagged(tag: tag, StatusResponse(.ok, code: .capability(capabilities), text: "Logged in")))
        case .failure(let delay):
            // The password is never logged; the attempted id is (it is what an operator investigates).
            logger.notice(
                "IMAP login failed", metadata: ["mailbox": "\(username)", "client": "\(configuration.clientAddress)"])
            try? await Task.sleep(for: delay)
            no(tag, code: .authenticationFailed, "Authentication failed")
        }
    }
}
