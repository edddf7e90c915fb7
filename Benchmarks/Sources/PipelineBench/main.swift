// PipelineBench: what a voicemail costs end to end. 30-second recordings go through the
// real intake (validate, probe, seal to the node key, queue) and the real deliver workers
// (open, transcode, compose, seal to the owner, Maildir + index) of a data dir made by
// `mailvox init`'s code; the same files are transcoded alone in the same run, which is the
// floor (goal: pipeline CPU ≤ 1.15 × pure transcode CPU; docs/AUDIO.md).
//
// Prints: sustained deposits/s with the default worker count, p50/p99 latency from the
// accepted deposit to the stored message (deposits arriving at 70 % of that rate), and
// the CPU seconds per deposit of each stage.
import Foundation
import GRDB
import Logging
import MailvoxAudio
import MailvoxCore
import MailvoxCrypto
import MailvoxPipeline
import MailvoxServer
import MailvoxStore
import MailvoxTemplates
import Synchronization

func shell(_ command: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
}

func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func now() -> Double { Date().timeIntervalSince1970 }

let count = Int(ProcessInfo.processInfo.environment["PIPELINE_BENCH_DEPOSITS"] ?? "") ?? 24
let root = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-pipebench-\(UUID())").path
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: root) }

// A 30-second call: speech, repeated, at the PBX's 8 kHz.
let recording = root + "/call.wav"
try shell(
    "espeak-ng -w \(root)/speech.wav 'Hello, this is Ada from accounts. Please call me back about the invoice for November, the number is on the letter.' && sox \(root)/speech.wav -r 8000 -c 1 \(recording) repeat 8 trim 0 30"
)

let report = try Initializer.run(dataDir: root + "/var", hostname: "bench.localhost")
let context = try Context.open(configPath: report.configPath, needs: .masterKey)
let master = context.requireMasterKey()
try context.directory.addMailbox(
    id: MailboxID("1000")!,
    settings: MailboxSettings(name: "Front Desk", emails: [EmailAddress("desk@example.com")!]),
    password: "long-enough-1", master: master)
let templates = try VoicemailTemplates(searchPath: .standard(for: context.config))
let nodeKey = try context.directory.nodeKey(master: master)
let intake = context.intake()
let timings = DeliveryTimings()
let workerCount =
    Int(ProcessInfo.processInfo.environment["PIPELINE_BENCH_WORKERS"] ?? "")
    ?? ProcessInfo.processInfo.activeProcessorCount
var quiet = Logger(label: "bench")
quiet.logLevel = .warning
let workers = (0..<workerCount).map { index in
    DeliverWorker(
        config: context.config, directory: context.directory, store: context.makeMessageStore(),
        queue: context.jobQueue(), templates: templates, nodeKey: nodeKey, owner: "bench:\(index)",
        logger: quiet, timings: timings)
}

// The floor: the same file transcoded to the same formats, nothing else; measured before
// and after the pipeline runs and averaged, since this machine's speed drifts.
let options = TranscodeOptions(context.config.audio)
func pureTranscodeCPU() throws -> Double {
    // As many at once as there are workers: two transcodes on two cores each cost more CPU
    // than one alone (shared caches), and the pipeline runs them that way too.
    let start = processCPU()
    DispatchQueue.concurrentPerform(iterations: workerCount) { worker in
        for index in stride(from: worker, to: count, by: workerCount) {
            let targets = context.config.audio.formats.map {
                TranscodeTarget($0, path: "\(root)/pure-\(index).\($0.rawValue)")
            }
            _ = try? Transcoder.transcode(input: recording, format: nil, to: targets, options: options)
            for target in targets { unlink(target.path) }
        }
    }
    return (processCPU() - start) / Double(count)
}
let transcodeBefore = try pureTranscodeCPU()

func deposit(_ index: Int) throws -> String {
    try intake.deposit(
        DepositRequest(
            mailbox: "1000", audio: .file(path: recording), callerNumber: "+4930123456",
            callerName: "Ada Lovelace", idempotencyKey: "bench-\(UUID())")
    ).depositID
}

/// Runs every worker on its own thread until `done` says stop and no job is due.
func runWorkers(until done: @escaping @Sendable () -> Bool) {
    DispatchQueue.concurrentPerform(iterations: workers.count) { index in
        while true {
            let ran = (try? workers[index].runOnce()) ?? false
            if !ran {
                if done() { return }
                usleep(5_000)
            }
        }
    }
}

// 1. Capacity: a burst of deposits, drained by the workers.
let intakeStart = processCPU()
for index in 0..<count { _ = try deposit(index) }
let intakeCPU = (processCPU() - intakeStart) / Double(count)
let burstStart = now()
let burstCPUStart = processCPU()
runWorkers { true }
let burstSeconds = now() - burstStart
let deliverCPU = (processCPU() - burstCPUStart) / Double(count)
let rate = Double(count) / burstSeconds
let stages = timings.snapshot

// 2. Latency: deposits arriving steadily at 70 % of that rate while the workers run.
let interval = 1 / (rate * 0.7)
let submitted = Mutex<Int>(0)
let depositor = Thread {
    for index in 0..<count {
        _ = try? deposit(index)
        submitted.withLock { $0 += 1 }
        Thread.sleep(forTimeInterval: interval)
    }
}
let latencyStart = now()
depositor.start()
runWorkers { submitted.withLock { $0 } == count }
let latencies = try context.requireSQLiteFile(for: "PipelineBench").read { db in
    try Double.fetchAll(
        db, sql: "SELECT updated_at - created_at FROM deposit WHERE status = 'delivered' AND created_at >= ?",
        arguments: [latencyStart])
}.sorted()
func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }

let transcodeAfter = try pureTranscodeCPU()
let transcodeCPU = (transcodeBefore + transcodeAfter) / 2
let pipelineCPU = intakeCPU + deliverCPU
print(
    "pipeline: \(count) deposits of a 30 s 8 kHz recording → \(context.config.audio.formats.map(\.rawValue)), \(workerCount) workers"
)
print(String(format: "sustained  %.2f deposits/s (burst of %d drained in %.2f s)", rate, count, burstSeconds))
print(
    String(
        format: "latency    accepted → stored at %.2f/s arriving: p50 %.0f ms, p99 %.0f ms (%d delivered)", rate * 0.7,
        percentile(0.5) * 1000, percentile(0.99) * 1000, latencies.count))
print("CPU per deposit, by stage (seconds):")
print(String(format: "  intake (validate, probe, seal to node) %.4f", intakeCPU))
for stage in DeliveryTimings.Stage.allCases {
    let name = "deliver: " + stage.rawValue
    print(
        "  " + name.padding(toLength: 39, withPad: " ", startingAt: 0)
            + String(format: "%.4f", (stages[stage] ?? 0) / Double(count)))
}
print(String(format: "  pipeline total (process CPU)          %.4f", pipelineCPU))
print(
    String(
        format: "  pure transcode, same file and formats %.4f (%.4f before, %.4f after)", transcodeCPU,
        transcodeBefore, transcodeAfter))
print(String(format: "ratio pipeline / transcode: %.2f (goal ≤ 1.15)", pipelineCPU / transcodeCPU))
