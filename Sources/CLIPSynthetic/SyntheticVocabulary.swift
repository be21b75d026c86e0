/// The attributes a synthetic scene is made of, with the words captions use for them.
///
/// ```swift
/// SyntheticShape.triangle.noun(plural: true)   // "triangles"
/// SyntheticCount.two.word                      // "two"
/// ```
public enum SyntheticShape: String, CaseIterable, Codable, Sendable {
    case circle, square, triangle, diamond, star, cross

    /// The noun, pluralised for counts above one.
    public func noun(plural: Bool) -> String {
        guard plural else { return rawValue }
        return self == .cross ? "crosses" : rawValue + "s"
    }
}

/// Object colours: far apart in RGB so small anti-aliased shapes stay recognisable.
public enum SyntheticColour: String, CaseIterable, Codable, Sendable {
    case red, green, blue, yellow, purple, orange, cyan, white

    /// The nominal sRGB colour (images jitter it a little).
    public var rgb: (r: UInt8, g: UInt8, b: UInt8) {
        switch self {
        case .red: (220, 40, 40)
        case .green: (40, 180, 60)
        case .blue: (50, 80, 230)
        case .yellow: (235, 220, 50)
        case .purple: (150, 60, 190)
        case .orange: (245, 140, 30)
        case .cyan: (50, 210, 220)
        case .white: (240, 240, 240)
        }
    }
}

/// Object size class: the radius as a fraction of the image side.
public enum SyntheticSize: String, CaseIterable, Codable, Sendable {
    case small, large

    /// Radius (centre to the farthest point) as a fraction of the image side. Small shapes
    /// are about 12 px across at 64 px: at 0.075 (9.6 px) a small square and a small circle
    /// differed in a few anti-aliased corner pixels and were the commonest confusion.
    public var radiusFraction: Double {
        switch self {
        case .small: 0.095
        case .large: 0.135
        }
    }
}

/// Where the objects sit; each has a region of the image that holds all their centres.
public enum SyntheticPosition: String, CaseIterable, Codable, Sendable {
    case left, right, top, bottom, center

    /// The caption phrase ("on the left", "in the center" ...).
    public var phrase: String {
        switch self {
        case .left: "on the left"
        case .right: "on the right"
        case .top: "at the top"
        case .bottom: "at the bottom"
        case .center: "in the center"
        }
    }

    /// The region (x0, y0, x1, y1) in fractions of the side that contains the objects
    /// entirely. Left/right and top/bottom are halves; the centre is the middle 60 %.
    public var region: (x0: Double, y0: Double, x1: Double, y1: Double) {
        switch self {
        case .left: (0.02, 0.05, 0.48, 0.95)
        case .right: (0.52, 0.05, 0.98, 0.95)
        case .top: (0.05, 0.02, 0.95, 0.48)
        case .bottom: (0.05, 0.52, 0.95, 0.98)
        case .center: (0.2, 0.2, 0.8, 0.8)
        }
    }
}

/// How many objects a scene has.
public enum SyntheticCount: Int, CaseIterable, Codable, Sendable {
    case one = 1
    case two = 2
    case three = 3

    /// The caption word: "a" reads better than "one", but captions keep the number explicit.
    public var word: String {
        switch self {
        case .one: "one"
        case .two: "two"
        case .three: "three"
        }
    }
}
