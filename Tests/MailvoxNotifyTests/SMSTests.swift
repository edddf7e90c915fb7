import Crypto
import Foundation
import MailvoxCore
import NIOCore
import Testing

@testable import MailvoxNotify

/// SMS texts cut to length, and the gateways against a test-owned HTTP receiver.
@Suite struct SMSTextTests {
    @Test func aShortGSMTextIsKept() {
        #expect(SMSText.fit("Voicemail (0:12) from Ada", maxLength: 160) == "Voicemail (0:12) from Ada")
        #expect(SMSText.encoding(of: "Grüße à Zoë? No: ë is not GSM") == .ucs2)
        #expect(SMSText.encoding(of: "Grüße à Ñandu €5 [x]") == .gsm7)
    }

    @Test func aLongGSMTextIsCutToTheLimitWithAnEllipsis() {
        let text = String(repeating: "abcde ", count: 40)
        let fitted = SMSText.fit(text, maxLength: 160)
        #expect(SMSText.length(fitted) <= 160)
        #expect(fitted.hasSuffix("..."))
        #expect(!fitted.dropLast(3).hasSuffix(" "), "no space before the ellipsis")
    }

    @Test func anEscapePairIsNeverHalved() {
        // 157 letters then euros: each € is two septets; 157 + "..." = 160 leaves no room for one.
        let text = String(repeating: "a", count: 156) + "€€€€€€"
        let fitted = SMSText.fit(text, maxLength: 160)
        #expect(SMSText.length(fitted) <= 160)
        #expect(fitted == String(repeating: "a", count: 156) + "...", "\(fitted)")
        let tight = String(repeating: "a", count: 155) + "€€€€"
        #expect(SMSText.fit(tight, maxLength: 160) == String(repeating: "a", count: 155) + "€...")
    }

    @Test func ucs2TextsGet70UnitsAndNoHalfCharacter() {
        let text = "Sprachnachricht von 李小龍 " + String(repeating: "😀", count: 60)
        let fitted = SMSText.fit(text, maxLength: 160)
        #expect(fitted.utf16.count <= 70)
        #expect(fitted.hasSuffix("…"))
        #expect(fitted.unicodeScalars.allSatisfy { !(0xD800...0xDFFF).contains($0.value) })
        #expect(fitted.dropLast().last == "😀", "whole emoji kept, no half surrogate pair")
        #expect(SMSText.fit("Kurz: 李", maxLength: 160) == "Kurz: 李")
    }
}

@Suite struct SMSGatewayTests {
    static let alert = SMSAlert(
        to: "+4915112345678", text: "Voicemail (0:07) from Jürgen Groß +49 3012 3456", mailbox: "1000",
        depositID: "6f1c2d3e-0000-4000-8000-000000000001", callerNumber: "+4930123456", callerName: "Jürgen Groß",
        receivedAt: Date(timeIntervalSince1970: 1_764_144_900), durationSeconds: 7)

    func receiver(_ arguments: [String] = [], directory: String) throws -> Relay {
        try Relay(arguments, directory: directory, script: Relay.folder + "/sms_receiver.py")
    }

    func config(_ provider: Configuration.SMSProvider, url: String, directory: String) throws -> Configuration {
        var config = Configuration(file: directory + "/mailvox.toml")
        config.sms.provider = provider
        try "webhook-secret\n".write(toFile: directory + "/secret", atomically: true, encoding: .utf8)
        try "twilio-token\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        config.sms.webhookURL = url
        config.sms.webhookSecretFile = directory + "/secret"
        config.sms.twilioBaseURL = url
        config.sms.twilioAccountSID = "AC0123"
        config.sms.twilioAuthTokenFile = directory + "/token"
        config.sms.twilioFrom = "+15005550006"
        return config
    }

    @Test func theWebhookPostsTheDesignJSONSignedWithHMAC() async throws {
        let directory = try temporaryDirectory()
        let receiver = try receiver(["--secret-file", directory + "/secret"], directory: directory)
        let gateway = try SMSGateway(
            config(.webhook, url: "http://127.0.0.1:\(receiver.port)/hook?token=x", directory: directory))
        try await onOwnThread { try gateway.send(Self.alert, smtp: nil) }
        let request = try #require(receiver.requests().first)
        #expect(request["path"] as? String == "/hook?token=x")
        #expect(request["signature_valid"] as? Bool == true)
        let headers = request["headers"] as? [String: String] ?? [:]
        #expect(headers["Content-Type"] == "application/json")
        let signature = headers["X-Mailvox-Signature"] ?? ""
        #expect(signature.range(of: #"^t=\d+,v1=[0-9a-f]{64}$"#, options: .regularExpression) != nil)
        let body = try #require(
            try JSONSerialization.jsonObject(with: Data((request["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect(
            Set(body.keys) == [
                "event", "mailbox", "deposit_id", "to", "caller_number", "caller_name", "received_at",
                "duration_seconds", "text",
            ])
        #expect(body["event"] as? String == "voicemail.new")
        #expect(body["to"] as? String == "+4915112345678")
        #expect(body["caller_name"] as? String == "Jürgen Groß")
        #expect(body["duration_seconds"] as? Int == 7)
        #expect(body["received_at"] as? String == "2025-11-26T08:15:00Z")
        #expect(body["text"] as? String == Self.alert.text)
    }

    @Test func aWithheldCallerIsNullInTheWebhook() throws {
        var alert = Self.alert
        alert.callerNumber = nil
        alert.callerName = nil
        let body = String(decoding: try SMSGateway.webhookBody(alert, text: "x"), as: UTF8.self)
        #expect(body.contains("\"caller_number\":null"))
        #expect(body.contains("\"caller_name\":null"))
    }

    @Test func theSignatureIsHMACSHA256OfTimeDotBody() {
        let body = Array("{\"a\":1}".utf8)
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("1700000000.".utf8) + body, using: SymmetricKey(data: Array("k".utf8)))
        #expect(
            SMSGateway.signature(secret: Array("k".utf8), time: 1_700_000_000, body: body)
                == "t=1700000000,v1=" + expected.map { String(format: "%02x", $0) }.joined())
    }

    @Test func twilioGetsAFormPostWithBasicAuth() async throws {
        let directory = try temporaryDirectory()
        let receiver = try receiver(["--status", "201"], directory: directory)
        let gateway = try SMSGateway(config(.twilio, url: "http://127.0.0.1:\(receiver.port)", directory: directory))
        try await onOwnThread { try gateway.send(Self.alert, smtp: nil) }
        let request = try #require(receiver.requests().first)
        #expect(request["path"] as? String == "/2010-04-01/Accounts/AC0123/Messages.json")
        let headers = request["headers"] as? [String: String] ?? [:]
        #expect(headers["Authorization"] == "Basic " + Data("AC0123:twilio-token".utf8).base64EncodedString())
        #expect(headers["Content-Type"] == "application/x-www-form-urlencoded")
        let form = URLComponents(
            string: "?" + (request["body"] as? String ?? "").replacingOccurrences(of: "+", with: "%20"))
        let fields = Dictionary(uniqueKeysWithValues: (form?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(fields["To"] == "+4915112345678")
        #expect(fields["From"] == "+15005550006")
        #expect(fields["Body"] == Self.alert.text)
    }

    @Test(arguments: [(400, true), (401, true), (404, true), (408, false), (429, false), (500, false), (503, false)])
    func gatewayStatusesAreClassified(status: Int, permanent: Bool) async throws {
        let directory = try temporaryDirectory()
        let receiver = try receiver(["--status", "\(status)", "--garbage"], directory: directory)
        let gateway = try SMSGateway(config(.webhook, url: "http://127.0.0.1:\(receiver.port)/", directory: directory))
        let error = await #expect(throws: NotifyError.self) {
            try await onOwnThread { try gateway.send(Self.alert, smtp: nil) }
        }
        #expect(error?.isPermanent == permanent, "\(String(describing: error))")
        #expect(error?.description.contains("HTTP \(status)") == true, "\(String(describing: error))")
    }

    @Test func aGarbageSuccessBodyIsStillSuccessAndAClosedPortIsTransient() async throws {
        let directory = try temporaryDirectory()
        let receiver = try receiver(["--garbage"], directory: directory)
        let gateway = try SMSGateway(config(.webhook, url: "http://127.0.0.1:\(receiver.port)/", directory: directory))
        try await onOwnThread { try gateway.send(Self.alert, smtp: nil) }
        var down = try SMSGateway(config(.webhook, url: "http://127.0.0.1:9/", directory: directory))
        // AsyncHTTPClient keeps retrying a refused connection until the deadline.
        down.timeout = .seconds(2)
        let gatewayDown = down
        let error = await #expect(throws: NotifyError.self) {
            try await onOwnThread { try gatewayDown.send(Self.alert, smtp: nil) }
        }
        #expect(error?.isPermanent == false)
    }

    @Test func aMissingSecretIsAConfigurationError() throws {
        let directory = try temporaryDirectory()
        var config = try config(.webhook, url: "http://127.0.0.1:9/", directory: directory)
        config.sms.webhookSecretFile = directory + "/nope"
        #expect(throws: NotifyError.self) { try SMSGateway(config) }
    }

    @Test func theEmailGatewaySendsTheTextToNumberAtDomain() async throws {
        let directory = try temporaryDirectory()
        let relay = try Relay(directory: directory)
        var config = try config(.email, url: "", directory: directory)
        config.sms.emailGatewayDomain = "sms.example.net"
        let gateway = try SMSGateway(config)
        let settings = SMTPSettings(host: "127.0.0.1", port: relay.port, security: .none, heloName: "localhost")
        try await onOwnThread { try gateway.send(Self.alert, smtp: SMTPSender(settings: settings)) }
        let message = try #require(relay.messages().first)
        #expect(message.envelope["rcpt_tos"] as? [String] == ["+4915112345678@sms.example.net"])
        let parsed = try shell(
            "/usr/bin/python3 -c 'import email,sys; m=email.message_from_string(sys.stdin.read()); print(m.get_payload(decode=True).decode())' < \(relay.out)/000001.eml",
            in: directory)
        #expect(parsed.trimmingCharacters(in: .whitespacesAndNewlines) == Self.alert.text)
    }
}
