import Foundation
import MailvoxCore

/// Every key of the config file, in the order of `Config/mailvox.example.toml`.
enum Settings {
    static let all: [Setting] = [
        .path("server", "data_dir", \.server.dataDir),
        .string("server", "hostname", \.server.hostname, check: hostnameProblem),
        .int("server", "workers", \.server.workers, 0...256),
        .bool("server", "run_jobs", \.server.runJobs),
        .int("server", "blocking_threads", \.server.blockingThreads, 0...1024),
        .int("server", "background_nice", \.server.backgroundNice, 0...19),
        .string("server", "default_timezone", \.server.defaultTimezone) { name in
            TimeZone(identifier: name) == nil ? "\"\(name)\" is not a time zone name (e.g. \"Europe/Berlin\")" : nil
        },
        .int("server", "min_free_bytes", \.server.minFreeBytes, 0...Int.max),
        .choice("server", "log_level", \.server.logLevel),

        .listener("imap", "listen", \.imap.listen),
        .listener("imap", "listen_tls", \.imap.listenTLS),
        .bool("imap", "allow_plaintext_auth", \.imap.allowPlaintextAuth),
        .int("imap", "max_message_bytes", \.imap.maxMessageBytes, 1024...(1 << 31)),

        .listener("http", "listen", \.http.listen),
        .bool("http", "tls", \.http.tls),
        .int("http", "max_body_bytes", \.http.maxBodyBytes, 1024...(1 << 31)),
        .int("http", "header_timeout_seconds", \.http.headerTimeoutSeconds, 1...3600),

        .bool("web", "enabled", \.web.enabled),
        .string("web", "base_url", \.web.baseURL) { text in
            guard !text.isEmpty else { return nil }
            guard let url = URL(string: text), ["https", "http"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil,
                url.query == nil
            else { return "\"\(text)\" is not an http(s) URL without a query (e.g. \"https://voicemail.example.com\")" }
            return nil
        },
        .int("web", "idle_timeout_seconds", \.web.idleTimeoutSeconds, 1...86_400),
        .int("web", "max_session_seconds", \.web.maxSessionSeconds, 60...(30 * 86_400)),
        .bool("web", "alert_links", \.web.alertLinks),

        .path("tls", "certificate_file", \.tls.certificateFile),
        .path("tls", "private_key_file", \.tls.privateKeyFile),

        .path("crypto", "master_key_file", \.crypto.masterKeyFile),

        .int("auth", "max_failures", \.auth.maxFailures, 1...1000),
        .int("auth", "max_failures_per_address", \.auth.maxFailuresPerAddress, 1...100_000),
        .int("auth", "lockout_seconds", \.auth.lockoutSeconds, 1...86_400),

        Setting(section: "audio", key: "formats") { config, raw, _ throws(ValueError) in
            let names = try raw.strings()
            guard !names.isEmpty else { throw ValueError(message: "needs at least one format") }
            var formats: [Configuration.AudioFormat] = []
            for name in names {
                let format = try RawValue.string(name).choice(Configuration.AudioFormat.self)
                guard !formats.contains(format) else { throw ValueError(message: "\"\(name)\" is listed twice") }
                formats.append(format)
            }
            config.audio.formats = formats
        },
        .int("audio", "mp3_bitrate_kbps", \.audio.mp3BitrateKbps, 8...320),
        .int("audio", "opus_bitrate_kbps", \.audio.opusBitrateKbps, 6...256),
        Setting(section: "audio", key: "loudness_target_lufs") { config, raw, _ throws(ValueError) in
            if case .string("off") = raw {
                config.audio.loudnessTargetLUFS = nil
            } else if case .environment("off") = raw {
                config.audio.loudnessTargetLUFS = nil
            } else {
                do throws(ValueError) {
                    config.audio.loudnessTargetLUFS = try raw.double(in: -70...0)
                } catch {
                    throw ValueError(message: error.message + " (or \"off\")")
                }
            }
        },
        .bool("audio", "trim_silence", \.audio.trimSilence),
        .double("audio", "min_seconds", \.audio.minSeconds, 0...3600),
        .double("audio", "max_seconds", \.audio.maxSeconds, 1...86_400),
        .choice("audio", "too_long", \.audio.tooLong),

        .optionalPath("intake", "drop_dir", \.intake.dropDir),
        .bool("intake", "keep_processed", \.intake.keepProcessed),

        .listener("inbound", "smtp_listen", \.inbound.smtpListen),
        .listener("inbound", "smtps_listen", \.inbound.smtpsListen),
        Setting(section: "inbound", key: "lmtp_listen") { config, raw, base throws(ValueError) in
            let text = try raw.string()
            if text.isEmpty {
                config.inbound.lmtpListen = nil
            } else if text.hasPrefix("/") || text.hasPrefix("./") {
                config.inbound.lmtpListen = .unix(path: resolve(text, against: base))
            } else if let address = HostPort(parsing: text) {
                config.inbound.lmtpListen = .tcp(address)
            } else {
                throw ValueError(
                    message:
                        "\"\(text)\" is neither host:port nor a socket path (e.g. \"127.0.0.1:2424\", \"/run/mailvox/lmtp.sock\"; \"\" disables)"
                )
            }
        },
        Setting(section: "inbound", key: "domains") { config, raw, _ throws(ValueError) in
            let names = try raw.strings()
            for name in names where !Configuration.isHostname(name) {
                throw ValueError(message: "\"\(name)\" is not a domain name")
            }
            config.inbound.domains = names.map { $0.lowercased() }
        },
        .int("inbound", "max_message_bytes", \.inbound.maxMessageBytes, 1024...(1 << 31)),
        .bool("inbound", "require_auth", \.inbound.requireAuth),
        Setting(section: "inbound", key: "trusted_networks") { config, raw, _ throws(ValueError) in
            config.inbound.trustedNetworks = try raw.strings().map { text throws(ValueError) in
                guard let network = IPNetwork(text) else {
                    throw ValueError(message: "\"\(text)\" is not an address or CIDR network (e.g. \"10.0.0.0/8\")")
                }
                return network
            }
        },
        .int("inbound", "max_recipients", \.inbound.maxRecipients, 1...10_000),
        .int("quota", "default_mb", \.quota.defaultMB, 0...(1 << 30)),
        .int("quota", "default_messages", \.quota.defaultMessages, 0...(1 << 30)),
        .int("quota", "warn_percent", \.quota.warnPercent, 1...100),
        .int("inbound", "idle_timeout_seconds", \.inbound.idleTimeoutSeconds, 1...3600),
        .int("inbound", "max_connections", \.inbound.maxConnections, 1...100_000),
        .int("inbound", "max_connections_per_address", \.inbound.maxConnectionsPerAddress, 1...100_000),
        Setting(section: "inbound", key: "caller_patterns") { config, raw, _ throws(ValueError) in
            config.inbound.callerPatterns = try raw.strings().map { entry throws(ValueError) in
                guard let space = entry.firstIndex(of: " ") else {
                    throw ValueError(
                        message: "\"\(entry)\" is not \"SENDER REGEX\" (SENDER is *, @domain or an address)")
                }
                let sender = String(entry[..<space])
                let pattern = entry[space...].trimmingCharacters(in: .whitespaces)
                guard sender == "*" || sender.contains("@") else {
                    throw ValueError(message: "\"\(sender)\" is not *, @domain or an address")
                }
                do {
                    _ = try NSRegularExpression(pattern: pattern)
                } catch {
                    throw ValueError(message: "\"\(pattern)\" is not a regular expression")
                }
                guard pattern.contains("(?<number>") || pattern.contains("(?<name>") else {
                    throw ValueError(message: "\"\(pattern)\" needs a (?<number>…) or (?<name>…) group")
                }
                return Configuration.CallerPattern(sender: sender, pattern: pattern)
            }
        },

        .int("queue", "max_attempts", \.queue.maxAttempts, 1...100),
        .int("queue", "backoff_initial_seconds", \.queue.backoffInitialSeconds, 1...86_400),
        .int("queue", "backoff_max_seconds", \.queue.backoffMaxSeconds, 1...604_800),
        .int("queue", "idempotency_days", \.queue.idempotencyDays, 1...3650),

        .optionalPath("templates", "dir", \.templates.dir),

        .string("smtp", "host", \.smtp.host) { $0.isEmpty ? "must not be empty" : hostnameProblem($0) },
        .int("smtp", "port", \.smtp.port, 1...65535),
        .choice("smtp", "security", \.smtp.security),
        .optionalPath("smtp", "ca_file", \.smtp.caFile),
        .string("smtp", "username", \.smtp.username),
        .optionalPath("smtp", "password_file", \.smtp.passwordFile),
        .string("smtp", "from", \.smtp.from) { text in
            text.contains("@") && !text.contains("\r") && !text.contains("\n")
                ? nil : "\"\(text)\" is not an address such as \"Voicemail <voicemail@example.com>\""
        },

        .choice("sms", "provider", \.sms.provider),
        .int("sms", "max_length", \.sms.maxLength, 70...1600),
        .string("sms", "webhook_url", \.sms.webhookURL, check: urlProblem),
        .optionalPath("sms", "webhook_secret_file", \.sms.webhookSecretFile),
        .string("sms", "twilio_base_url", \.sms.twilioBaseURL, check: urlProblem),
        .string("sms", "twilio_account_sid", \.sms.twilioAccountSID),
        .optionalPath("sms", "twilio_auth_token_file", \.sms.twilioAuthTokenFile),
        .string("sms", "twilio_from", \.sms.twilioFrom),
        .string("sms", "email_gateway_domain", \.sms.emailGatewayDomain),

        .int("backup", "warn_after_days", \.backup.warnAfterDays, 0...3650),

        .int("retention", "deleted_days", \.retention.deletedDays, 1...3650),
        .int("retention", "trash_days", \.retention.trashDays, 0...36500),
        .int("retention", "inbox_days", \.retention.inboxDays, 0...36500),
        .int("retention", "saved_days", \.retention.savedDays, 0...36500),

        .int("audit", "days", \.audit.days, 1...3650),

        .choice("storage", "backend", \.storage.backend),
        .string("postgres", "url", \.postgres.url) { text in
            guard !text.isEmpty else { return nil }
            guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
                url.host?.isEmpty == false
            else { return "is not a postgres:// URL (e.g. \"postgres://mailvox@db.example.com/mailvox\")" }
            // The URL is printed in logs and errors; the password belongs in password_file.
            guard url.password == nil else { return "must not carry a password: put it in postgres.password_file" }
            return nil
        },
        .optionalPath("postgres", "password_file", \.postgres.passwordFile),
        .int("postgres", "pool_size", \.postgres.poolSize, 1...1000),
        .choice("blobs", "backend", \.blobs.backend),
        .string("blobs", "endpoint", \.blobs.endpoint, check: urlProblem),
        .string("blobs", "bucket", \.blobs.bucket) { text in
            // S3's bucket naming rules: 3–63 of a-z, 0-9, '.', '-', starting and ending alphanumeric.
            guard !text.isEmpty else { return nil }
            let allowed = text.utf8.allSatisfy {
                (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2e || $0 == 0x2d
            }
            let edges = [text.utf8.first!, text.utf8.last!].allSatisfy { $0 != 0x2e && $0 != 0x2d }
            return (3...63).contains(text.utf8.count) && allowed && edges
                ? nil : "\"\(text)\" is not an S3 bucket name (3–63 of a-z, 0-9, '.', '-')"
        },
        .string("blobs", "region", \.blobs.region) { text in
            text.isEmpty || !text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
                ? "\"\(text)\" is not a region name (e.g. \"us-east-1\")" : nil
        },
        .optionalPath("blobs", "access_key_file", \.blobs.accessKeyFile),
        .optionalPath("blobs", "secret_key_file", \.blobs.secretKeyFile),
        .bool("blobs", "path_style", \.blobs.pathStyle),
        .int("blobs", "cache_mb", \.blobs.cacheMB, 0...65536),
    ]

    static let sections: [String] = {
        var names: [String] = []
        for setting in all where !names.contains(setting.section) { names.append(setting.section) }
        return names
    }()

    static func setting(section: String, key: String) -> Setting? {
        all.first { $0.section == section && $0.key == key }
    }

    /// A host name or IP literal, as an SMTP relay or this server's own name.
    @Sendable static func hostnameProblem(_ name: String) -> String? {
        Configuration.isHostname(name) ? nil : "\"\(name)\" is not a host name"
    }

    /// `""` (unset) or an absolute http(s) URL.
    @Sendable static func urlProblem(_ text: String) -> String? {
        guard !text.isEmpty else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            url.host?.isEmpty == false
        else { return "\"\(text)\" is not an http(s) URL" }
        return nil
    }
}
