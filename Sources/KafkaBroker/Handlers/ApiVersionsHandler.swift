import KafkaProtocol

/// ApiVersions (API key 18), with Kafka's special rules (KIP-511).
enum ApiVersionsHandler {
    /// The answer to a request in a supported version: every advertised range.
    static func response(to request: ApiVersionsRequest, version: Int16) -> ApiVersionsResponse {
        ApiVersionsResponse(errorCode: KafkaErrorCode.none.rawValue, apiKeys: BrokerAPIVersions.advertisedList)
    }

    /// The answer to a request in a version this broker does not know: sent as a v0 response
    /// with `UNSUPPORTED_VERSION` and ApiVersions' own range, so the client retries lower.
    static func unsupportedVersionResponse() -> ApiVersionsResponse {
        let range = BrokerAPIVersions.advertised(.apiVersions)
        return ApiVersionsResponse(
            errorCode: KafkaErrorCode.unsupportedVersion.rawValue,
            apiKeys: [.init(apiKey: KafkaAPIKey.apiVersions.rawValue, minVersion: range.lowerBound, maxVersion: range.upperBound)])
    }
}
