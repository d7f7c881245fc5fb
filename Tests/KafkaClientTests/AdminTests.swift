import KafkaClient
import KafkaProtocol
import Testing

/// KafkaAdmin against the embedded broker.
@Suite("Client: admin")
struct AdminTests {
    static func withAdmin(_ body: (KafkaAdmin) async throws -> Void) async throws {
        try await EmbeddedBroker.with(.init(autoCreateTopics: false)) { broker in
            let cluster = KafkaCluster(configuration: broker.clientConfiguration)
            try await body(KafkaAdmin(cluster: cluster))
            await cluster.shutdown()
        }
    }

    @Test("create, list, describe and delete topics")
    func topicLifecycle() async throws {
        try await Self.withAdmin { admin in
            try await admin.createTopic(name: "syslog", partitions: 3, configs: ["retention.ms": "3600000"])
            try await admin.createTopic(name: "nginx", partitions: 1)
            #expect(try await admin.listTopics() == ["nginx", "syslog"])

            let topic = try await admin.describeTopic("syslog")
            #expect(topic.partitions.map(\.id) == [0, 1, 2])
            #expect(topic.partitions.allSatisfy { $0.leader >= 0 && $0.error == nil })

            try await admin.deleteTopic("nginx")
            #expect(try await admin.listTopics() == ["syslog"])
        }
    }

    @Test("errors per topic carry the broker's code and message")
    func errorsCarryBrokerMessage() async throws {
        try await Self.withAdmin { admin in
            try await admin.createTopic(name: "dup", partitions: 1)
            let exists = await #expect(throws: KafkaClientError.self) { try await admin.createTopic(name: "dup", partitions: 1) }
            #expect(exists?.kind == .broker(.topicAlreadyExists))
            #expect(exists?.message.contains("create topic \"dup\"") == true, "\(exists?.message ?? "")")

            let factor = await #expect(throws: KafkaClientError.self) {
                try await admin.createTopic(name: "replicated", partitions: 1, replicationFactor: 3)
            }
            #expect(factor?.kind == .broker(.invalidReplicationFactor))
            #expect(factor?.message.contains("replication factor 3 > 1 on a single node") == true, "\(factor?.message ?? "")")

            let missing = await #expect(throws: KafkaClientError.self) { try await admin.deleteTopic("missing") }
            #expect(missing?.kind == .broker(.unknownTopicOrPartition))
            #expect(missing?.message.contains("delete topic \"missing\"") == true)

            let described = await #expect(throws: KafkaClientError.self) { _ = try await admin.describeTopic("missing") }
            #expect(described?.kind == .broker(.unknownTopicOrPartition))

            let badConfig = await #expect(throws: KafkaClientError.self) {
                try await admin.alterTopicConfig("dup", set: ["retention.ms": "soon"])
            }
            #expect(badConfig?.kind == .broker(.invalidConfig), "\(String(describing: badConfig))")
            #expect(badConfig?.message.contains("retention.ms") == true, "\(badConfig?.message ?? "")")
        }
    }

    @Test("describe and alter topic configs keep other overrides")
    func alterConfigs() async throws {
        try await Self.withAdmin { admin in
            try await admin.createTopic(name: "app", partitions: 1, configs: ["retention.ms": "60000"])
            var entries = try await admin.describeTopicConfigEntries("app")
            #expect(entries.first { $0.name == "retention.ms" } == KafkaConfigEntry(name: "retention.ms", value: "60000", isOverride: true))
            #expect(entries.first { $0.name == "retention.bytes" }?.isOverride == false)

            try await admin.alterTopicConfig("app", set: ["retention.bytes": "1048576"])
            entries = try await admin.describeTopicConfigEntries("app")
            let overrides = Dictionary(uniqueKeysWithValues: entries.filter(\.isOverride).map { ($0.name, $0.value) })
            #expect(overrides == ["retention.ms": "60000", "retention.bytes": "1048576"])

            try await admin.alterTopicConfig("app", set: [:], remove: ["retention.ms"])
            let configs = try await admin.describeTopicConfig("app")
            #expect(configs["retention.bytes"] == .some("1048576"))
            let remaining = try await admin.describeTopicConfigEntries("app").filter(\.isOverride).map(\.name)
            #expect(remaining == ["retention.bytes"])
        }
    }
}
