import KafkaBroker
import KafkaClient
import Logging
import NIOCore
import Testing
import TributaryTestSupport

/// The embedded broker (``KafkaBrokerServer``) running in the test process on 127.0.0.1, over a
/// temporary data directory. ``stop()`` shuts it down; ``restart()`` starts it again on the same
/// port and data directory.
final class EmbeddedBroker: Sendable {
    /// Settings of the broker under test.
    struct Options: Sendable {
        /// Partitions of auto-created topics and of CreateTopics with -1.
        var partitions: Int32 = 1
        /// Whether Metadata may create unknown topics.
        var autoCreateTopics: Bool = true
        /// Short, so group tests do not wait 3 s for the first rebalance.
        var groupInitialRebalanceDelay: Duration = .milliseconds(50)
        /// Port to bind; 0 picks a free one.
        var port: Int = 0
    }

    let options: Options
    let directory: TemporaryDirectory
    let server: KafkaBrokerServer
    private let task: Task<Void, any Error>

    /// `127.0.0.1:PORT`.
    let address: KafkaBrokerAddress

    /// A client configuration bootstrapping from this broker, with short timeouts for tests.
    var clientConfiguration: KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(bootstrapServers: [self.address])
        configuration.connectTimeout = .seconds(5)
        configuration.requestTimeout = .seconds(10)
        configuration.reconnectBackoff = .milliseconds(10)
        configuration.reconnectBackoffMax = .milliseconds(200)
        return configuration
    }

    private init(options: Options, directory: TemporaryDirectory, server: KafkaBrokerServer) throws {
        self.options = options
        self.directory = directory
        self.server = server
        self.address = KafkaBrokerAddress(host: "127.0.0.1", port: try #require(server.localAddress.port))
        self.task = Task { try await server.run() }
    }

    /// Starts a broker with `options` on a fresh data directory (or `directory`).
    static func start(_ options: Options = Options(), directory: TemporaryDirectory? = nil) async throws -> EmbeddedBroker {
        let directory = try directory ?? TemporaryDirectory(prefix: "tributary-client")
        var logger = Logger(label: "test.embedded-broker")
        logger.logLevel = .critical
        var configuration = KafkaBrokerConfiguration(
            listener: .init(host: "127.0.0.1", port: options.port), dataDirectory: directory.path,
            defaultPartitions: options.partitions, autoCreateTopics: options.autoCreateTopics)
        configuration.groupInitialRebalanceDelay = options.groupInitialRebalanceDelay
        let server = try await KafkaBrokerServer.start(configuration: configuration, logger: logger)
        return try EmbeddedBroker(options: options, directory: directory, server: server)
    }

    /// Runs `body` with a started broker, then stops it and removes its data.
    static func with<T>(
        _ options: Options = Options(), _ body: (EmbeddedBroker) async throws -> T
    ) async throws -> T {
        let broker = try await start(options)
        do {
            let result = try await body(broker)
            try await broker.stop()
            broker.directory.remove()
            return result
        } catch {
            try? await broker.stop()
            broker.directory.remove()
            throw error
        }
    }

    /// Stops the broker and waits until it has closed its storage.
    func stop() async throws {
        self.server.triggerGracefulShutdown()
        try await self.task.value
    }

    /// Starts a new broker on the same port and data directory (call ``stop()`` first).
    func restart() async throws -> EmbeddedBroker {
        var options = self.options
        options.port = self.address.port
        return try await Self.start(options, directory: self.directory)
    }
}

/// Polls `condition` every 10 ms until it holds; fails the test (and throws) after `timeout`.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out after \(timeout) waiting until \(what)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
