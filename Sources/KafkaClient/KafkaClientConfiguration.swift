/// Settings shared by every connection of a Kafka client.
public struct KafkaClientConfiguration: Sendable {
    /// Brokers tried in order to learn the cluster (`bootstrap.servers`).
    public var bootstrapServers: [KafkaBrokerAddress]
    /// Sent in every request header (`client.id`), for the broker's logs and quotas.
    public var clientID: String = "tributary"
    /// How long a TCP connect (plus TLS, ApiVersions and SASL) may take.
    public var connectTimeout: Duration = .seconds(10)
    /// How long a request may wait for its response (`request.timeout.ms`). Long-polling requests
    /// (Fetch with `maxWaitMs`) pass a longer timeout to `send`.
    public var requestTimeout: Duration = .seconds(30)
    /// Cached metadata older than this is refreshed on the next use (`metadata.max.age.ms`).
    public var metadataMaxAge: Duration = .seconds(300)
    /// First delay before reconnecting to a broker after a failed connect; doubles per failure
    /// with ±20 % jitter (`reconnect.backoff.ms`).
    public var reconnectBackoff: Duration = .milliseconds(50)
    /// Largest reconnect delay (`reconnect.backoff.max.ms`).
    public var reconnectBackoffMax: Duration = .seconds(10)
    /// Largest response frame accepted, in bytes, without the 4-byte size; a larger size prefix
    /// closes the connection (`socket.receive` limit; Kafka's `fetch.max.bytes` fits well below).
    public var maximumResponseBytes: Int = 100 * 1024 * 1024

    /// Creates a configuration for `bootstrapServers`; other settings take the defaults above.
    public init(bootstrapServers: [KafkaBrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }
}
