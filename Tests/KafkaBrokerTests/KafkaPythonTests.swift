import Foundation
import Testing
import TributaryTestSupport

/// Interop with kafka-python (a pure-Python Kafka client) against `tributary broker`.
@Suite("KafkaPython interop", .serialized, .enabled(if: BrokerTestHarness.hasKafkaPython, "python3 with kafka-python is not installed"))
struct KafkaPythonTests {
    /// Runs `script` with `arguments` under `timeout`; returns its stdout, requiring exit 0.
    static func python(_ script: String, _ arguments: [String], broker: BrokerProcess) async throws -> String {
        let directory = try TemporaryDirectory(prefix: "tributary-python")
        defer { directory.remove() }
        let path = directory.path + "/script.py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await BrokerTestHarness.blocking {
            try TributaryProcess.run(executable: "timeout", ["120", "python3", path] + arguments)
        }
        #expect(result.status == 0, "python failed: \(result.stderr)\nbroker: \(broker.stderr)")
        return result.stdoutString
    }

    static let roundTrip = """
        import sys
        from kafka import KafkaProducer, KafkaConsumer
        bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
        p = KafkaProducer(bootstrap_servers=bootstrap, acks='all', compression_type='gzip', linger_ms=5)
        futures = [p.send(topic, key=b'k%d' % (i % 7), value=b'message %d' % i) for i in range(n)]
        p.flush()
        offsets = [f.get(timeout=30).offset for f in futures]
        p.close()
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset='earliest',
                          enable_auto_commit=False, consumer_timeout_ms=30000)
        got = []
        for m in c:
            got.append(m.value)
            if len(got) == n:
                break
        c.close()
        print("offsets", sorted(offsets) == list(range(n)))
        print("values", got == [b'message %d' % i for i in range(n)])
        """

    static let commitAndResume = """
        import sys
        from kafka import KafkaProducer, KafkaConsumer
        bootstrap, topic, n, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        p = KafkaProducer(bootstrap_servers=bootstrap, acks='all', compression_type='lz4')
        for i in range(n):
            p.send(topic, value=b'message %d' % i)
        p.flush(); p.close()
        def consumer():
            return KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id='resumers', auto_offset_reset='earliest',
                                 enable_auto_commit=False, consumer_timeout_ms=30000, max_poll_records=10)
        c = consumer()
        got = []
        for m in c:
            got.append(m.value)
            if len(got) == first:
                break
        c.commit()
        c.close()
        c = consumer()
        rest = []
        for m in c:
            rest.append(m.value)
            if len(rest) == n - first:
                break
        committed = c.committed(next(iter(c.assignment())))
        c.close()
        print("first", got == [b'message %d' % i for i in range(first)])
        print("resumed", rest == [b'message %d' % i for i in range(first, n)])
        print("committed", committed)
        """

    static let admin = """
        import sys
        from kafka.admin import KafkaAdminClient, NewTopic, ConfigResource, ConfigResourceType
        a = KafkaAdminClient(bootstrap_servers=sys.argv[1])
        def retention():
            d = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'admin-t')])
            return {c[0]: c[1] for c in d[0].resources[0][4]}.get('retention.ms')
        r = a.create_topics([NewTopic('admin-t', 3, 1, topic_configs={'retention.ms': '60000'})])
        print("create", [tuple(t[:2]) for t in r.topic_errors])
        print("topics", sorted(a.list_topics()))
        print("retention.ms", retention())
        a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'admin-t', configs={'retention.ms': '120000'})])
        print("altered", retention())
        r = a.delete_topics(['admin-t'])
        print("delete", [tuple(t[:2]) for t in r.topic_error_codes])
        print("after", sorted(a.list_topics()))
        a.close()
        """

    @Test func adminCreatesDescribesAltersAndDeletesTopics() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kafka-python")
        defer { directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: directory.path + "/data")
        let output = try await Self.python(Self.admin, [broker.bootstrap], broker: broker)
        #expect(output == """
            create [('admin-t', 0)]
            topics ['admin-t']
            retention.ms 60000
            altered 120000
            delete [('admin-t', 0)]
            after []

            """, "\(output)")
        #expect(try await broker.stop() == 0)
    }

    @Test func producerAndConsumerRoundTrip() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kafka-python")
        defer { directory.remove() }
        let broker = try await BrokerProcess(dataDirectory: directory.path + "/data")
        let output = try await Self.python(Self.roundTrip, [broker.bootstrap, "python-logs", "2000"], broker: broker)
        #expect(output == "offsets True\nvalues True\n", "\(output)")
        #expect(try await broker.stop() == 0)
    }

    @Test func groupCommitsAndResumesFromCommittedOffset() async throws {
        let directory = try TemporaryDirectory(prefix: "tributary-kafka-python")
        defer { directory.remove() }
        let broker = try await BrokerProcess(
            dataDirectory: directory.path + "/data", extraArguments: ["--group-initial-rebalance-delay-ms", "0"])
        let output = try await Self.python(Self.commitAndResume, [broker.bootstrap, "resumable", "100", "40"], broker: broker)
        #expect(output == "first True\nresumed True\ncommitted 40\n", "\(output)")
        #expect(try await broker.stop() == 0)
    }
}
