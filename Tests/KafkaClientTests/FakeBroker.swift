import KafkaBroker
import KafkaClient
import KafkaProtocol
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// One request as a fake broker received it.
struct FakeBrokerRequest: Sendable {
    /// The node id of the fake broker that received it.
    var nodeID: Int32
    var header: KafkaRequestHeader
    var request: KafkaRequest
}

/// What a fake broker does with a request.
enum FakeBrokerReply: Sendable {
    /// Answer now, in the request's version.
    case respond(any KafkaResponseMessage)
    /// Keep the answer until ``FakeBroker/releaseHeld(reversed:)``; lets a test answer out of order.
    case hold(any KafkaResponseMessage)
    /// Never answer.
    case drop
    /// Close the connection without answering.
    case close
}

/// A scripted Kafka broker inside the test process: a NIO server on 127.0.0.1:0 that decodes each
/// request frame and asks its script what to do. ApiVersions is answered by the fake itself from
/// ``advertisedVersions`` (and `UNSUPPORTED_VERSION` in a v0 body above ``apiVersionsMaxVersion``,
/// as Kafka does), so scripts only deal with the APIs a test is about.
final class FakeBroker: Sendable {
    typealias Script = @Sendable (FakeBrokerRequest) -> FakeBrokerReply

    private struct State {
        var script: Script = { _ in .drop }
        var advertisedVersions: [ApiVersionsResponse.ApiVersion] = BrokerAPIVersions.advertisedList
        var apiVersionsMaxVersion: Int16 = 4
        var received: [KafkaRequestHeader] = []
        var held: [(channel: any Channel, frame: ByteBuffer)] = []
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    let nodeID: Int32
    let address: KafkaBrokerAddress
    private let serverChannel: any Channel
    private let state: Mutex<State>

    private init(nodeID: Int32, serverChannel: any Channel) throws {
        self.nodeID = nodeID
        self.serverChannel = serverChannel
        self.state = Mutex(State())
        self.address = KafkaBrokerAddress(host: "127.0.0.1", port: try #require(serverChannel.localAddress?.port))
    }

    /// Starts a fake broker with node id `nodeID` answering with `script` (default: never answers).
    static func start(nodeID: Int32 = 0, script: Script? = nil) async throws -> FakeBroker {
        let box = LateBinding<FakeBroker>()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(ByteToMessageHandler(KafkaFrameDecoder()))
                    guard let broker = box.value else { throw ChannelError.ioOnClosedChannel }
                    try handlers.addHandler(FakeBrokerConnectionHandler(broker: broker))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let broker = try FakeBroker(nodeID: nodeID, serverChannel: channel)
        box.value = broker
        if let script { broker.setScript(script) }
        return broker
    }

    /// Replaces the script.
    func setScript(_ script: @escaping Script) {
        self.state.withLock { $0.script = script }
    }

    /// Sets the ApiVersions ranges the fake advertises and the highest ApiVersions version it reads.
    func setAdvertisedVersions(_ versions: [ApiVersionsResponse.ApiVersion], apiVersionsMaxVersion: Int16 = 4) {
        self.state.withLock {
            $0.advertisedVersions = versions
            $0.apiVersionsMaxVersion = apiVersionsMaxVersion
        }
    }

    /// Headers of every request received so far, in arrival order.
    var received: [KafkaRequestHeader] { self.state.withLock { $0.received } }

    /// How many answers are held.
    var heldCount: Int { self.state.withLock { $0.held.count } }

    /// How many client connections are open.
    var connectionCount: Int { self.state.withLock { $0.connections.count } }

    /// Writes the held answers, in arrival order or reversed.
    func releaseHeld(reversed: Bool) {
        let held = self.state.withLock { state in
            defer { state.held.removeAll() }
            return state.held
        }
        for (channel, frame) in reversed ? held.reversed() : held {
            channel.writeAndFlush(frame, promise: nil)
        }
    }

    /// Closes every client connection (the server keeps listening).
    func closeConnections() {
        let channels = self.state.withLock { Array($0.connections.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Stops listening and closes every connection.
    func stop() async {
        self.closeConnections()
        try? await self.serverChannel.close()
    }

    // MARK: - Called by the connection handler on its event loop

    fileprivate func connected(_ channel: any Channel) {
        self.state.withLock { $0.connections[ObjectIdentifier(channel)] = channel }
    }

    fileprivate func disconnected(_ channel: any Channel) {
        self.state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Records `header` and decides the reply.
    fileprivate func reply(to header: KafkaRequestHeader, _ request: KafkaRequest) -> FakeBrokerReply {
        let (script, versions, apiVersionsMax) = self.state.withLock { state in
            state.received.append(header)
            return (state.script, state.advertisedVersions, state.apiVersionsMaxVersion)
        }
        guard case .apiVersions = request else {
            return script(FakeBrokerRequest(nodeID: self.nodeID, header: header, request: request))
        }
        if header.apiVersion > apiVersionsMax {
            let own = versions.filter { $0.apiKey == KafkaAPIKey.apiVersions.rawValue }
            return .respond(ApiVersionsResponse(errorCode: KafkaErrorCode.unsupportedVersion.rawValue, apiKeys: own))
        }
        return .respond(ApiVersionsResponse(apiKeys: versions))
    }

    fileprivate func hold(_ frame: ByteBuffer, on channel: any Channel) {
        self.state.withLock { $0.held.append((channel, frame)) }
    }

    /// Encodes `response` answering `header`; ApiVersions with an error goes in a v0 body.
    static func encode(_ response: any KafkaResponseMessage, answering header: KafkaRequestHeader) throws -> ByteBuffer {
        var version = header.apiVersion
        if let apiVersions = response as? ApiVersionsResponse, apiVersions.errorCode != 0 { version = 0 }
        return try self.encode(response, correlationID: header.correlationId, version: version)
    }

    private static func encode<R: KafkaResponseMessage>(_ response: R, correlationID: Int32, version: Int16) throws -> ByteBuffer {
        try KafkaFrame.encodeResponse(response, header: KafkaResponseHeader(correlationId: correlationID), version: version)
    }
}

/// A value set once after the closures that read it were created (a server's child initializer
/// needs the broker object made after binding; a fake cluster's script needs the cluster).
final class LateBinding<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    var value: Value? {
        get { self.storage.withLock { $0 } }
        set { self.storage.withLock { $0 = newValue } }
    }
}

/// Per connection: decodes requests and carries out the script's replies.
private final class FakeBrokerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let broker: FakeBroker

    init(broker: FakeBroker) {
        self.broker = broker
    }

    func channelActive(context: ChannelHandlerContext) {
        self.broker.connected(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.broker.disconnected(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = self.unwrapInboundIn(data)
        guard let (header, request) = try? KafkaRequest.decode(frame: &frame) else {
            context.close(promise: nil)
            return
        }
        switch self.broker.reply(to: header, request) {
        case .respond(let response):
            guard let bytes = try? FakeBroker.encode(response, answering: header) else {
                context.close(promise: nil)
                return
            }
            context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
        case .hold(let response):
            guard let bytes = try? FakeBroker.encode(response, answering: header) else {
                context.close(promise: nil)
                return
            }
            self.broker.hold(bytes, on: context.channel)
        case .drop:
            break
        case .close:
            context.close(promise: nil)
        }
    }
}

/// Several fake brokers forming one "cluster": each answers Metadata from a shared leader table
/// (every broker listed, topics with partitions led by the nodes the table names) and FindCoordinator
/// with node ``coordinator``; other requests go to the test's script.
final class FakeCluster: Sendable {
    let brokers: [FakeBroker]
    private let table: Mutex<(leaders: [String: [Int32]], epochs: [String: [Int32]], coordinator: Int32)>

    /// Starts `nodes` fake brokers with node ids 1...nodes; `leaders` maps each topic to the leader
    /// node of each partition.
    static func start(nodes: Int, leaders: [String: [Int32]], script: @escaping FakeBroker.Script) async throws -> FakeCluster {
        var brokers: [FakeBroker] = []
        for nodeID in 1...nodes {
            brokers.append(try await FakeBroker.start(nodeID: Int32(nodeID)))
        }
        let cluster = FakeCluster(brokers: brokers, leaders: leaders)
        for broker in brokers {
            broker.setScript { [cluster] request in
                switch request.request {
                case .metadata(let metadata): .respond(cluster.metadataResponse(for: metadata))
                case .findCoordinator(let find): .respond(cluster.findCoordinatorResponse(for: find, version: request.header.apiVersion))
                default: script(request)
                }
            }
        }
        return cluster
    }

    private init(brokers: [FakeBroker], leaders: [String: [Int32]]) {
        self.brokers = brokers
        let epochs = leaders.mapValues { $0.map { _ in Int32(0) } }
        self.table = Mutex((leaders, epochs, brokers.first?.nodeID ?? 0))
    }

    /// The bootstrap list: every broker's address.
    var addresses: [KafkaBrokerAddress] { self.brokers.map(\.address) }

    func broker(_ nodeID: Int32) -> FakeBroker? { self.brokers.first { $0.nodeID == nodeID } }

    /// The current leader of `topic`/`partition`.
    func leader(topic: String, partition: Int32) -> Int32? {
        self.table.withLock { table in
            guard let leaders = table.leaders[topic], leaders.indices.contains(Int(partition)) else { return nil }
            return leaders[Int(partition)]
        }
    }

    /// Moves the leadership of `topic`/`partition` to `nodeID` and bumps its leader epoch.
    func moveLeader(topic: String, partition: Int32, to nodeID: Int32) {
        self.table.withLock { table in
            table.leaders[topic]?[Int(partition)] = nodeID
            table.epochs[topic]?[Int(partition)] += 1
        }
    }

    /// Makes `nodeID` the group coordinator.
    func setCoordinator(_ nodeID: Int32) {
        self.table.withLock { $0.coordinator = nodeID }
    }

    func stop() async {
        for broker in self.brokers { await broker.stop() }
    }

    private func metadataResponse(for request: MetadataRequest) -> MetadataResponse {
        let (leaders, epochs) = self.table.withLock { ($0.leaders, $0.epochs) }
        let names = request.topics.map { $0.compactMap(\.name) } ?? leaders.keys.sorted()
        let brokers = self.brokers.map {
            MetadataResponse.MetadataResponseBroker(nodeId: $0.nodeID, host: $0.address.host, port: Int32($0.address.port))
        }
        let topics = names.map { name -> MetadataResponse.MetadataResponseTopic in
            guard let partitionLeaders = leaders[name] else {
                return .init(errorCode: KafkaErrorCode.unknownTopicOrPartition.rawValue, name: name)
            }
            let partitions = partitionLeaders.enumerated().map { index, leader in
                MetadataResponse.MetadataResponsePartition(
                    partitionIndex: Int32(index), leaderId: leader, leaderEpoch: epochs[name]?[index] ?? 0,
                    replicaNodes: [leader], isrNodes: [leader])
            }
            return .init(name: name, partitions: partitions)
        }
        return MetadataResponse(brokers: brokers, controllerId: self.brokers.first?.nodeID ?? -1, topics: topics)
    }

    private func findCoordinatorResponse(for request: FindCoordinatorRequest, version: Int16) -> FindCoordinatorResponse {
        let nodeID = self.table.withLock { $0.coordinator }
        guard let broker = self.broker(nodeID) else {
            return FindCoordinatorResponse(errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue)
        }
        let host = broker.address.host
        let port = Int32(broker.address.port)
        if version >= 4 {
            return FindCoordinatorResponse(
                coordinators: request.coordinatorKeys.map { .init(key: $0, nodeId: nodeID, host: host, port: port) })
        }
        return FindCoordinatorResponse(nodeId: nodeID, host: host, port: port)
    }
}
