import Foundation
import MailvoxStore
import Synchronization

/// A progress bar on standard error for long commands, drawn only on a terminal (logs and
/// pipes get the summary alone) and at most ten times a second.
final class ProgressLine: Sendable {
    private struct State {
        var phase = ""
        var drawn = false
        var lastDraw = 0.0
    }

    private let interactive = isatty(STDERR_FILENO) == 1
    private let state = Mutex(State())

    func show(_ progress: BackupProgress) {
        guard interactive else { return }
        let now = Date().timeIntervalSince1970
        let text: String? = state.withLock { state in
            let phaseChanged = state.phase != progress.phase
            let finished = progress.done == progress.total
            guard phaseChanged || finished || now - state.lastDraw >= 0.1 else { return nil }
            var prefix = ""
            if phaseChanged && state.drawn { prefix = "\n" }
            state.phase = progress.phase
            state.lastDraw = now
            state.drawn = true
            let share = progress.total > 0 ? Double(progress.done) / Double(progress.total) : 1
            let filled = Int(share * 30)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            let mebibytes = String(format: "%.1f", Double(progress.bytes) / 1_048_576)
            return "\(prefix)\r\(progress.phase) [\(bar)] \(progress.done)/\(progress.total)  \(mebibytes) MiB"
        }
        if let text { FileHandle.standardError.write(Data(text.utf8)) }
    }

    /// Ends the bar's line, if one was drawn.
    func finish() {
        guard state.withLock({ $0.drawn }) else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
