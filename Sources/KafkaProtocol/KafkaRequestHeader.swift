public import NIOCore

/// The header in front of every Kafka request body (`RequestHeader.json`).
///
/// Wire layout by header version:
/// * v0: `api_key int16, api_version int16, correlation_id int32` (only ControlledShutdown v0 used
///   it; Tributary never sends it, but it can be read and written);
/// * v1: v0 + `client_id`, a nullable string with an **int16** length even in flexible requests
///   (`"flexibleVersions": "none"`, so old brokers can read any ApiVersions request header);
/// * v2: v1 + a tagged-field section; used by every flexible request version.
public struct KafkaRequestHeader: Hashable, Sendable {
    /// The API of the request that follows.
    public var apiKey: KafkaAPIKey
    /// The version of the request that follows (and of its response).
    public var apiVersion: Int16
    /// Chosen by the client, echoed in the response header; matches responses to requests.
    public var correlationId: Int32
    /// The client's id, for logs and quotas; `nil` is written as a null string. Not in header v0.
    public var clientId: String?
    /// Tagged fields of header v2 this implementation does not know (none are defined for requests
    /// Tributary speaks; Kafka uses them only between brokers).
    public var unknownTaggedFields: [KafkaTaggedField]

    /// Creates a request header.
    public init(
        apiKey: KafkaAPIKey, apiVersion: Int16, correlationId: Int32, clientId: String? = nil,
        unknownTaggedFields: [KafkaTaggedField] = []
    ) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.unknownTaggedFields = unknownTaggedFields
    }

    /// The header version a request of `apiKey` in `apiVersion` uses: 2 for flexible versions, else 1.
    ///
    /// Header v0 was used only by ControlledShutdown v0, which Tributary does not speak.
    public static func headerVersion(apiKey: KafkaAPIKey, apiVersion: Int16) -> Int16 {
        guard let first = apiKey.firstFlexibleVersion, apiVersion >= first else { return 1 }
        return 2
    }

    /// The header version this header is written in (see `headerVersion(apiKey:apiVersion:)`).
    public var headerVersion: Int16 { Self.headerVersion(apiKey: self.apiKey, apiVersion: self.apiVersion) }

    /// Appends the header in `headerVersion` (by default the one its API and version call for).
    ///
    /// - Throws: `KafkaEncodingError` if the client id is longer than 32767 UTF-8 bytes, if tagged
    ///   fields are set in a header version below 2, or if `headerVersion` is not 0, 1 or 2.
    public func encode(into buffer: inout ByteBuffer, headerVersion: Int16? = nil) throws(KafkaEncodingError) {
        let headerVersion = headerVersion ?? self.headerVersion
        guard (0...2).contains(headerVersion) else {
            throw KafkaEncodingError(
                .unsupportedVersion, context: "RequestHeader", detail: "header version \(headerVersion) is outside 0...2")
        }
        let start = buffer.writerIndex
        do throws(KafkaEncodingError) {
            buffer.writeInteger(self.apiKey.rawValue)
            buffer.writeInteger(self.apiVersion)
            buffer.writeInteger(self.correlationId)
            if headerVersion >= 1 {
                try buffer.writeKafkaOptionalStringField(self.clientId, compact: false, nullable: true, field: "clientId")
            }
            if headerVersion >= 2 {
                try buffer.writeKafkaTaggedFieldSection(self.unknownTaggedFields)
            } else if !self.unknownTaggedFields.isEmpty {
                throw KafkaEncodingError.taggedFieldsNotInVersion(headerVersion)
            }
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error.within("RequestHeader v\(headerVersion)")
        }
    }

    /// Reads a request header written in `headerVersion`.
    ///
    /// - Throws: `KafkaDecodingError` on short input, an API key this module does not know
    ///   (`.invalidValue`), or a bad client id; the reader index is put back.
    public init(from buffer: inout ByteBuffer, headerVersion: Int16) throws(KafkaDecodingError) {
        guard (0...2).contains(headerVersion) else {
            throw KafkaDecodingError(
                .unsupportedVersion, context: "RequestHeader", detail: "header version \(headerVersion) is outside 0...2")
        }
        let start = buffer.readerIndex
        do throws(KafkaDecodingError) {
            let prefix = try KafkaRequestHeaderPrefix(from: &buffer)
            guard let apiKey = KafkaAPIKey(rawValue: prefix.apiKey) else {
                throw KafkaDecodingError(.invalidValue, context: "requestApiKey", detail: "unknown API key \(prefix.apiKey)")
            }
            try self.init(prefix: prefix, apiKey: apiKey, from: &buffer, headerVersion: headerVersion)
        } catch {
            buffer.moveReaderIndex(to: start)
            throw error.within("RequestHeader v\(headerVersion)")
        }
    }

    /// Reads what follows the fixed prefix: client id (v1+) and tagged fields (v2).
    init(
        prefix: KafkaRequestHeaderPrefix, apiKey: KafkaAPIKey, from buffer: inout ByteBuffer, headerVersion: Int16
    ) throws(KafkaDecodingError) {
        self.init(apiKey: apiKey, apiVersion: prefix.apiVersion, correlationId: prefix.correlationId)
        if headerVersion >= 1 {
            self.clientId = try buffer.readKafkaNullableString(compact: false, field: "clientId")
        }
        if headerVersion >= 2 {
            try buffer.readKafkaUnknownTaggedFields(into: &self.unknownTaggedFields)
        }
    }
}

/// The fixed first 8 bytes of every request header: API key, API version, correlation id.
///
/// They are readable before the API key is known to be valid, so a broker can answer a request it
/// cannot decode (see `KafkaDecodingError.requestHeaderPrefix`).
public struct KafkaRequestHeaderPrefix: Hashable, Sendable {
    /// The raw API key, which may be one this module does not know.
    public var apiKey: Int16
    /// The requested API version, which may be one this module does not support.
    public var apiVersion: Int16
    /// The request's correlation id.
    public var correlationId: Int32

    /// Creates a prefix from its three fields.
    public init(apiKey: Int16, apiVersion: Int16, correlationId: Int32) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationId = correlationId
    }

    /// Reads the 8-byte prefix.
    ///
    /// - Throws: `KafkaDecodingError.truncated` if fewer than 8 bytes remain; nothing is consumed then.
    public init(from buffer: inout ByteBuffer) throws(KafkaDecodingError) {
        guard buffer.readableBytes >= 8 else {
            throw KafkaDecodingError(
                .truncated, context: "requestHeader",
                detail: "a request header needs at least 8 bytes, \(buffer.readableBytes) left")
        }
        self.apiKey = buffer.readInteger(as: Int16.self)!
        self.apiVersion = buffer.readInteger(as: Int16.self)!
        self.correlationId = buffer.readInteger(as: Int32.self)!
    }
}

/// The header in front of every Kafka response body (`ResponseHeader.json`).
///
/// v0 is the correlation id; v1 (flexible responses) adds a tagged-field section. ApiVersions
/// responses always use v0, whatever their version (KIP-511): a client that does not yet know
/// the broker's versions must be able to read the header.
public struct KafkaResponseHeader: Hashable, Sendable {
    /// The correlation id of the request this answers.
    public var correlationId: Int32
    /// Tagged fields of header v1 this implementation does not know.
    public var unknownTaggedFields: [KafkaTaggedField]

    /// Creates a response header.
    public init(correlationId: Int32, unknownTaggedFields: [KafkaTaggedField] = []) {
        self.correlationId = correlationId
        self.unknownTaggedFields = unknownTaggedFields
    }

    /// The header version of a response of `apiKey` in `apiVersion`: 1 for flexible versions, else 0,
    /// and always 0 for ApiVersions.
    public static func headerVersion(apiKey: KafkaAPIKey, apiVersion: Int16) -> Int16 {
        if apiKey == .apiVersions { return 0 }
        guard let first = apiKey.firstFlexibleVersion, apiVersion >= first else { return 0 }
        return 1
    }

    /// Appends the header in `headerVersion` (0 or 1).
    ///
    /// - Throws: `KafkaEncodingError` if tagged fields are set in v0 or the version is not 0 or 1.
    public func encode(into buffer: inout ByteBuffer, headerVersion: Int16) throws(KafkaEncodingError) {
        guard (0...1).contains(headerVersion) else {
            throw KafkaEncodingError(
                .unsupportedVersion, context: "ResponseHeader", detail: "header version \(headerVersion) is outside 0...1")
        }
        let start = buffer.writerIndex
        do throws(KafkaEncodingError) {
            buffer.writeInteger(self.correlationId)
            if headerVersion >= 1 {
                try buffer.writeKafkaTaggedFieldSection(self.unknownTaggedFields)
            } else if !self.unknownTaggedFields.isEmpty {
                throw KafkaEncodingError.taggedFieldsNotInVersion(headerVersion)
            }
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error.within("ResponseHeader v\(headerVersion)")
        }
    }

    /// Reads a response header written in `headerVersion` (0 or 1).
    ///
    /// - Throws: `KafkaDecodingError` on short or malformed input; the reader index is put back.
    public init(from buffer: inout ByteBuffer, headerVersion: Int16) throws(KafkaDecodingError) {
        guard (0...1).contains(headerVersion) else {
            throw KafkaDecodingError(
                .unsupportedVersion, context: "ResponseHeader", detail: "header version \(headerVersion) is outside 0...1")
        }
        let start = buffer.readerIndex
        do throws(KafkaDecodingError) {
            self.init(correlationId: try buffer.readKafkaInteger(field: "correlationId"))
            if headerVersion >= 1 {
                try buffer.readKafkaUnknownTaggedFields(into: &self.unknownTaggedFields)
            }
        } catch {
            buffer.moveReaderIndex(to: start)
            throw error.within("ResponseHeader v\(headerVersion)")
        }
    }
}
