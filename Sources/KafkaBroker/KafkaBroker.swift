// KafkaBroker: Tributary's embedded single-node Kafka-compatible broker.
//
// Storage (`Storage/`): per topic-partition logs of record batches as produced, with sparse
// offset and time indexes, group-committed fsyncs, crash recovery and retention.
// Groups (`Groups/`): the classic consumer-group protocol and committed offsets.
// Network (`Network/`): the Kafka wire protocol over SwiftNIO, one request at a time per
// connection in order, answered by the request handlers.
