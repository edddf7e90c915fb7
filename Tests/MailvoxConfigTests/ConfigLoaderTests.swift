import Foundation
import MailvoxCore
import Testing

@testable import MailvoxConfig

/// A throwaway directory holding a config file.
struct ConfigFixture {
    let directory: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("mvx-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ text: String, name: String = "mailvox.toml") throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func load(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> Configuration {
        let path: String
        do { path = try write(text) } catch { fatalError("cannot write fixture: \(error)") }
        return try ConfigLoader.load(path: path, environment: environment)
    }

    func error(_ text: String, environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try load(text, environment: environment)
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct ConfigLoaderTests {
    @Test func emptyFileGivesDefaultsWithPathsBesideTheFile() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load("")
        #expect(config.server.dataDir == fixture.directory)
        #expect(config.crypto.masterKeyFile == fixture.directory + "/keys/master.key")
        #expect(config.tls.certificateFile == fixture.directory + "/tls/cert.pem")
        #expect(config.imap.listen == HostPort(host: "127.0.0.1", port: 1143))
        #expect(config.imap.listenTLS == HostPort(host: "127.0.0.1", port: 1993))
        #expect(config.http.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(config.audio.formats == [.mp3])
        #expect(config.audio.loudnessTargetLUFS == -16.0)
        #expect(config.queue.maxAttempts == 8)
        #expect(config.sms.provider == Configuration.SMSProvider.none)
        #expect(config.databasePath == fixture.directory + "/mailvox.sqlite")
    }

    @Test func relativePathsResolveAgainstTheConfigFilesDirectory() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(
            """
            [server]
            data_dir = "data"
            [crypto]
            master_key_file = "../secrets/master.key"
            [templates]
            dir = "/etc/mailvox/templates"
            """)
        #expect(config.server.dataDir == fixture.directory + "/data")
        let parent = (fixture.directory as NSString).deletingLastPathComponent
        #expect(config.crypto.masterKeyFile == parent + "/secrets/master.key")
        #expect(config.templates.dir == "/etc/mailvox/templates")
    }

    @Test func everyTypeOfValueIsRead() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(
            """
            [server]
            hostname = "vm.example.com"
            workers = 3
            default_timezone = "Europe/Berlin"
            log_level = "debug"
            [imap]
            listen = ""
            listen_tls = "[::1]:2993"
            allow_plaintext_auth = true
            [audio]
            formats = ["opus", "mp3"]
            loudness_target_lufs = "off"
            min_seconds = 2
            max_seconds = 30.5
            too_long = "reject"
            [smtp]
            security = "tls"
            port = 465
            """)
        #expect(config.server.hostname == "vm.example.com")
        #expect(config.server.workers == 3)
        #expect(config.server.defaultTimezone == "Europe/Berlin")
        #expect(config.server.logLevel == .debug)
        #expect(config.imap.listen == nil)
        #expect(config.imap.listenTLS == HostPort(host: "::1", port: 2993))
        #expect(config.imap.allowPlaintextAuth)
        #expect(config.audio.formats == [.opus, .mp3])
        #expect(config.audio.loudnessTargetLUFS == nil)
        #expect(config.audio.minSeconds == 2)
        #expect(config.audio.maxSeconds == 30.5)
        #expect(config.audio.tooLong == .reject)
        #expect(config.smtp.security == .tls)
        #expect(config.smtp.port == 465)
    }

    @Test func unknownKeyNamesFileLineAndKey() throws {
        let fixture = try ConfigFixture()
        let error = try #require(fixture.error("[server]\nhostname = \"a\"\n\n[imap]\nlisten_tsl = \"127.0.0.1:1\"\n"))
        #expect(error.source == fixture.directory + "/mailvox.toml")
        #expect(error.line == 5)
        #expect(error.key == "imap.listen_tsl")
        #expect(error.description == "\(fixture.directory)/mailvox.toml:5: imap.listen_tsl: unknown key")
    }

    @Test func unknownSectionIsAnError() throws {
        let error = try #require(try ConfigFixture().error("[server]\n[imapd]\nlisten = \"x:1\"\n"))
        #expect(error.key == "imapd")
        #expect(error.line == 2)
        #expect(error.message.contains("unknown section"))
    }

    @Test func topLevelKeyOutsideASectionIsAnError() throws {
        let error = try #require(try ConfigFixture().error("data_dir = \".\"\n"))
        #expect(error.key == "data_dir")
        #expect(error.line == 1)
    }

    @Test func wrongTypeNamesWhatWasExpected() throws {
        let fixture = try ConfigFixture()
        let error = try #require(fixture.error("[imap]\nmax_message_bytes = \"big\"\n"))
        #expect(error.key == "imap.max_message_bytes")
        #expect(error.line == 2)
        #expect(error.message == "expected an integer, found a string")
        let boolError = try #require(fixture.error("[http]\ntls = \"yes\"\n"))
        #expect(boolError.message == "expected a boolean, found a string")
        let listError = try #require(fixture.error("[audio]\nformats = \"mp3\"\n"))
        #expect(listError.message == "expected an array of strings, found a string")
    }

    @Test(arguments: ["1143", "localhost", "127.0.0.1:99999", "127.0.0.1:0", "::1:993", "host name:1"])
    func badHostPortIsAnError(_ value: String) throws {
        let error = try #require(try ConfigFixture().error("[imap]\nlisten = \"\(value)\"\n"))
        #expect(error.key == "imap.listen")
        #expect(error.line == 2)
        #expect(error.message.contains("is not host:port"))
    }

    @Test func badValuesAreErrors() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.error("[server]\ndefault_timezone = \"Mars/Olympus\"\n")?.key == "server.default_timezone")
        #expect(fixture.error("[server]\nlog_level = \"loud\"\n")?.message.contains("\"debug\"") == true)
        #expect(fixture.error("[audio]\nformats = [\"mp3\", \"aac\"]\n")?.key == "audio.formats")
        #expect(fixture.error("[audio]\nformats = []\n")?.key == "audio.formats")
        #expect(fixture.error("[audio]\nformats = [\"mp3\", \"mp3\"]\n")?.message.contains("twice") == true)
        #expect(fixture.error("[audio]\nloudness_target_lufs = 5\n")?.key == "audio.loudness_target_lufs")
        #expect(fixture.error("[queue]\nmax_attempts = 0\n")?.message.contains("out of range") == true)
        #expect(fixture.error("[sms]\nwebhook_url = \"ftp://x\"\n")?.key == "sms.webhook_url")
        #expect(fixture.error("[smtp]\nfrom = \"nobody\"\n")?.key == "smtp.from")
        #expect(fixture.error("[server]\nhostname = \"bad host\"\n")?.key == "server.hostname")
        #expect(fixture.error("[server]\ndata_dir = \"\"\n")?.key == "server.data_dir")
        #expect(fixture.error("[storage]\nbackend = \"mysql\"\n")?.message.contains("\"postgres\"") == true)
        #expect(fixture.error("[postgres]\nurl = \"mysql://db/x\"\n")?.key == "postgres.url")
        #expect(fixture.error("[postgres]\npool_size = 0\n")?.key == "postgres.pool_size")
        #expect(fixture.error("[blobs]\nbucket = \"Bad_Bucket\"\n")?.key == "blobs.bucket")
        #expect(fixture.error("[blobs]\nbucket = \"-edge\"\n")?.key == "blobs.bucket")
        #expect(fixture.error("[blobs]\nregion = \"us east\"\n")?.key == "blobs.region")
        #expect(fixture.error("[blobs]\nendpoint = \"s3.example.com\"\n")?.key == "blobs.endpoint")
        #expect(fixture.error("[blobs]\nbucket = \"voicemail-2026.eu\"\n") == nil)
    }

    /// A password in the URL would be printed wherever the URL is (logs, errors, `doctor`).
    @Test func aPostgresPasswordIsRefusedInTheURLAndNeverEchoed() throws {
        let fixture = try ConfigFixture()
        let error = try #require(fixture.error("[postgres]\nurl = \"postgres://mv:hunter2@db/mailvox\"\n"))
        #expect(error.key == "postgres.url")
        #expect(error.message.contains("password_file"))
        #expect(!error.description.contains("hunter2"))
        let fromEnvironment = try #require(
            fixture.error("", environment: ["MAILVOX_POSTGRES_URL": "postgres://mv:hunter2@db/mailvox"]))
        #expect(fromEnvironment.source == "MAILVOX_POSTGRES_URL" && !fromEnvironment.description.contains("hunter2"))
    }

    @Test func rulesAcrossKeysNameTheKeyToChange() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.error("[audio]\nmin_seconds = 10\nmax_seconds = 5\n")?.key == "audio.max_seconds")
        #expect(fixture.error("[smtp]\nhost = \"relay.example.com\"\nsecurity = \"none\"\n")?.key == "smtp.security")
        #expect(fixture.error("[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\n") == nil)
        #expect(fixture.error("[smtp]\nusername = \"u\"\n")?.key == "smtp.password_file")
        #expect(fixture.error("[sms]\nprovider = \"webhook\"\n")?.key == "sms.webhook_url")
        #expect(fixture.error("[sms]\nprovider = \"twilio\"\n")?.key == "sms.twilio_account_sid")
        #expect(fixture.error("[sms]\nprovider = \"email\"\n")?.key == "sms.email_gateway_domain")
        #expect(fixture.error("[storage]\nbackend = \"postgres\"\n")?.key == "postgres.url")
        #expect(fixture.error("[blobs]\nbackend = \"s3\"\n")?.key == "blobs.endpoint")
        #expect(
            fixture.error("[blobs]\nbackend = \"s3\"\nendpoint = \"https://s3.example.com\"\nbucket = \"voicemail\"\n")?
                .key
                == "blobs.access_key_file")
    }

    @Test func syntaxErrorCarriesTheParsersLine() throws {
        let error = try #require(try ConfigFixture().error("[server]\nhostname = \"a\"\nworkers = = 3\n"))
        #expect(error.line == 3)
        #expect(error.key == nil)
        #expect(error.message.hasPrefix("TOML syntax"))
    }

    @Test func missingConfigFileSaysHowToMakeOne() throws {
        let fixture = try ConfigFixture()
        #expect(throws: ConfigError.self) {
            try ConfigLoader.load(path: fixture.directory + "/absent.toml", environment: [:])
        }
        do {
            _ = try ConfigLoader.load(path: fixture.directory + "/absent.toml", environment: [:])
        } catch {
            #expect(error.message.contains("mailvox init"))
        }
    }

    @Test func configPathPrecedence() {
        #expect(ConfigLoader.configPath(option: "a.toml", environment: ["MAILVOX_CONFIG": "b.toml"]) == "a.toml")
        #expect(ConfigLoader.configPath(option: nil, environment: ["MAILVOX_CONFIG": "b.toml"]) == "b.toml")
        #expect(ConfigLoader.configPath(option: nil, environment: [:]) == "var/mailvox.toml")
    }
}

@Suite struct EnvironmentOverrideTests {
    @Test func overridesWinOverTheFile() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(
            "[imap]\nlisten_tls = \"127.0.0.1:1993\"\n[server]\nworkers = 2\n",
            environment: [
                "MAILVOX_IMAP_LISTEN_TLS": "127.0.0.1:2993",
                "MAILVOX_SERVER_WORKERS": "4",
                "MAILVOX_IMAP_ALLOW_PLAINTEXT_AUTH": "1",
                "MAILVOX_AUDIO_FORMATS": "mp3, opus",
                "MAILVOX_AUDIO_LOUDNESS_TARGET_LUFS": "off",
                "MAILVOX_HTTP_LISTEN": "",
                "MAILVOX_SERVER_DATA_DIR": "elsewhere",
            ])
        #expect(config.imap.listenTLS == HostPort(host: "127.0.0.1", port: 2993))
        #expect(config.server.workers == 4)
        #expect(config.imap.allowPlaintextAuth)
        #expect(config.audio.formats == [.mp3, .opus])
        #expect(config.audio.loudnessTargetLUFS == nil)
        #expect(config.http.listen == nil)
        #expect(config.server.dataDir == fixture.directory + "/elsewhere")
    }

    @Test func unknownKeyInAKnownSectionIsAnError() throws {
        let error = try #require(try ConfigFixture().error("", environment: ["MAILVOX_IMAP_LISTEN_TSL": "x:1"]))
        #expect(error.source == "MAILVOX_IMAP_LISTEN_TSL")
        #expect(error.key == "imap.listen_tsl")
        #expect(error.description == "MAILVOX_IMAP_LISTEN_TSL: imap.listen_tsl: unknown key")
    }

    @Test func badOverrideValueNamesTheVariable() throws {
        let error = try #require(try ConfigFixture().error("", environment: ["MAILVOX_SERVER_WORKERS": "many"]))
        #expect(error.source == "MAILVOX_SERVER_WORKERS")
        #expect(error.message == "expected an integer, found \"many\"")
    }

    @Test func theProgramsOwnVariablesAreNotOverrides() throws {
        let config = try ConfigFixture().load(
            "",
            environment: [
                "MAILVOX_CONFIG": "/x.toml", "MAILVOX_BIN": "/usr/bin/mailvox", "MAILVOX_UPDATE_GOLDEN": "1",
                "MAILVOXIMAP": "1",
            ])
        #expect(config.imap.listen == HostPort(host: "127.0.0.1", port: 1143))
        #expect(ConfigLoader.processVariables == ["MAILVOX_CONFIG", "MAILVOX_BIN", "MAILVOX_UPDATE_GOLDEN"])
    }

    /// A variable for a section that does not exist used to be ignored, so a typo left the
    /// file's value in force without a word.
    @Test(arguments: ["MAILVOX_STORAGES_BACKEND", "MAILVOX_IMAPP_LISTEN", "MAILVOX_LISTEN"])
    func anUnknownSectionIsAnErrorNamingTheVariable(name: String) throws {
        let error = try #require(try ConfigFixture().error("", environment: [name: "127.0.0.1:1"]))
        #expect(error.source == name)
        #expect(error.key == nil)
        #expect(error.description.hasPrefix("\(name): unknown section (known: server, imap, http,"), "\(error)")
    }

    /// Section names with `_` make `MAILVOX_A_B_C` ambiguous (`a_b.c` or `a.b_c`): the longest
    /// section whose rest is one of its keys wins, else a shorter one, else the longest is named.
    @Test func sectionsWithUnderscoresResolveAgainstTheKnownKeys() {
        func target(_ name: String, _ keys: [String: [String]]) -> ConfigLoader.OverrideTarget {
            ConfigLoader.overrideTarget(name, sections: ["a", "a_b", "b"]) { keys[$0]?.contains($1) == true }
        }
        let both = ["a": ["b_c"], "a_b": ["c"]]
        #expect(target("MAILVOX_A_B_C", both) == .setting(section: "a_b", key: "c"))
        #expect(target("MAILVOX_A_B_C", ["a": ["b_c"], "a_b": ["d"]]) == .setting(section: "a", key: "b_c"))
        #expect(target("MAILVOX_A_X", both) == .unknownKey(section: "a", key: "x"))
        #expect(target("MAILVOX_A_B_Z", both) == .unknownKey(section: "a_b", key: "z"))
        #expect(target("MAILVOX_AB_C", both) == .unknownSection)
        #expect(target("MAILVOX_C_D", both) == .unknownSection)
    }

    @Test func realKeysWithUnderscoresResolve() throws {
        let config = try ConfigFixture().load(
            "", environment: ["MAILVOX_SMTP_CA_FILE": "/etc/ca.pem", "MAILVOX_QUEUE_IDEMPOTENCY_DAYS": "3"])
        #expect(config.smtp.caFile == "/etc/ca.pem")
        #expect(config.queue.idempotencyDays == 3)
    }
}

@Suite struct KeyFileTests {
    func config(in fixture: ConfigFixture) throws -> Configuration { try fixture.load("") }

    @Test func missingKeyFileIsAnError() throws {
        let fixture = try ConfigFixture()
        let config = try config(in: fixture)
        #expect(throws: ConfigError.self) {
            try KeyFiles.check(config.crypto.masterKeyFile, key: "crypto.master_key_file", config: config)
        }
    }

    @Test func keyFileReadableByGroupOrOthersIsRefused() throws {
        let fixture = try ConfigFixture()
        let config = try config(in: fixture)
        let path = try fixture.write("secret\n", name: "secret")
        for mode in [0o640, 0o604, 0o660] {
            chmod(path, mode_t(mode))
            do {
                try KeyFiles.check(path, key: "smtp.password_file", config: config)
                Issue.record("mode \(String(mode, radix: 8)) was accepted")
            } catch {
                #expect(error.key == "smtp.password_file")
                #expect(error.message.contains("readable by group or others"))
                #expect(error.message.contains("chmod 600"))
            }
        }
        chmod(path, 0o600)
        #expect(try KeyFiles.readSecret(path, key: "smtp.password_file", config: config) == "secret")
    }

    @Test func secretFileGivenThroughTheConfigIsRead() throws {
        let fixture = try ConfigFixture()
        let secret = try fixture.write("  s3cret \nsecond line ignored\n", name: "relay.pass")
        chmod(secret, 0o600)
        let config = try fixture.load("[smtp]\nusername = \"vm\"\npassword_file = \"relay.pass\"\n")
        #expect(config.smtp.passwordFile == secret)
        #expect(try KeyFiles.readSecret(secret, key: "smtp.password_file", config: config) == "s3cret")
    }

    @Test func emptySecretFileIsAnError() throws {
        let fixture = try ConfigFixture()
        let path = try fixture.write("\n", name: "empty")
        chmod(path, 0o600)
        let config = try config(in: fixture)
        #expect(throws: ConfigError.self) {
            try KeyFiles.readSecret(path, key: "sms.webhook_secret_file", config: config)
        }
    }
}

@Suite struct ExampleConfigTests {
    static let examplePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Config/mailvox.example.toml").path

    /// The example documents every key with its default: loading it must give exactly the defaults.
    @Test func exampleParsesToTheDefaults() throws {
        let example = try ConfigLoader.load(path: Self.examplePath, environment: [:])
        let defaults = try ConfigLoader.parse(text: "", file: example.file, environment: [:])
        #expect(example == defaults)
    }

    @Test func exampleNamesEveryKey() throws {
        let text = try String(contentsOfFile: Self.examplePath, encoding: .utf8)
        var section = ""
        var documented: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("[") { section = String(line.dropFirst().prefix(while: { $0 != "]" })) }
            if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                documented.insert(section + "." + line[..<equals].trimmingCharacters(in: .whitespaces))
            }
        }
        // Every key the loader knows appears in the example: an unknown one would fail the load above.
        let keys = [
            "server.data_dir", "server.hostname", "server.workers", "server.run_jobs", "server.blocking_threads",
            "server.background_nice",
            "server.default_timezone", "server.min_free_bytes",
            "server.log_level", "imap.listen", "imap.listen_tls", "imap.allow_plaintext_auth", "imap.max_message_bytes",
            "http.listen", "http.tls", "http.max_body_bytes", "http.header_timeout_seconds", "web.enabled",
            "web.base_url",
            "web.idle_timeout_seconds", "web.max_session_seconds", "web.alert_links", "tls.certificate_file",
            "tls.private_key_file",
            "crypto.master_key_file", "auth.max_failures", "auth.max_failures_per_address",
            "auth.lockout_seconds", "audio.formats",
            "audio.mp3_bitrate_kbps", "audio.opus_bitrate_kbps", "audio.loudness_target_lufs", "audio.trim_silence",
            "audio.min_seconds", "audio.max_seconds", "audio.too_long", "intake.drop_dir", "intake.keep_processed",
            "inbound.smtp_listen", "inbound.smtps_listen", "inbound.lmtp_listen", "inbound.domains",
            "inbound.max_message_bytes", "inbound.require_auth", "inbound.trusted_networks", "inbound.max_recipients",
            "inbound.idle_timeout_seconds", "inbound.max_connections", "inbound.max_connections_per_address",
            "inbound.caller_patterns", "quota.default_mb", "quota.default_messages", "quota.warn_percent",
            "queue.max_attempts", "queue.backoff_initial_seconds", "queue.backoff_max_seconds",
            "queue.idempotency_days", "templates.dir", "smtp.host", "smtp.port", "smtp.security", "smtp.ca_file",
            "smtp.username", "smtp.password_file", "smtp.from", "sms.provider", "sms.max_length", "sms.webhook_url",
            "sms.webhook_secret_file", "sms.twilio_base_url", "sms.twilio_account_sid", "sms.twilio_auth_token_file",
            "sms.twilio_from", "sms.email_gateway_domain", "backup.warn_after_days",
            "retention.deleted_days", "retention.trash_days", "retention.inbox_days", "retention.saved_days",
            "audit.days", "storage.backend", "postgres.url", "postgres.password_file", "postgres.pool_size",
            "blobs.backend", "blobs.endpoint", "blobs.bucket", "blobs.region", "blobs.access_key_file",
            "blobs.secret_key_file", "blobs.path_style", "blobs.cache_mb",
        ]
        #expect(Set(keys) == documented)
        for key in keys {
            let parts = key.split(separator: ".")
            let environment = ["MAILVOX_\(parts[0].uppercased())_\(parts[1].uppercased())": "x"]
            // Each key is also an override: the error, if any, is about the value, never "unknown key".
            let error = try? ConfigFixture().error("", environment: environment)
            #expect(error?.message != "unknown key", "\(key) is not an override")
        }
    }
}

@Suite struct InboundConfigTests {
    @Test func listenersDomainsNetworksAndPatternsParse() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load(
            """
            [server]
            hostname = "pbx.example.com"
            [inbound]
            smtp_listen = "127.0.0.1:2525"
            lmtp_listen = "/run/mailvox/lmtp.sock"
            domains = ["Voice.Example.com", "example.org"]
            trusted_networks = ["10.0.0.0/8", "2001:db8::/32"]
            caller_patterns = ["@3cx.example.com ^VM from (?<name>.+) <(?<number>[0-9]+)>"]
            """)
        #expect(config.inbound.smtpListen == HostPort(host: "127.0.0.1", port: 2525))
        #expect(config.inbound.lmtpListen == .unix(path: "/run/mailvox/lmtp.sock"))
        #expect(config.inboundDomains == ["voice.example.com", "example.org"])
        #expect(config.inbound.trustedNetworks.map(\.description) == ["10.0.0.0/8", "2001:db8::/32"])
        #expect(config.inbound.callerPatterns.first?.applies(to: "pbx@3cx.example.com") == true)
        #expect(config.inbound.callerPatterns.first?.applies(to: "pbx@other.example") == false)
        // Without domains, the server's own name is the one domain.
        let plain = try fixture.load("[server]\nhostname = \"Mail.Example.com\"\n")
        #expect(plain.inboundDomains == ["mail.example.com"])
    }

    @Test(arguments: [
        ("lmtp_listen = \"nowhere\"", "neither host:port"),
        ("trusted_networks = [\"10.0.0.0/33\"]", "not an address or CIDR"),
        ("domains = [\"bad domain\"]", "not a domain name"),
        ("caller_patterns = [\"* (?<number>[0-9\"]", "not a regular expression"),
        ("caller_patterns = [\"* [0-9]+\"]", "needs a (?<number>"),
        ("caller_patterns = [\"nosender\"]", "SENDER REGEX"),
    ])
    func badValuesAreRefusedWithTheirReason(line: String, reason: String) throws {
        let error = try ConfigFixture().error("[inbound]\n\(line)\n", environment: [:])
        #expect(error?.message.contains(reason) == true, "\(String(describing: error?.message))")
    }

    @Test func environmentOverridesTheListener() throws {
        let fixture = try ConfigFixture()
        let config = try fixture.load("", environment: ["MAILVOX_INBOUND_SMTP_LISTEN": "127.0.0.1:2526"])
        #expect(config.inbound.smtpListen?.port == 2526)
    }
}
