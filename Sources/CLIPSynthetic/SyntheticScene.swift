/// One synthetic image's content: `count` objects of one shape, colour and size, all in one
/// region; its caption is generated from exactly these attributes.
///
/// ```swift
/// let scene = SyntheticScene(shape: .circle, colour: .red, size: .small, position: .left, count: .two)
/// scene.caption      // "two small red circles on the left"
/// scene.className    // "red circle"
/// ```
public struct SyntheticScene: Hashable, Codable, Sendable {
    public var shape: SyntheticShape
    public var colour: SyntheticColour
    public var size: SyntheticSize
    public var position: SyntheticPosition
    public var count: SyntheticCount

    public init(
        shape: SyntheticShape, colour: SyntheticColour, size: SyntheticSize, position: SyntheticPosition,
        count: SyntheticCount
    ) {
        self.shape = shape
        self.colour = colour
        self.size = size
        self.position = position
        self.count = count
    }

    /// "two small red circles on the left".
    public var caption: String {
        "\(count.word) \(size.rawValue) \(colour.rawValue) \(shape.noun(plural: count != .one)) \(position.phrase)"
    }

    /// The zero-shot class of the scene: its colour and shape ("red circle").
    public var className: String { "\(colour.rawValue) \(shape.rawValue)" }

    /// The colour–shape pair the held-out split is defined on.
    public var combination: SyntheticCombination { SyntheticCombination(colour: colour, shape: shape) }
}

/// A colour–shape pair ("blue triangle"): the unit the held-out split withholds from training.
public struct SyntheticCombination: Hashable, Codable, Sendable, Comparable {
    public var colour: SyntheticColour
    public var shape: SyntheticShape

    public init(colour: SyntheticColour, shape: SyntheticShape) {
        self.colour = colour
        self.shape = shape
    }

    /// "blue triangle".
    public var name: String { "\(colour.rawValue) \(shape.rawValue)" }

    /// Every pair, colours outer, in declaration order.
    public static var all: [SyntheticCombination] {
        SyntheticColour.allCases.flatMap { c in
            SyntheticShape.allCases.map { SyntheticCombination(colour: c, shape: $0) }
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.name < b.name }
}
