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
