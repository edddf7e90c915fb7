import AsyncHTTPClient
import Crypto
import Foundation
import MailvoxCore
import NIOCore

/// One SMS alert: who gets it, its text, and the facts the webhook JSON carries (docs/DESIGN.md §3.8).
public struct SMSAlert: Sendable, Equatable {
    /// E.164 number of the mailbox owner.
    public var to: String
    /// Rendered `sms.mustache`, not yet cut to length.
    public var text: String
    public var mailbox: String
    public var depositID: String
    public var callerNumber: String?
    public var callerName: String?
    public var receivedAt: Date
    public var durationSeconds: Int

    public init(
        to: String, text: String, mailbox: String, depositID: String, callerNumber: String?, callerName: String?,
        receivedAt: Date, durationSeconds: Int
    ) {
        self.to = to
        self.text = text
        self.mailbox = mailbox
        self.depositID = depositID
        self.callerNumber = callerNumber
        self.callerName = callerName
        self.receivedAt = receivedAt
        self.durationSeconds = durationSeconds
    }
}

/// Sends SMS alerts through the configured provider: a signed JSON webhook, a
/// Twilio-compatible Messages endpoint, or an email-to-SMS gateway through the SMTP client.
/// Blocking, like the SMTP client: call it from a worker thread.
public struct SMSGateway: Sendable {
    public let config: Configuration.SMS
    let secret: [UInt8]
    let twilioToken: String
    /// `[smtp] from`, for the email gateway's envelope and From.
    let sender: SenderAddress
    let hostname: String
    public var timeout: TimeAmount = .seconds(30)

    /// Reads the provider's secret file now, so a missing secret is a start-up error.
    public init(_ config: Configuration) throws(NotifyError) {
        self.config = config.sms
        hostname = config.server.hostname
        guard let sender = SenderAddress(config.smtp.from) else {
            throw .configuration("smtp.from \"\(config.smtp.from)\" is not an address")
        }
        self.sender = sender
        func firstLine(_ path: String?, _ key: String) throws(NotifyError) -> String {
            guard let path else { throw .configuration("sms.\(key) must be set for provider \(config.sms.provider)") }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw .configuration("cannot read sms.\(key) \(path)")
            }
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        }
        switch config.sms.provider {
        case .webhook:
            guard !config.sms.webhookURL.isEmpty else { throw .configuration("sms.webhook_url must be set") }
            secret = Array(try firstLine(config.sms.webhookSecretFile, "webhook_secret_file").utf8)
            twilioToken = ""
        case .twilio:
            guard !config.sms.twilioAccountSID.isEmpty, !config.sms.twilioFrom.isEmpty else {
                throw .configuration("sms.twilio_account_sid and sms.twilio_from must be set for provider twilio")
            }
            twilioToken = try firstLine(config.sms.twilioAuthTokenFile, "twilio_auth_token_file")
            secret = []
        case .email:
            guard !config.sms.emailGatewayDomain.isEmpty else {
                throw .configuration("sms.email_gateway_domain must be set for provider email")
            }
            secret = []
            twilioToken = ""
        case .none:
            secret = []
            twilioToken = ""
        }
    }

    /// Sends `alert`; the email provider uses `smtp`. Throws with `isPermanent` set as the
    /// queue needs it (HTTP 4xx other than 408/429, SMTP 5xx).
    public func send(_ alert: SMSAlert, smtp: SMTPSender?) throws(NotifyError) {
        let text = SMSText.fit(alert.text, maxLength: config.maxLength)
        switch config.provider {
        case .none:
            throw .configuration("sms.provider is \"none\"")
        case .webhook:
            let body = try Self.webhookBody(alert, text: text)
            let time = Int(Date().timeIntervalSince1970)
            try post(
                url: config.webhookURL, body: body, contentType: "application/json",
                headers: [("X-Mailvox-Signature", Self.signature(secret: secret, time: time, body: body))])
        case .twilio:
            let base =
                config.twilioBaseURL.hasSuffix("/") ? String(config.twilioBaseURL.dropLast()) : config.twilioBaseURL
            let sid = config.twilioAccountSID.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let form = [("To", alert.to), ("From", config.twilioFrom), ("Body", text)].map {
                Self.formEncode($0.0) + "=" + Self.formEncode($0.1)
            }.joined(separator: "&")
            let credentials = Data("\(config.twilioAccountSID):\(twilioToken)".utf8).base64EncodedString()
            try post(
                url: "\(base)/2010-04-01/Accounts/\(sid)/Messages.json", body: Array(form.utf8),
                contentType: "application/x-www-form-urlencoded", headers: [("Authorization", "Basic \(credentials)")])
        case .email:
            guard let smtp else { throw .configuration("the email SMS gateway needs the SMTP relay") }
            let recipient = "\(alert.to)@\(config.emailGatewayDomain)"
            let message = Self.gatewayMail(
                text: text, from: sender, to: recipient, depositID: alert.depositID, hostname: hostname)
            let outcome = try smtp.send(from: sender.address, to: [recipient], message: message)
            if case .rejected(let error) = outcome.first { throw error }
        }
    }

    /// The webhook JSON of docs/DESIGN.md §3.8 (keys sorted, so the bytes are stable).
    static func webhookBody(_ alert: SMSAlert, text: String) throws(NotifyError) -> [UInt8] {
        struct Body: Encodable {
            let event = "voicemail.new"
            let mailbox: String
            let depositID: String
            let to: String
            let callerNumber: String?
            let callerName: String?
            let receivedAt: String
            let durationSeconds: Int
            let text: String

            enum CodingKeys: String, CodingKey {
                case event, mailbox, to, text
                case depositID = "deposit_id"
                case callerNumber = "caller_number"
                case callerName = "caller_name"
                case receivedAt = "received_at"
                case durationSeconds = "duration_seconds"
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(event, forKey: .event)
                try container.encode(mailbox, forKey: .mailbox)
                try container.encode(depositID, forKey: .depositID)
                try container.encode(to, forKey: .to)
                // Present as null when withheld, so receivers see every key.
                try container.encode(callerNumber, forKey: .callerNumber)
                try container.encode(callerName, forKey: .callerName)
                try container.encode(receivedAt, forKey: .receivedAt)
                try container.encode(durationSeconds, forKey: .durationSeconds)
                try container.encode(text, forKey: .text)
            }
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(
                try encoder.encode(
                    Body(
                        mailbox: alert.mailbox, depositID: alert.depositID, to: alert.to,
                        callerNumber: alert.callerNumber, callerName: alert.callerName,
                        receivedAt: formatter.string(from: alert.receivedAt), durationSeconds: alert.durationSeconds,
                        text: text)))
        } catch {
            throw .configuration("cannot encode the webhook body: \(error)")
        }
    }

    /// `t=UNIXTIME,v1=HEX`, HEX = HMAC-SHA256(secret, "UNIXTIME.BODY") (docs/DESIGN.md §3.8).
    public static func signature(secret: [UInt8], time: Int, body: [UInt8]) -> String {
        var signed = Array("\(time).".utf8)
        signed += body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret))
        return "t=\(time),v1=" + mac.lowercaseHex
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "").replacingOccurrences(
            of: "%20", with: "+")
    }

    /// A plain-text mail for an email-to-SMS gateway; base64 so any text survives.
    static func gatewayMail(
        text: String, from: SenderAddress, to: String, depositID: String, hostname: String
    )
        -> [UInt8]
    {
        let name =
            from.displayName.allSatisfy { $0.isASCII && $0 != "\"" && !$0.isNewline }
            ? "\"\(from.displayName)\"" : "=?utf-8?B?\(Data(from.displayName.utf8).base64EncodedString())?="
        var body = Data(text.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
        body = body.replacingOccurrences(of: "\r", with: "\r\n")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let lines = [
            "From: \(name) <\(from.address)>", "To: <\(to)>", "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(depositID).sms@\(hostname)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "", body,
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    private func post(
        url: String, body: [UInt8], contentType: String, headers: [(String, String)]
    )
        throws(NotifyError)
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "User-Agent", value: "Mailvox")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let timeout = self.timeout
        let prepared = request
        // Named without its query string, which may carry a token.
        let shownURL = url.split(separator: "?").first.map(String.init) ?? url
        let result: Result<(Int, String), NotifyError> = blockingWait {
            do {
                let response = try await HTTPClient.shared.execute(prepared, timeout: timeout)
                let data = try await response.body.collect(upTo: 64 * 1024)
                return .success((Int(response.status.code), String(buffer: data)))
            } catch {
                return .failure(.http("POST \(shownURL): \(error)"))
            }
        }
        let (status, text) = try result.get()
        guard (200..<300).contains(status) else {
            throw .httpStatus(status, body: SMTPConnection.clean(text))
        }
    }
}
