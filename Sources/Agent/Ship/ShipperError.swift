/// Why the agent cannot ship: a setting that cannot be used, or a record the brokers refused for good.
public struct ShipperError: Error, Sendable, CustomStringConvertible {
    /// What failed and where (setting, topic, partition).
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
