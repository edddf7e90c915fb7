import Foundation
import MailvoxCore
import TOMLKit

/// Reads the config file and the `MAILVOX_*` overrides into a checked `Configuration`.
public enum ConfigLoader {
    /// The variable naming the config file; reserved, never an override.
    public static let configPathVariable = "MAILVOX_CONFIG"

    /// The config path the CLI uses: `--config`, else `MAILVOX_CONFIG`, else `var/mailvox.toml`.
    public static func configPath(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let path = environment[configPathVariable], !path.isEmpty { return path }
        return "var/mailvox.toml"
    }

    /// Loads `path` and applies the overrides in `environment`.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> Configuration {
        let file = resolve(path, against: FileManager.default.currentDirectoryPath)
        guard FileManager.default.fileExists(atPath: file) else {
            throw ConfigError(
                source: file,
                message: "no such config file (run `mailvox init --data-dir DIR` first, or pass --config PATH)")
        }
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(source: file, message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text: text, file: file, environment: environment)
    }

    /// Parses config `text` as if read from `file` (absolute), then applies the overrides.
    public static func parse(
        text: String, file: String, environment: [String: String]
    ) throws(ConfigError)
        -> Configuration
    {
        let directory = (file as NSString).deletingLastPathComponent
        let positions = KeyPositions(text: text)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(source: file, line: error.source.begin.line, message: "TOML syntax: \(error.description)")
        } catch {
            throw ConfigError(source: file, message: "TOML syntax: \(error)")
        }

        var config = Configuration(file: file)
        resolveDefaultPaths(&config, against: directory)

        for section in table.keys {
            guard Settings.sections.contains(section) else {
                throw ConfigError(
                    source: file, line: positions.line(of: section), key: section,
                    message: "unknown section (known: \(Settings.sections.joined(separator: ", ")))")
            }
            guard let sectionTable = table[section]?.table else {
                throw ConfigError(
                    source: file, line: positions.line(of: section), key: section, message: "must be a [table]")
            }
            for key in sectionTable.keys {
                let path = section + "." + key
                guard let setting = Settings.setting(section: section, key: key) else {
                    throw ConfigError(source: file, line: positions.line(of: path), key: path, message: "unknown key")
                }
                do {
                    try setting.apply(&config, RawValue(sectionTable[key]!), directory)
                } catch {
                    throw ConfigError(source: file, line: positions.line(of: path), key: path, message: error.message)
                }
            }
        }

        try applyOverrides(&config, environment: environment, directory: directory)
        try checkCombinations(config)
        return config
    }

    /// Variables named `MAILVOX_…` that the programs read themselves: never config overrides.
    /// Every other `MAILVOX_*` variable must name a key, so a typo is an error, not silence.
    /// - `MAILVOX_CONFIG`: the config file's path (`configPath`).
    /// - `MAILVOX_BIN`: the built binary the CLI tests and benchmarks run (Makefile, Tests/).
    /// - `MAILVOX_UPDATE_GOLDEN`: rewrites the MIME tests' golden files (Tests/MailvoxMIMETests).
    public static let processVariables: Set<String> = [configPathVariable, "MAILVOX_BIN", "MAILVOX_UPDATE_GOLDEN"]

    /// The prefix of every override: `MAILVOX_<SECTION>_<KEY>`.
    static let overridePrefix = "MAILVOX_"

    /// What an override variable names, or why it names nothing.
    enum OverrideTarget: Equatable {
        case setting(section: String, key: String)
        /// It starts with a known section but no key of it matches (the longest such section).
        case unknownKey(section: String, key: String)
        case unknownSection
    }

    /// Resolves `MAILVOX_<SECTION>_<KEY>` against the known keys. A section name may contain
    /// `_`, so `MAILVOX_A_B_C` can be `a_b.c` or `a.b_c`: sections are tried longest first,
    /// and the first whose rest is one of its keys wins.
    static func overrideTarget(
        _ name: String, sections: [String], isKey: (_ section: String, _ key: String) -> Bool
    ) -> OverrideTarget {
        let rest = name.dropFirst(overridePrefix.count)
        let candidates = sections.filter { rest.hasPrefix($0.uppercased() + "_") }
            .sorted { $0.count > $1.count }
        for section in candidates {
            let key = rest.dropFirst(section.count + 1).lowercased()
            if isKey(section, key) { return .setting(section: section, key: key) }
        }
        guard let longest = candidates.first else { return .unknownSection }
        return .unknownKey(section: longest, key: rest.dropFirst(longest.count + 1).lowercased())
    }

    /// `MAILVOX_<SECTION>_<KEY>=value`. Every `MAILVOX_*` variable except `processVariables`
    /// must name a key: an unknown section or key is an error naming the variable, as a typo
    /// (`MAILVOX_IMAPP_LISTEN`) would otherwise be silently ignored.
    private static func applyOverrides(
        _ config: inout Configuration, environment: [String: String], directory: String
    ) throws(ConfigError) {
        for (name, value) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix(overridePrefix) && !processVariables.contains(name) {
            let setting: Setting
            switch overrideTarget(
                name, sections: Settings.sections, isKey: { Settings.setting(section: $0, key: $1) != nil })
            {
            case .setting(let section, let key):
                setting = Settings.setting(section: section, key: key)!
            case .unknownKey(let section, let key):
                throw ConfigError(source: name, key: section + "." + key, message: "unknown key")
            case .unknownSection:
                throw ConfigError(
                    source: name, message: "unknown section (known: \(Settings.sections.joined(separator: ", ")))")
            }
            do {
                try setting.apply(&config, .environment(value), directory)
            } catch {
                throw ConfigError(source: name, key: setting.path, message: error.message)
            }
        }
    }

    private static func resolveDefaultPaths(_ config: inout Configuration, against directory: String) {
        config.server.dataDir = resolve(config.server.dataDir, against: directory)
        config.tls.certificateFile = resolve(config.tls.certificateFile, against: directory)
        config.tls.privateKeyFile = resolve(config.tls.privateKeyFile, against: directory)
        config.crypto.masterKeyFile = resolve(config.crypto.masterKeyFile, against: directory)
    }

    /// Rules that span keys: each names the key to change.
    private static func checkCombinations(_ config: Configuration) throws(ConfigError) {
        func fail(_ key: String, _ message: String) -> ConfigError {
            ConfigError(source: config.file, key: key, message: message)
        }
        if config.audio.maxSeconds <= config.audio.minSeconds {
            throw fail("audio.max_seconds", "must be greater than audio.min_seconds (\(config.audio.minSeconds))")
        }
        if config.queue.backoffMaxSeconds < config.queue.backoffInitialSeconds {
            throw fail("queue.backoff_max_seconds", "must not be less than queue.backoff_initial_seconds")
        }
        if config.smtp.security == .none && !HostPort(host: config.smtp.host, port: config.smtp.port).isLoopback {
            throw fail("smtp.security", "\"none\" sends mail in clear text and is allowed only to a loopback relay")
        }
        if !config.smtp.username.isEmpty && config.smtp.passwordFile == nil {
            throw fail("smtp.password_file", "is required when smtp.username is set")
        }
        switch config.sms.provider {
        case .none: break
        case .webhook:
            if config.sms.webhookURL.isEmpty {
                throw fail("sms.webhook_url", "is required when sms.provider = \"webhook\"")
            }
            if config.sms.webhookSecretFile == nil {
                throw fail("sms.webhook_secret_file", "is required when sms.provider = \"webhook\"")
            }
        case .twilio:
            if config.sms.twilioAccountSID.isEmpty {
                throw fail("sms.twilio_account_sid", "is required when sms.provider = \"twilio\"")
            }
            if config.sms.twilioAuthTokenFile == nil {
                throw fail("sms.twilio_auth_token_file", "is required when sms.provider = \"twilio\"")
            }
            if config.sms.twilioFrom.isEmpty {
                throw fail("sms.twilio_from", "is required when sms.provider = \"twilio\"")
            }
        case .email:
            if config.sms.emailGatewayDomain.isEmpty {
                throw fail("sms.email_gateway_domain", "is required when sms.provider = \"email\"")
            }
        }
        if config.storage.backend == .postgres && config.postgres.url.isEmpty {
            throw fail("postgres.url", "is required when storage.backend = \"postgres\"")
        }
        if config.blobs.backend == .s3 {
            for (key, missing) in [
                ("blobs.endpoint", config.blobs.endpoint.isEmpty), ("blobs.bucket", config.blobs.bucket.isEmpty),
                ("blobs.access_key_file", config.blobs.accessKeyFile == nil),
                ("blobs.secret_key_file", config.blobs.secretKeyFile == nil),
            ] where missing {
                throw fail(key, "is required when blobs.backend = \"s3\"")
            }
        }
    }
}

extension RawValue {
    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .string: self = .string(value.string ?? "")
        case .int: self = .int(value.int ?? 0)
        case .double: self = .double(value.double ?? 0)
        case .bool: self = .bool(value.bool ?? false)
        case .array: self = .array((value.array.map { Array($0) } ?? []).map { RawValue($0) })
        case .table: self = .other(typeName: "a table")
        case .date, .time, .dateTime: self = .other(typeName: "a date or time")
        }
    }
}
