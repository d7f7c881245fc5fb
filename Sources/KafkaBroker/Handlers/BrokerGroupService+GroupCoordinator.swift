// The Groups module's coordinator already has the handlers' shape; only `close()` is added.
extension GroupCoordinator: BrokerGroupService {
    /// Answers parked requests and closes the offset store (``GroupCoordinator/shutdown()``).
    public func close() async {
        self.shutdown()
    }
}
