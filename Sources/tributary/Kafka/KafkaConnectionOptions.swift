import ArgumentParser
import Foundation
import KafkaClient

/// The flags every `tributary kafka` command shares: which brokers, and TLS/SASL settings.
struct KafkaConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Bootstrap brokers.", valueName: "HOST:PORT,..."))
    var brokers: String = "127.0.0.1:9092"

    @Flag(name: .long, help: "Connect with TLS (implied by --tls-ca, --tls-cert).")
    var tls: Bool = false

    @Option(name: .customLong("tls-ca"), help: ArgumentHelp("PEM file of CA certificates to trust (default: the system's).", valueName: "FILE"))
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM client certificate (chain) for mutual TLS.", valueName: "FILE"))
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "FILE"))
    var tlsKey: String?

    @Option(name: .customLong("sasl-mechanism"), help: ArgumentHelp("SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.", valueName: "MECHANISM"))
    var saslMechanism: String?

    @Option(name: .customLong("sasl-username"), help: "SASL user name.")
    var saslUsername: String?

    @Option(name: .customLong("sasl-password"), help: "SASL password (default: $TRIBUTARY_SASL_PASSWORD).")
    var saslPassword: String?

    /// Whether any TLS flag was given.
    var usesTLS: Bool { self.tls || self.tlsCA != nil || self.tlsCert != nil || self.tlsKey != nil }

    /// The SASL password from the flag, else from `TRIBUTARY_SASL_PASSWORD`.
    var resolvedSASLPassword: String? {
        self.saslPassword ?? ProcessInfo.processInfo.environment["TRIBUTARY_SASL_PASSWORD"]
    }

    func validate() throws {
        do {
            _ = try KafkaBrokerAddress.parseList(self.brokers)
        } catch {
            throw ValidationError("--brokers: \(error.message)")
        }
        if (self.tlsCert == nil) != (self.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if self.saslMechanism != nil || self.saslUsername != nil {
            guard let mechanism = self.saslMechanism else { throw ValidationError("--sasl-username needs --sasl-mechanism") }
            guard ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(mechanism.uppercased()) else {
                throw ValidationError("--sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got '\(mechanism)'")
            }
            guard self.saslUsername != nil else { throw ValidationError("--sasl-mechanism needs --sasl-username") }
            guard self.resolvedSASLPassword != nil else {
                throw ValidationError("--sasl-mechanism needs --sasl-password or TRIBUTARY_SASL_PASSWORD")
            }
        }
    }

    /// The client configuration these flags describe.
    func clientConfiguration() throws -> KafkaClientConfiguration {
        let configuration = KafkaClientConfiguration(bootstrapServers: try KafkaBrokerAddress.parseList(self.brokers))
        if self.usesTLS || self.saslMechanism != nil {
            throw ValidationError("TLS and SASL are not supported by this build yet")
        }
        return configuration
    }

    /// Runs `body` with a cluster client for these flags, shutting it down afterwards.
    func withCluster<T>(_ body: (KafkaCluster) async throws -> T) async throws -> T {
        let cluster = KafkaCluster(configuration: try self.clientConfiguration())
        do {
            let result = try await body(cluster)
            await cluster.shutdown()
            return result
        } catch {
            await cluster.shutdown()
            throw error
        }
    }
}
