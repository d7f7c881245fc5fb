import ArgumentParser
import Dispatch
import KafkaBroker
import KafkaSecurity
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// `tributary broker`: run the embedded single-node Kafka-compatible broker.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded single-node Kafka-compatible broker.",
        discussion: """
            Prints "tributary broker: listening on HOST:PORT" to stdout once bound; logs go to stderr.
            SIGTERM or SIGINT shuts down gracefully.
            """
    )

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free port).")
    var listen: String = "127.0.0.1:9092"

    @Option(help: "Data directory for partition logs and group state.")
    var data: String

    @Option(help: "Partitions of auto-created topics.")
    var partitions: Int32 = 1

    @Flag(inversion: .prefixedNo, help: "Create unknown topics a client asks Metadata for (allowAutoTopicCreation).")
    var autoCreate: Bool = true

    @Option(help: "Default retention.ms of topics.")
    var retentionMs: Int64?

    @Option(help: "Default retention.bytes of topics.")
    var retentionBytes: Int64?

    @Option(help: "Default segment.bytes of topics.")
    var segmentBytes: Int64?

    @Option(help: "Largest record batch accepted (max.message.bytes).")
    var maxMessageBytes: Int32 = 1_048_588

    @Option(help: "Largest request frame accepted (socket.request.max.bytes).")
    var maxRequestBytes: Int = 100 * 1024 * 1024

    @Option(help: "Close connections idle for this many milliseconds (connections.max.idle.ms).")
    var connectionsMaxIdleMs: Int64 = 600_000

    @Option(help: "Milliseconds a new consumer group waits for members before its first rebalance.")
    var groupInitialRebalanceDelayMs: Int64 = 3000

    @Option(
        name: [.customLong("retention-check-interval-ms"), .customLong("retention-check-interval")],
        help: "Milliseconds between retention sweeps (log.retention.check.interval.ms).")
    var retentionCheckIntervalMs: Int64 = 300_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: ArgumentHelp("PEM certificate chain of the listener; turns on TLS (with --tls-key).", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key (unencrypted) of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("PEM CA certificates; clients must present a certificate signed by one.", valueName: "file"))
    var tlsClientCa: String?

    @Option(help: ArgumentHelp(
        "Enable a SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (repeatable; needs --sasl-users).",
        valueName: "name"))
    var saslMechanism: [String] = []

    @Option(help: ArgumentHelp("SASL users, one user:password per line, # comments; turns on SASL.", valueName: "file"))
    var saslUsers: String?

    func validate() throws {
        guard parseListen() != nil else { throw ValidationError("--listen must be HOST:PORT, got '\(listen)'") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        guard connectionsMaxIdleMs > 0, maxRequestBytes > 0, maxMessageBytes > 0, retentionCheckIntervalMs > 0 else {
            throw ValidationError("sizes and timeouts must be positive")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsClientCa == nil || tlsCert != nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        for name in saslMechanism where KafkaSASLMechanism(kafkaName: name) == nil {
            throw ValidationError("unknown --sasl-mechanism '\(name)' (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
        }
        guard saslMechanism.isEmpty == (saslUsers == nil) else {
            throw ValidationError("--sasl-mechanism and --sasl-users go together")
        }
    }

    /// The SASL settings from --sasl-mechanism and --sasl-users, or `nil` when SASL is off.
    private func saslConfiguration() throws -> KafkaBrokerSASLConfiguration? {
        guard let saslUsers else { return nil }
        do {
            return KafkaBrokerSASLConfiguration(
                mechanisms: saslMechanism.compactMap { KafkaSASLMechanism(kafkaName: $0) },
                users: try SASLUsersFile.load(path: saslUsers))
        } catch {
            throw ValidationError("--sasl-users: \(error)")
        }
    }

    /// `HOST:PORT` split at the last colon; `[::1]:9092` keeps the brackets off.
    private func parseListen() -> (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tributary.broker")
        let (host, port) = parseListen()!
        var configuration = KafkaBrokerConfiguration(
            listener: .init(
                host: host, port: port, maximumFrameBytes: maxRequestBytes,
                idleTimeout: .milliseconds(connectionsMaxIdleMs)),
            dataDirectory: data, defaultPartitions: partitions, autoCreateTopics: autoCreate,
            retentionMs: retentionMs, retentionBytes: retentionBytes, segmentBytes: segmentBytes,
            maxMessageBytes: maxMessageBytes)
        configuration.groupInitialRebalanceDelay = .milliseconds(groupInitialRebalanceDelayMs)
        configuration.retentionCheckInterval = .milliseconds(retentionCheckIntervalMs)
        configuration.sasl = try saslConfiguration()
        if let tlsCert, let tlsKey {
            configuration.tls = KafkaTLSServerConfiguration(certificateFile: tlsCert, keyFile: tlsKey, clientCAFile: tlsClientCa)
        }
        let broker = try await KafkaBrokerServer.start(configuration: configuration, logger: logger)

        // Signals become a graceful shutdown; the default action (die) is switched off first.
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.notice("signal \(number): shutting down")
                broker.triggerGracefulShutdown()
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        let address = broker.localAddress
        print("tributary broker: listening on \(address.ipAddress ?? host):\(address.port ?? port)")
        fflush(nil)
        try await broker.run()
        logger.notice("broker stopped")
    }
}
