public import KafkaClient
import KafkaProtocol
import KafkaSecurity

extension AgentConfiguration {
    /// The Kafka client settings of the agent: brokers, TLS and SASL (a `password_file` is read here).
    ///
    /// - Throws: `ShipperError` naming `sasl.password_file` when it cannot be read.
    public func kafkaClientConfiguration() throws(ShipperError) -> KafkaClientConfiguration {
        var configuration = KafkaClientConfiguration(
            bootstrapServers: brokers.map { KafkaBrokerAddress(host: $0.host, port: $0.port) })
        configuration.clientID = "tributary-agent"
        if let tls {
            configuration.tls = KafkaTLSConfiguration(
                caFile: tls.caFile, certificateFile: tls.certFile, keyFile: tls.keyFile, serverName: tls.serverName,
                verifyCertificates: tls.verify)
        }
        if let sasl {
            let password: String
            if let inline = sasl.password {
                password = inline
            } else if let file = sasl.passwordFile {
                guard case .success(var bytes) = LocalSystem.readFile(file) else {
                    throw ShipperError("sasl.password_file: cannot read \(file)")
                }
                while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
                while let first = bytes.first, first == UInt8(ascii: "\n") || first == UInt8(ascii: "\r") {
                    bytes.removeFirst()
                }
                password = String(decoding: bytes, as: UTF8.self)
            } else {
                throw ShipperError("sasl: missing password or password_file")
            }
            let mechanism: KafkaSASLMechanism =
                switch sasl.mechanism {
                case .plain: .plain
                case .scramSHA256: .scramSHA256
                case .scramSHA512: .scramSHA512
                }
            configuration.sasl = KafkaSASLConfiguration(mechanism: mechanism, username: sasl.username, password: password)
        }
        return configuration
    }

    /// The producer settings of the agent: acks=all, idempotence, the configured codec, linger and batch size;
    /// records are retried until delivered (no delivery timeout: the files are the buffer); the buffer holds
    /// more than the in-flight budget (which counts line bytes plus a per-record overhead, while the producer
    /// counts whole records: headers included), so handing over what was read does not wait.
    public var kafkaProducerConfiguration: KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration()
        configuration.acks = .all
        configuration.idempotent = true
        configuration.compression =
            switch compression {
            case .none: .none
            case .gzip: .gzip
            case .snappy: .snappy
            case .lz4: .lz4
            case .zstd: .zstd
            }
        configuration.linger = linger
        configuration.maxBatchBytes = batchBytes
        configuration.bufferBytes = max(batchBytes, maxInFlightBytes * 4 + (1 << 20))
        configuration.deliveryTimeout = nil
        return configuration
    }
}
