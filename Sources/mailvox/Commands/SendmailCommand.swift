import ArgumentParser
import Foundation
import Logging
import MailvoxCore
import MailvoxMIME
import MailvoxPipeline
import MailvoxSMTPCore
import MailvoxServer

/// `mailvox sendmail`: the sendmail command line PBXs already call (Asterisk's `mailcmd`,
/// FreeSWITCH's `mailer-app`), handing the message to the same `MailGateway` as the SMTP door.
/// Like `mailvox deposit` it needs no running server and no secret: the voicemail is sealed
/// into the queue, and `serve` delivers it.
///
/// Exit codes are sendmail's (sysexits.h), which the callers understand: 0 taken, 64 usage,
/// 65 the message is not a usable voicemail, 67 unknown recipient, 75 try again later,
/// 78 configuration.
struct SendmailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sendmail",
        abstract: "Take a voicemail email on standard input, as sendmail does (for a PBX's mailcmd).",
        discussion: """
            Options as sendmail's: -t (recipients from To, Cc and Bcc), -f ADDRESS (sender), -F NAME, \
            -i or -oi (a line with a single dot does not end the message); other -o, -B and -b options \
            are accepted and ignored. Recipients are mailbox ids, ID@domain or aliases. Without \
            --config: $MAILVOX_CONFIG, else var/mailvox.toml, else /etc/mailvox/mailvox.toml.
            """)

    static let exUsage: Int32 = 64
    static let exDataErr: Int32 = 65
    static let exNoUser: Int32 = 67
    static let exSoftware: Int32 = 70
    static let exTempFail: Int32 = 75
    static let exConfig: Int32 = 78

    @OptionGroup var options: ConfigOption
    @Argument(parsing: .allUnrecognized, help: "sendmail options and recipients.") var arguments: [String] = []

    /// The parsed sendmail command line.
    struct Invocation: Equatable {
        var recipients: [String] = []
        var fromHeaders = false
        var sender: String?
        var dotEnds = true
    }

    static func parse(_ arguments: [String]) throws -> Invocation {
        var invocation = Invocation()
        var index = 0
        var optionsDone = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard !optionsDone, argument.hasPrefix("-"), argument.count > 1 else {
                invocation.recipients += argument.split(separator: ",").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty }
                continue
            }
            switch argument {
            case "--": optionsDone = true
            case "-t": invocation.fromHeaders = true
            case "-i", "-oi": invocation.dotEnds = false
            case "-f", "-r", "-F":
                guard index < arguments.count else { throw UsageFailure(description: "\(argument) needs a value") }
                if argument != "-F" { invocation.sender = arguments[index] }
                index += 1
            case "-bs", "-bd", "-bp", "-bi", "-q":
                throw UsageFailure(description: "\(argument) is not supported: mailvox sendmail only takes a message")
            default:
                if argument.hasPrefix("-f") || argument.hasPrefix("-r") {
                    invocation.sender = String(argument.dropFirst(2))
                } else if argument.hasPrefix("-o") || argument.hasPrefix("-B") || argument.hasPrefix("-b")
                    || argument.hasPrefix("-F") || argument.hasPrefix("-N") || argument.hasPrefix("-R")
                    || argument.hasPrefix("-V") || argument.hasPrefix("-X") || argument == "-v" || argument == "-m"
                    || argument == "-U" || argument == "-G"
                {
                    // Delivery-mode and queue options of sendmail: meaningless here, harmless.
                } else {
                    throw UsageFailure(description: "unknown option \(argument)")
                }
            }
        }
        return invocation
    }

    /// Standard input as a message: line ends made CRLF, an mbox `From ` line dropped, and a
    /// line with a single dot ending it unless -i was given. Nil when it exceeds `limit`.
    static func message(from input: Data, dotEnds: Bool, limit: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(input.count + input.count / 32)
        var lines = input.split(separator: 0x0A, omittingEmptySubsequences: false)
        // After a final newline `split` leaves an empty piece: not a line of its own.
        if input.last == 0x0A { lines.removeLast() }
        var first = true
        for var line in lines {
            if line.last == 0x0D { line = line.dropLast() }
            if first && line.starts(with: Array("From ".utf8)) {
                first = false
                continue
            }
            first = false
            if dotEnds && line.elementsEqual([UInt8(ascii: ".")]) { break }
            out.append(contentsOf: line)
            out.append(contentsOf: [0x0D, 0x0A])
            if out.count > limit + 2 { return nil }
        }
        return out
    }

    /// Standard input, but never more than `count` octets in memory: a message past the limit
    /// is refused by its size, whatever else follows.
    static func readInput(atMost count: Int) -> Data {
        var input = Data()
        while input.count < count {
            guard let chunk = try? FileHandle.standardInput.read(upToCount: min(1 << 20, count - input.count)),
                !chunk.isEmpty
            else { break }
            input.append(chunk)
        }
        return input
    }

    static func exitCode(for reply: SMTPReply) -> Int32 {
        if reply.isPositive { return 0 }
        if reply.isTransient { return exTempFail }
        switch reply.enhanced {
        case "5.1.1", "5.1.2", "5.7.1", "5.1.3": return exNoUser
        default: return exDataErr
        }
    }

    func run() async throws {
        let code = send()
        if code != 0 { throw ExitCode(code) }
    }

    /// The whole command, blocking from start to end as a sendmail is (a process of its own,
    /// no event loop to hold up); its exit code.
    func send() -> Int32 {
        let invocation: Invocation
        do {
            invocation = try Self.parse(arguments)
        } catch {
            printError("sendmail: \(error)")
            return Self.exUsage
        }
        var path = options.path
        if options.config == nil, ProcessInfo.processInfo.environment["MAILVOX_CONFIG"] == nil,
            !FileManager.default.fileExists(atPath: path),
            FileManager.default.fileExists(atPath: "/etc/mailvox/mailvox.toml")
        {
            path = "/etc/mailvox/mailvox.toml"
        }
        let context: Context
        do {
            context = try Context.open(configPath: path, needs: .noSecret)
        } catch {
            printError("sendmail: \(error)")
            return Self.exConfig
        }
        let limit = context.config.inbound.maxMessageBytes
        guard
            let bytes = Self.message(from: Self.readInput(atMost: limit + 1), dotEnds: invocation.dotEnds, limit: limit)
        else {
            printError("sendmail: \(SMTPReply.tooBig(limit: limit))")
            return Self.exDataErr
        }
        var recipients = invocation.recipients
        if invocation.fromHeaders {
            guard let mail = try? InboundMail(bytes: bytes, limits: MessageLimits(maxBytes: limit)) else {
                printError("sendmail: the message cannot be parsed for -t")
                return Self.exDataErr
            }
            let envelope = mail.structure.envelope
            for address in envelope.to + envelope.cc + envelope.bcc {
                guard let mailbox = address.mailbox else { continue }
                recipients.append(address.host.map { "\(mailbox)@\($0)" } ?? mailbox)
            }
        }
        guard !recipients.isEmpty else {
            printError("sendmail: no recipients (give them as arguments, or -t to read To, Cc and Bcc)")
            return Self.exUsage
        }
        var logger = Logger(label: "mailvox.sendmail")
        logger.logLevel = .warning
        let gateway = context.mailGateway(logger: logger)
        var mailboxes: [MailboxID] = []
        var worst: Int32 = 0
        func record(_ recipient: String, _ reply: SMTPReply) {
            let code = Self.exitCode(for: reply)
            guard code != 0 else { return }
            printError("sendmail: \(recipient): \(reply)")
            // A temporary failure wins: the caller should try the whole message again.
            if worst != Self.exTempFail { worst = code == Self.exTempFail || worst == 0 ? code : worst }
        }
        for recipient in recipients {
            let text =
                recipient.hasPrefix("<") && recipient.hasSuffix(">")
                ? String(recipient.dropFirst().dropLast()) : recipient
            guard let address = SMTPAddress.parse(text[...]) else {
                record(recipient, SMTPReply(553, "5.1.3", "Bad address syntax"))
                continue
            }
            do {
                switch try gateway.resolve(address) {
                case .mailbox(let id): mailboxes.append(id)
                case .refused(let reply): record(recipient, reply)
                }
            } catch {
                record(recipient, .temporaryFailure)
            }
        }
        guard !mailboxes.isEmpty else { return worst == 0 ? Self.exNoUser : worst }
        let sender = invocation.sender.flatMap { SMTPAddress.parse($0[...]) }
        let replies = gateway.deliver(bytes, to: mailboxes, sender: sender)
        for (mailbox, reply) in zip(mailboxes, replies) { record(mailbox.rawValue, reply) }
        return worst
    }
}
