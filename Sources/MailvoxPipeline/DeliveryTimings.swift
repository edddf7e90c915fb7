import Foundation
import Synchronization

/// CPU seconds per stage of delivery, summed over the jobs the workers ran: where a
/// voicemail's cost goes (`make bench`'s pipeline table).
public final class DeliveryTimings: Sendable {
    public enum Stage: String, CaseIterable, Sendable {
        /// Reading (from the queue directory or the bucket) and opening the sealed deposit.
        case open
        case transcode
        /// Rendering the templates and composing the MIME message.
        case compose
        /// Sealing to the owner, the durable Maildir write and the index row.
        case store
        /// Alert jobs, the deposit record, removing the sealed deposit.
        case finish
    }

    private let totals = Mutex<[Stage: Double]>([:])

    public init() {}

    public func add(_ stage: Stage, seconds: Double) {
        totals.withLock { $0[stage, default: 0] += seconds }
    }

    /// Seconds per stage so far.
    public var snapshot: [Stage: Double] { totals.withLock { $0 } }

    /// CPU time of the calling thread: a worker's stages run on one thread, so laps between
    /// readings are that stage's own CPU, whatever else the machine does.
    public static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Laps of one job's stages: their CPU into `DeliveryTimings` (when given), their wall time
/// kept for the job's debug log line (on PostgreSQL and S3 a stage mostly waits on the network,
/// which CPU time does not show).
struct StageClock {
    let timings: DeliveryTimings?
    var last = DeliveryTimings.threadCPUSeconds()
    var lastWall = ContinuousClock.now
    private(set) var walls: [(stage: DeliveryTimings.Stage, time: Duration)] = []

    init(_ timings: DeliveryTimings?) { self.timings = timings }

    mutating func lap(_ stage: DeliveryTimings.Stage) {
        let wall = ContinuousClock.now
        walls.append((stage, wall - lastWall))
        lastWall = wall
        guard let timings else { return }
        let now = DeliveryTimings.threadCPUSeconds()
        timings.add(stage, seconds: now - last)
        last = now
    }

    /// "open=1.2 transcode=3.4 …": milliseconds of wall time per stage.
    var wallMilliseconds: String {
        walls.map { lap in
            let ms = Double(lap.time.components.attoseconds) / 1e15 + Double(lap.time.components.seconds) * 1000
            return "\(lap.stage.rawValue)=\(String(format: "%.1f", ms))"
        }.joined(separator: " ")
    }
}
