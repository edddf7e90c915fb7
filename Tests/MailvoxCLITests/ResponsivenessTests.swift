import Foundation
import MailvoxTestSupport
import Testing

/// Issue #13's freeze: while `serve` transcodes a burst of recordings with one deliver worker
/// per core, an IMAP client's NOOPs and an HTTP client's /healthz must still be answered at
/// once. Before deliver workers had threads of their own, they ran on the cooperative pool and
/// every answer waited for the burst to end (seconds); the limit here is far above a healthy
/// answer (milliseconds) and far below that freeze, so a loaded test machine does not trip it.
/// The figures themselves are `make bench`'s (Tests/load/responsiveness.py, 40 one-minute
/// recordings in release).
@Suite(.serialized) struct ResponsivenessTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("load/responsiveness.py").path

    @Test func clientsAreAnsweredDuringABurstOfDeliveries() throws {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAILVOX_") }
        environment["PYTHONUNBUFFERED"] = "1"
        let result = try Subprocess.run(
            Subprocess.python,
            [
                Self.script, "--binary", CLI.binary, "--deposits", "40", "--seconds", "60", "--quiet-seconds", "2",
                "--timeout", "240", "--max-ms", "1000",
            ], environment: environment)
        let text = result.output
        #expect(result.succeeded, "\(text)")
        #expect(text.contains("imap_noop") && text.contains("http_healthz"), "\(text)")
    }
}
