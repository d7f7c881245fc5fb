import CYAML

/// Composes YAML text into a `YAMLNode` tree with libyaml's event parser (anchors and aliases resolved).
/// Replaces Yams here: Yams links Foundation, which costs the agent several MB of resident memory.
enum YAMLComposer {
    /// Text that is not YAML, or more than one document: what libyaml reported and where.
    struct SyntaxError: Error, CustomStringConvertible {
        var description: String
    }

    /// The single document in `text`; nil when the text holds no document at all.
    static func compose(_ text: String) throws(SyntaxError) -> YAMLNode? {
        // A trailing NUL keeps the buffer's address valid for empty text; libyaml reads only `count` bytes.
        var bytes = Array(text.utf8)
        bytes.append(0)
        let result: Result<YAMLNode?, SyntaxError> = bytes.withUnsafeMutableBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) != 0 else {
                return .failure(SyntaxError(description: "libyaml could not allocate a parser"))
            }
            defer { yaml_parser_delete(&parser) }
            guard let base = buffer.baseAddress else { return .success(nil) }
            yaml_parser_set_input_string(&parser, base, buffer.count - 1)
            var builder = TreeBuilder()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) != 0 else {
                    return .failure(SyntaxError(description: Self.describeParserError(parser)))
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                if let problem = builder.consume(event) { return .failure(SyntaxError(description: problem)) }
            }
            return .success(builder.root)
        }
        return try result.get()
    }

    private static func describeParserError(_ parser: yaml_parser_t) -> String {
        let problem = parser.problem.map { String(cString: $0) } ?? "unreadable input"
        var text = "line \(parser.problem_mark.line + 1), column \(parser.problem_mark.column + 1): \(problem)"
        if let context = parser.context {
            text += " (\(String(cString: context)) started at line \(parser.context_mark.line + 1), column "
                + "\(parser.context_mark.column + 1))"
        }
        return text
    }
}

/// Turns libyaml events into nodes with an explicit stack (no recursion, so deep nesting cannot overflow).
private struct TreeBuilder {
    private enum Open {
        case mapping(YAMLNode.Mapping, pendingKey: YAMLNode?, anchor: String?)
        case sequence(YAMLNode.Items, anchor: String?)
    }

    private var stack: [Open] = []
    private var anchors: [String: YAMLNode] = [:]
    private var documents = 0
    private(set) var root: YAMLNode?

    /// Handles one event; returns a problem description for input this reader does not accept.
    mutating func consume(_ event: yaml_event_t) -> String? {
        let mark = YAMLNode.Mark(line: event.start_mark.line + 1, column: event.start_mark.column + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 { return "line \(mark.line): expected a single document, found a second one" }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = scalar.value.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self)
            } ?? ""
            let node = YAMLNode.scalar(.init(string: text, style: Self.style(scalar.style), mark: mark))
            return complete(node, anchor: Self.string(scalar.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else { return "line \(mark.line): alias *\(name) names no anchor" }
            return complete(node, anchor: nil)
        case YAML_MAPPING_START_EVENT:
            stack.append(.mapping(.init(entries: [], mark: mark), pendingKey: nil,
                                  anchor: Self.string(event.data.mapping_start.anchor)))
        case YAML_SEQUENCE_START_EVENT:
            stack.append(.sequence(.init(nodes: [], mark: mark), anchor: Self.string(event.data.sequence_start.anchor)))
        case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
            switch stack.popLast() {
            case .mapping(let mapping, _, let anchor): return complete(.mapping(mapping), anchor: anchor)
            case .sequence(let items, let anchor): return complete(.sequence(items), anchor: anchor)
            case nil: return "line \(mark.line): unbalanced collection end"
            }
        default:
            break
        }
        return nil
    }

    /// A finished node goes into the collection being built, or becomes the document.
    private mutating func complete(_ node: YAMLNode, anchor: String?) -> String? {
        if let anchor { anchors[anchor] = node }
        guard let top = stack.popLast() else {
            root = node
            return nil
        }
        switch top {
        case .mapping(var mapping, let pendingKey, let anchor):
            if let pendingKey {
                mapping.entries.append((key: pendingKey, value: node))
                stack.append(.mapping(mapping, pendingKey: nil, anchor: anchor))
            } else {
                stack.append(.mapping(mapping, pendingKey: node, anchor: anchor))
            }
        case .sequence(var items, let anchor):
            items.nodes.append(node)
            stack.append(.sequence(items, anchor: anchor))
        }
        return nil
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLNode.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }
}
