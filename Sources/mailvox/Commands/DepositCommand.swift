import ArgumentParser
import Foundation
import MailvoxAudio
import MailvoxCore
import MailvoxPipeline
import MailvoxServer

struct DepositCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deposit",
        abstract: "Queue a recorded voicemail for a mailbox (needs no secret; the server delivers it).",
        discussion: """
            Exits 0 only once the deposit is durable, printing its id as the last line. A running \
            `mailvox serve` picks it up within a second; without one it waits for the next start. \
            FILE - reads standard input.
            """)

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "The mailbox to deposit to.") var mailbox: String
    @Option(name: .long, help: "Caller number as the PBX sent it (E.164, national or extension).") var callerNumber:
        String?
    @Option(name: .long, help: "Caller name.") var callerName: String?
    @Option(name: .long, help: "Time of the call, ISO 8601 (without an offset: server.default_timezone).")
    var received: String?
    @Flag(name: .long, help: "Mark the voicemail urgent.") var urgent = false
    @Option(name: .long, help: "A key that makes retries safe: the same key deposits once.") var idempotencyKey: String?
    @Option(name: .long, help: "Raw format of a headerless file: ulaw, alaw, sln, sln16, gsm.") var format: String?
    @Argument(help: "The recording, or - for standard input.") var file: String

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .noSecret)
        var rawFormat: RawFormat?
        if let format {
            guard let parsed = RawFormat(rawValue: format) else {
                throw UsageFailure(description: "--format: \"\(format)\" is not one of ulaw, alaw, sln, sln16, gsm")
            }
            rawFormat = parsed
        }
        var receivedAt: Date?
        if let received {
            guard let date = ISO8601.parse(received, defaultTimeZone: context.config.server.defaultTimezone) else {
                throw UsageFailure(description: "--received: \"\(received)\" is not an ISO 8601 date and time")
            }
            receivedAt = date
        }
        let audio: DepositRequest.Audio =
            file == "-"
            ? .bytes(FileHandle.standardInput.readDataToEndOfFile(), fileExtension: rawFormat?.rawValue ?? "")
            : .file(path: file)
        let receipt = try context.intake().deposit(
            DepositRequest(
                mailbox: mailbox, audio: audio, format: rawFormat, callerNumber: callerNumber, callerName: callerName,
                receivedAt: receivedAt, urgent: urgent, idempotencyKey: idempotencyKey))
        if receipt.duplicate { print("idempotency key seen before: the first deposit's id follows") }
        print(receipt.depositID)
    }
}
