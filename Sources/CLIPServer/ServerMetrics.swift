import CoreMetrics
import Foundation
import Prometheus

/// The server's Prometheus metrics (served at `GET /metrics`), recorded through swift-metrics
/// handles made by a factory that writes into this app's own registry, so that two apps in one
/// process (tests) do not share counts and the global `MetricsSystem` stays untouched.
public final class ServerMetrics: Sendable {
    /// The registry `GET /metrics` prints in Prometheus' text format.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let queueItems: CoreMetrics.Gauge
    private let batchSize: CoreMetrics.Recorder
    private let tokens: CoreMetrics.Counter
    private let images: CoreMetrics.Counter

    /// The routes counted under their own label; anything else is counted as `other`.
    static let paths: Set<String> = [
        "/v1/embeddings", "/embed", "/rank", "/classify", "/search", "/health", "/info", "/metrics",
    ]

    init(maxBatch: Int) {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        var buckets: [Double] = []
        var size = 1
        while size < maxBatch {
            buckets.append(Double(size))
            size *= 2
        }
        factory.valueHistogramBuckets["clip_batch_size"] = buckets + [Double(maxBatch)]
        self.factory = factory
        queueItems = CoreMetrics.Gauge(label: "clip_queue_items", factory: factory)
        batchSize = CoreMetrics.Recorder(label: "clip_batch_size", dimensions: [], aggregate: true, factory: factory)
        tokens = CoreMetrics.Counter(label: "clip_tokens_total", factory: factory)
        images = CoreMetrics.Counter(label: "clip_images_total", factory: factory)
    }

    /// Counts one answered request, its latency and, for an error, its reason.
    func finished(path: String, status: Int, reason: String?, since started: ContinuousClock.Instant) {
        let route = Self.paths.contains(path) ? path : "other"
        CoreMetrics.Counter(
            label: "clip_requests_total", dimensions: [("path", route), ("status", String(status))], factory: factory
        ).increment()
        if let reason {
            CoreMetrics.Counter(
                label: "clip_request_failures_total", dimensions: [("reason", reason)], factory: factory
            )
            .increment()
        }
        CoreMetrics.Timer(label: "clip_request_duration_seconds", dimensions: [("path", route)], factory: factory)
            .recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
    }

    func queue(items: Int) { queueItems.record(items) }
    func batch(items: Int) { batchSize.record(items) }
    func embedded(tokens count: Int) { tokens.increment(by: count) }
    func embedded(images count: Int) { images.increment(by: count) }
}
