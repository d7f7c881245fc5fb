/// A composed YAML document as the config reader walks it: scalars keep their text, style and position;
/// mappings keep their entries in document order (duplicates included, so the reader can report them).
indirect enum YAMLNode: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Items)

    /// Where a node starts in the text; `line` and `column` count from 1.
    struct Mark: Sendable, Equatable {
        var line: Int
        var column: Int
    }

    /// How a scalar was written; only plain scalars can be null, booleans or numbers.
    enum Style: Sendable, Equatable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    struct Scalar: Sendable {
        var string: String
        var style: Style
        var mark: Mark
    }

    struct Mapping: Sendable, RandomAccessCollection {
        var entries: [(key: YAMLNode, value: YAMLNode)]
        var mark: Mark
        var startIndex: Int { entries.startIndex }
        var endIndex: Int { entries.endIndex }
        subscript(position: Int) -> (key: YAMLNode, value: YAMLNode) { entries[position] }
    }

    struct Items: Sendable, RandomAccessCollection {
        var nodes: [YAMLNode]
        var mark: Mark
        var startIndex: Int { nodes.startIndex }
        var endIndex: Int { nodes.endIndex }
        subscript(position: Int) -> YAMLNode { nodes[position] }
    }

    /// Where this node starts.
    var mark: Mark? {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(let mapping): mapping.mark
        case .sequence(let items): items.mark
        }
    }

    /// The text of a scalar; nil for mappings and lists.
    var string: String? {
        guard case .scalar(let scalar) = self else { return nil }
        return scalar.string
    }
}
