import ArgumentParser
import Foundation
import MailvoxPipeline
import MailvoxQueue
import MailvoxServer

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect and steer queued jobs.",
        subcommands: [QueueList.self, QueueRetry.self, QueueDrop.self])
}

struct QueueList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List waiting jobs (or dead ones).")

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "List dead-lettered jobs instead.") var dead = false
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let jobs = try context.jobQueue().jobs(dead: dead)
        if json {
            try printJSON(jobs)
            return
        }
        let dates = ISO8601DateFormatter()
        printTable(
            jobs.map { job in
                [
                    "\(job.id)", job.kind.rawValue, job.state.rawValue, job.mailbox.rawValue, job.depositID,
                    job.channel?.rawValue ?? "-", "\(job.attempts)", dates.string(from: job.runAfter),
                    job.lastError ?? "",
                ]
            }, header: ["JOB", "KIND", "STATE", "MAILBOX", "DEPOSIT", "CHANNEL", "ATTEMPTS", "RUN AFTER", "LAST ERROR"])
    }
}

struct QueueRetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Run a job (or every dead job) again now.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The job id.") var job: Int64?
    @Flag(name: .long, help: "Retry every dead job.") var allDead = false

    func validate() throws {
        guard (job != nil) != allDead else { throw ValidationError("give a JOB or --all-dead") }
    }

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let queue = context.jobQueue()
        let ids = allDead ? try queue.jobs(dead: true).map(\.id) : [job!]
        for id in ids {
            guard let found = try queue.job(id: id) else { throw QueueError.noSuchJob(id) }
            try queue.retry(id: id)
            if found.kind == .deliver { try queue.setDeposit(found.depositID, status: .queued) }
        }
        print("\(ids.count) job\(ids.count == 1 ? "" : "s") queued again")
    }
}

struct QueueDrop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "drop", abstract: "Remove a job for good.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The job id.") var job: Int64

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let queue = context.jobQueue()
        let dropped = try queue.drop(id: job)
        if dropped.kind == .deliver {
            try queue.setDeposit(
                dropped.depositID, status: .failed, code: "dropped", message: "dropped by an administrator")
            try? context.queueFiles.remove(QueueFiles.deposit(dropped.depositID))
        }
        print("job \(job) dropped")
    }
}
