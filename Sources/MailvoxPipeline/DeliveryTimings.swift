import Foundation
import Synchronization

/// CPU seconds per stage of delivery, summed over the jobs the workers ran: where a
/// voicemail's cost goes (`make bench`'s pipeline table).
public final class DeliveryTimings: Sendable {
    public enum Stage: String, CaseIterable, Sendable {
        /// Opening the sealed deposit.
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

/// Laps of one job's stages into `DeliveryTimings` (or nowhere).
struct StageClock {
    let timings: DeliveryTimings?
    var last = DeliveryTimings.threadCPUSeconds()

    init(_ timings: DeliveryTimings?) { self.timings = timings }

    mutating func lap(_ stage: DeliveryTimings.Stage) {
        guard let timings else { return }
        let now = DeliveryTimings.threadCPUSeconds()
        timings.add(stage, seconds: now - last)
        last = now
    }
}
