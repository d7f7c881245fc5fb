import KafkaProtocol
import Logging
import NIOCore

extension BrokerHandlers {
    /// InitProducerId for idempotent producers: a fresh producer id with epoch 0, or the same id
    /// with the next epoch when the producer re-initialises (KIP-360). Transactional ids are refused.
    func initProducerId(_ request: InitProducerIdRequest, version: Int16) async -> InitProducerIdResponse {
        if request.transactionalId != nil {
            return InitProducerIdResponse(
                errorCode: KafkaErrorCode.transactionalIdAuthorizationFailed.rawValue, producerId: -1, producerEpoch: -1)
        }
        if request.producerId >= 0, request.producerEpoch >= 0, request.producerEpoch < Int16.max {
            return InitProducerIdResponse(errorCode: 0, producerId: request.producerId, producerEpoch: request.producerEpoch + 1)
        }
        do throws(BrokerStoreError) {
            let producerId = try await store.allocateProducerId()
            return InitProducerIdResponse(errorCode: 0, producerId: producerId, producerEpoch: 0)
        } catch {
            return InitProducerIdResponse(errorCode: error.code.rawValue, producerId: -1, producerEpoch: -1)
        }
    }

    /// FindCoordinator: this node coordinates every group; there is no transaction coordinator.
    func findCoordinator(_ request: FindCoordinatorRequest, version: Int16) -> FindCoordinatorResponse {
        let keys = version >= 4 ? request.coordinatorKeys : [request.key]
        let coordinators = keys.map { key -> FindCoordinatorResponse.Coordinator in
            if request.keyType != 0 || groups == nil {
                return .init(
                    key: key, nodeId: -1, host: "", port: -1,
                    errorCode: KafkaErrorCode.coordinatorNotAvailable.rawValue,
                    errorMessage: request.keyType != 0 ? "transactions are not supported" : "no group coordinator")
            }
            return .init(key: key, nodeId: identity.nodeId, host: identity.host, port: identity.port, errorCode: 0)
        }
        var response = FindCoordinatorResponse()
        if version >= 4 {
            response.coordinators = coordinators
        } else if let first = coordinators.first {
            response.errorCode = first.errorCode
            response.errorMessage = first.errorMessage
            response.nodeId = first.nodeId
            response.host = first.host
            response.port = first.port
        }
        return response
    }
}
