import Foundation
import MailvoxCore

/// What the SMTP client needs from `[smtp]` and `[server]`, with the password already read.
public struct SMTPSettings: Sendable {
    public var host: String
    public var port: Int
    public var security: Configuration.SMTPSecurity
    /// PEM bundle of trusted roots; nil means the system store.
    public var caFile: String?
    public var username: String
    public var password: String
    /// The EHLO name: `[server] hostname`.
    public var heloName: String
    /// Seconds each connect, read and write may take.
    public var timeout: Int
    /// A connection idle this long is closed instead of reused.
    public var idleSeconds: Double

    public init(
        host: String, port: Int, security: Configuration.SMTPSecurity, caFile: String? = nil, username: String = "",
        password: String = "", heloName: String, timeout: Int = 30, idleSeconds: Double = 10
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.caFile = caFile
        self.username = username
        self.password = password
        self.heloName = heloName
        self.timeout = timeout
        self.idleSeconds = idleSeconds
    }

    /// From the loaded configuration; reads `password_file` (first line) when a username is set.
    public init(_ config: Configuration) throws(NotifyError) {
        var password = ""
        if !config.smtp.username.isEmpty {
            guard let file = config.smtp.passwordFile else {
                throw .configuration("smtp.username is set but smtp.password_file is not (\(config.file))")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw .configuration("cannot read smtp.password_file \(file)")
            }
            password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        }
        self.init(
            host: config.smtp.host, port: config.smtp.port, security: config.smtp.security,
            caFile: config.smtp.caFile, username: config.smtp.username, password: password,
            heloName: config.server.hostname)
    }

    var isLoopback: Bool { HostPort(host: host, port: port).isLoopback }
}

/// `[smtp] from` taken apart: `Voicemail <voicemail@example.com>` → name and address.
public struct SenderAddress: Sendable, Equatable {
    public var displayName: String
    public var address: String

    public init(displayName: String, address: String) {
        self.displayName = displayName
        self.address = address
    }

    /// Parses `Name <addr>`, `"Name" <addr>` or a bare `addr` (then the name is "Voicemail").
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") {
            let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
                name = String(name.dropFirst().dropLast())
            }
            guard EmailAddress(address) != nil else { return nil }
            self.init(displayName: name.isEmpty ? "Voicemail" : name, address: address)
        } else {
            guard EmailAddress(trimmed) != nil else { return nil }
            self.init(displayName: "Voicemail", address: trimmed)
        }
    }

    /// The alert's From display name (docs/DESIGN.md §7): `Jürgen Groß (+4930123456) via Voicemail`.
    public func displayName(callerName: String?, callerNumber: String?) -> String {
        let name = callerName?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        let number = callerNumber?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        let caller: String
        switch (name, number) {
        case (let name?, let number?): caller = "\(name) (\(number))"
        case (let name?, nil): caller = name
        case (nil, let number?): caller = number
        case (nil, nil): caller = "Unknown caller"
        }
        return "\(caller) via \(displayName)"
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
