import Agent
import Testing

@Suite("Agent config loader")
struct ConfigLoaderTests {
    @Test func placeholder() { #expect(BrokerEndpoint(parsing: "a:1") != nil) }
}
