import Agent
import Foundation
import Testing
import TributaryTestSupport

/// `AgentMetrics` and `MetricsServer` in-process: the page format, counters across generations, /health,
/// and the HTTP rules (404, 405, malformed requests closed).
@Suite("Agent metrics")
struct AgentMetricsTests {
    static func input(_ index: Int, name: String, lines: Int, bytes: Int, files: [FileLag] = []) -> InputMetricsSnapshot {
        var counters = InputCounters()
        counters.linesRead = lines
        counters.bytesRead = bytes
        counters.linesAcknowledged = lines
        counters.bytesAcknowledged = bytes
        return InputMetricsSnapshot(
            labels: InputLabels(index: index, name: name, type: "file", topic: "t\(index)"), counters: counters,
            inFlightBytes: 0, openFiles: files.count, files: files)
    }

    @Test func pageIsPrometheusTextWithEscapedLabels() throws {
        let metrics = AgentMetrics()
        let path = "/var/log/we\"ird\\name\nx.log"
        var shipper = ShipperCounters()
        shipper.batchesAcknowledged = 3
        shipper.recordsRetried = 2
        shipper.deliveryErrors = ["retried": 1]
        shipper.lastAcknowledgementMilliseconds = 1_764_000_000_250
        metrics.publish(
            inputs: [Self.input(0, name: "app", lines: 5, bytes: 60, files: [FileLag(path: path, lagBytes: 7)])],
            shipper: ShipperMetricsSnapshot(counters: shipper, inFlightBytes: 11))
        let page = try PrometheusPage(parsing: metrics.render())
        #expect(page.value("tributary_agent_up") == 1)
        #expect(page.value("tributary_agent_file_lag_bytes", ["path": path]) == 7, "label value round-trips through escaping")
        #expect(page.value("tributary_agent_input_lines_read_total", ["name": "app", "type": "file", "topic": "t0", "input": "0"]) == 5)
        #expect(page.value("tributary_agent_input_bytes_acknowledged_total", ["name": "app"]) == 60)
        #expect(page.value("tributary_agent_producer_batches_acknowledged_total") == 3)
        #expect(page.value("tributary_agent_producer_records_retried_total") == 2)
        #expect(page.value("tributary_agent_producer_delivery_errors_total", ["outcome": "retried"]) == 1)
        #expect(page.value("tributary_agent_producer_delivery_errors_total", ["outcome": "fatal"]) == 0)
        #expect(page.value("tributary_agent_producer_in_flight_bytes") == 11)
        #expect(page.value("tributary_agent_producer_last_acknowledgement_timestamp_seconds") == 1_764_000_000.25)
        #expect(page.types["tributary_agent_producer_last_acknowledgement_timestamp_seconds"] == "gauge")
        #expect(page.value("tributary_agent_open_files") == 1)
        let start = try #require(page.value("tributary_agent_start_time_seconds"))
        #expect(abs(start - Date().timeIntervalSince1970) < 600)
        #expect(page.types["tributary_agent_input_lines_read_total"] == "counter")
        #expect(page.types["tributary_agent_file_lag_bytes"] == "gauge")
        #expect(page.types["tributary_agent_input_lines_dropped_total"] == nil, "file inputs drop nothing: no family")
    }

    @Test func countersKeepGrowingAcrossGenerationsAndDroppedReasonsAreLabelled() throws {
        let metrics = AgentMetrics()
        metrics.publish(inputs: [Self.input(0, name: "app", lines: 10, bytes: 100)], shipper: nil)
        metrics.retireGeneration()
        metrics.countReload(succeeded: true)
        var second = Self.input(0, name: "app", lines: 3, bytes: 30)
        second.counters.dropped = ["gap": 2]
        metrics.publish(inputs: [second, Self.input(1, name: "other", lines: 4, bytes: 40)], shipper: nil)
        let page = try PrometheusPage(parsing: metrics.render())
        #expect(page.value("tributary_agent_input_lines_read_total", ["name": "app"]) == 13)
        #expect(page.value("tributary_agent_input_bytes_read_total", ["name": "app"]) == 130)
        #expect(page.value("tributary_agent_input_lines_read_total", ["name": "other"]) == 4)
        #expect(page.value("tributary_agent_input_lines_dropped_total", ["name": "app", "reason": "gap"]) == 2)
        #expect(page.value("tributary_agent_config_reloads_total", ["result": "ok"]) == 1)
        #expect(page.value("tributary_agent_config_reloads_total", ["result": "error"]) == 0)
        #expect(page.value("tributary_agent_producer_batches_acknowledged_total") == nil, "no shipper (dry run): no producer families")
    }

    @Test func healthIsStartingThenOkThenTheFatalReasonThenStopping() {
        let metrics = AgentMetrics()
        #expect(metrics.health == AgentMetrics.Health(isHealthy: false, reason: "starting"))
        metrics.publish(inputs: [], shipper: ShipperMetricsSnapshot())
        #expect(metrics.health == AgentMetrics.Health(isHealthy: true, reason: "ok"))
        metrics.markStopping()
        #expect(metrics.health == AgentMetrics.Health(isHealthy: false, reason: "stopping"))
        metrics.publish(inputs: [], shipper: ShipperMetricsSnapshot(fatalError: "topic app refused: RECORD_TOO_LARGE"))
        #expect(metrics.health.reason == "shipping failed: topic app refused: RECORD_TOO_LARGE")
    }

    @Test func serverAnswersMetricsHealth404And405AndClosesMalformedRequests() async throws {
        let metrics = AgentMetrics()
        metrics.publish(inputs: [Self.input(0, name: "app", lines: 1, bytes: 2)], shipper: nil)
        let server = try await MetricsServer.start(host: "127.0.0.1", port: 0, metrics: metrics)
        let port = server.port
        #expect(server.boundDescription == "127.0.0.1:\(port)")

        let page = try HTTPExchange.get("/metrics", port: port)
        #expect(page.status == 200)
        #expect(page.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(page.closedByServer)
        #expect(try PrometheusPage(parsing: page.body).value("tributary_agent_input_lines_read_total") == 1)

        let health = try HTTPExchange.get("/health", port: port)
        #expect(health.status == 200 && health.body == "ok\n")
        metrics.publish(inputs: [], shipper: ShipperMetricsSnapshot(fatalError: "3 record(s) to topic app partition 0 refused"))
        let failed = try HTTPExchange.get("/health", port: port)
        #expect(failed.status == 503)
        #expect(failed.body == "shipping failed: 3 record(s) to topic app partition 0 refused\n")

        #expect(try HTTPExchange.get("/nothing", port: port).status == 404)
        let post = try HTTPExchange.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", port: port)
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
        let malformed = try HTTPExchange.send("NOT HTTP AT ALL\r\n\r\n", port: port)
        #expect(malformed.status == 400 && malformed.closedByServer, "\(malformed)")
        let garbage = try HTTPExchange.send("GET /metrics HTTP/1.1\r\nBad Header Without Colon\r\n\r\n", port: port)
        #expect(garbage.status == 400 && garbage.closedByServer, "\(garbage)")
        await server.stop()
        #expect(throws: (any Error).self) { try HTTPExchange.get("/health", port: port) }
    }
}
