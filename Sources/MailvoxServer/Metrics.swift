import Foundation
import MailvoxPipeline
import Metrics
import Prometheus

/// The server's Prometheus registry (DESIGN.md §2: only MailvoxServer owns it); other modules
/// report through swift-metrics. Queue gauges are read fresh at each scrape.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let queued: Prometheus.Gauge
    private let leased: Prometheus.Gauge
    private let dead: Prometheus.Gauge
    private let oldest: Prometheus.Gauge
    private let intake: Intake

    init(intake: Intake) {
        self.intake = intake
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
        return registry.emitToString()
    }
}
