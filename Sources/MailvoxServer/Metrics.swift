import Foundation
import MailvoxPipeline
import MailvoxQueue
import Metrics
import Prometheus

/// The server's Prometheus registry (docs/DESIGN.md §2: only MailvoxServer owns it); other modules
/// report through swift-metrics. Queue gauges are read fresh at each scrape.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let queued: Prometheus.Gauge
    private let leased: Prometheus.Gauge
    private let dead: Prometheus.Gauge
    private let oldest: Prometheus.Gauge
    private let intake: Intake
    private let queue: JobQueue

    init(intake: Intake, queue: JobQueue) {
        self.intake = intake
        self.queue = queue
        queued = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "mailvox", metricName: "queue_jobs_queued", unitName: "count",
                helpText: "Jobs waiting to run"))
        leased = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "mailvox", metricName: "queue_jobs_leased", unitName: "count", helpText: "Jobs running"))
        dead = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "mailvox", metricName: "queue_jobs_dead", unitName: "count", helpText: "Dead-lettered jobs"))
        oldest = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "mailvox", metricName: "queue_oldest_job_age", unitName: "seconds",
                helpText: "Age of the oldest waiting job"))
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// The exposition text for `/metrics`.
    func scrape() -> String {
        if let depth = try? intake.queueDepth() {
            queued.set(Double(depth.queued))
            leased.set(Double(depth.leased))
            dead.set(Double(depth.dead))
            oldest.set(depth.oldestSeconds)
        }
        if let counts = try? queue.alertOutcomeCounts() {
            // Every channel × outcome is set, so a count that drops to zero shows as zero.
            for channel in AlertChannel.allCases {
                for outcome in AlertResult.Outcome.allCases {
                    let count = counts.first { $0.channel == channel && $0.outcome == outcome }?.count ?? 0
                    registry.makeGauge(
                        descriptor: MetricNameDescriptor(
                            namespace: "mailvox", metricName: "alert_recipients", unitName: "count",
                            helpText: "Recipients whose last alert ended so, per channel and outcome"),
                        labels: [("channel", channel.rawValue), ("outcome", outcome.rawValue)]
                    ).set(Double(count))
                }
            }
        }
        return registry.emitToString()
    }
}
