import CLIPTensor
import Foundation

/// Draws a ``SyntheticScene`` into an RGB image: a dark, slightly tinted background and
/// `count` non-overlapping shapes inside the scene's region, anti-aliased from signed
/// distances (coverage = clamp(0.5 − d, 0, 1) at each pixel centre).
///
/// ```swift
/// var random = SeededRandom(seed: 7)
/// let rgb = SyntheticRenderer(size: 64).render(scene, random: &random)   // 64 * 64 * 3 bytes
/// ```
/// The output depends only on the scene, the size and the generator's state.
public struct SyntheticRenderer: Sendable {
    /// Side of the square image in pixels.
    public let size: Int

    /// `size` must be at least 16 (a programmer error otherwise: shapes would vanish).
    public init(size: Int) {
        precondition(size >= 16, "synthetic images need at least 16 pixels per side")
        self.size = size
    }

    /// Renders `scene`; `random` supplies the background, colour jitter and placement.
    public func render(_ scene: SyntheticScene, random: inout SeededRandom) -> [UInt8] {
        let side = Double(size)
        // Background: each channel 0...60, so every object colour (white included) stands out.
        let background = (0..<3).map { _ in Double(random.nextInt(in: 0...60)) }
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for i in 0..<(size * size) {
            pixels[3 * i] = UInt8(background[0])
            pixels[3 * i + 1] = UInt8(background[1])
            pixels[3 * i + 2] = UInt8(background[2])
        }
        let nominal = scene.colour.rgb
        let colour = [nominal.r, nominal.g, nominal.b].map {
            Double(min(255, max(0, Int($0) + random.nextInt(in: -15...15))))
        }
        let radius = scene.size.radiusFraction * side * random.nextDouble(in: 0.92, 1.08)
        let centres = place(count: scene.count.rawValue, radius: radius, position: scene.position, random: &random)
        for centre in centres {
            let rotation = random.nextDouble(in: -0.15, 0.15)
            let outline = Self.outline(scene.shape, radius: radius, rotation: rotation)
            draw(outline, centre: centre, radius: radius, colour: colour, into: &pixels)
        }
        return pixels
    }

    /// A shape as a circle or a polygon around the origin, y pointing down.
    enum Outline {
        case circle(Double)
        case polygon([(Double, Double)])
    }

    static func outline(_ shape: SyntheticShape, radius r: Double, rotation: Double) -> Outline {
        func rotated(_ points: [(Double, Double)]) -> Outline {
            let c = cos(rotation), s = sin(rotation)
            return .polygon(points.map { (c * $0.0 - s * $0.1, s * $0.0 + c * $0.1) })
        }
        func regular(_ n: Int, _ radii: [Double], start: Double) -> [(Double, Double)] {
            (0..<n).map { k in
                let angle = start + 2 * Double.pi * Double(k) / Double(n)
                let rr = radii[k % radii.count]
                return (rr * cos(angle), rr * sin(angle))
            }
        }
        switch shape {
        case .circle:
            return .circle(0.9 * r)
        case .square:
            let h = 0.78 * r
            return rotated([(-h, -h), (h, -h), (h, h), (-h, h)])
        case .diamond:
            // Taller than wide, so it never looks like a slightly turned square.
            return rotated([(0, -r), (0.68 * r, 0), (0, r), (-0.68 * r, 0)])
        case .triangle:
            // Equilateral, apex up, centroid at the centre.
            return rotated(regular(3, [r], start: -Double.pi / 2))
        case .star:
            return rotated(regular(10, [r, 0.45 * r], start: -Double.pi / 2))
        case .cross:
            let a = 0.32 * r, b = 0.95 * r
            return rotated([
                (-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a), (-b, a), (-b, -a),
                (-a, -a),
            ])
        }
    }

    /// Centres for `count` shapes of `radius` whose discs do not overlap and lie inside the
    /// position's region, with the group's centroid where the caption says (see
    /// ``centroidFits(_:_:)``): rejection sampling, then an even spread along the region's
    /// long axis.
    func place(
        count: Int, radius: Double, position: SyntheticPosition,
        random: inout SeededRandom
    ) -> [(Double, Double)] {
        let region = position.region
        let side = Double(size)
        let margin = radius + 0.5
        let x0 = region.x0 * side + margin, x1 = max(region.x1 * side - margin, x0)
        let y0 = region.y0 * side + margin, y1 = max(region.y1 * side - margin, y0)
        let minimumDistance = 2 * radius + 1
        for _ in 0..<200 {
            var centres: [(Double, Double)] = []
            var failed = false
            for _ in 0..<count {
                var placed = false
                for _ in 0..<30 {
                    let c = (random.nextDouble(in: x0, x1), random.nextDouble(in: y0, y1))
                    if centres.allSatisfy({ hypot($0.0 - c.0, $0.1 - c.1) >= minimumDistance }) {
                        centres.append(c)
                        placed = true
                        break
                    }
                }
                if !placed {
                    failed = true
                    break
                }
            }
            if !failed {
                let cx = centres.map(\.0).reduce(0, +) / Double(count) / side
                let cy = centres.map(\.1).reduce(0, +) / Double(count) / side
                if Self.centroidFits(position, (cx, cy)) { return centres }
            }
        }
        // Even spread: always inside the region, may touch when the region is too small.
        let horizontal = (x1 - x0) >= (y1 - y0)
        return (0..<count).map { k in
            let t = count == 1 ? 0.5 : Double(k) / Double(count - 1)
            return horizontal ? (x0 + t * (x1 - x0), (y0 + y1) / 2) : ((x0 + x1) / 2, y0 + t * (y1 - y0))
        }
    }

    private func draw(
        _ outline: Outline, centre: (Double, Double), radius: Double, colour: [Double], into pixels: inout [UInt8]
    ) {
        let xs =
            max(
                0, Int((centre.0 - radius - 2).rounded(.down)))...min(
                size - 1, Int((centre.0 + radius + 2).rounded(.up)))
        let ys =
            max(
                0, Int((centre.1 - radius - 2).rounded(.down)))...min(
                size - 1, Int((centre.1 + radius + 2).rounded(.up)))
        for y in ys {
            for x in xs {
                let px = Double(x) + 0.5 - centre.0, py = Double(y) + 0.5 - centre.1
                let distance: Double
                switch outline {
                case .circle(let r): distance = hypot(px, py) - r
                case .polygon(let vertices): distance = Self.signedDistance(px, py, polygon: vertices)
                }
                let coverage = min(1, max(0, 0.5 - distance))
                guard coverage > 0 else { continue }
                let i = (y * size + x) * 3
                for c in 0..<3 {
                    let value = Double(pixels[i + c]) * (1 - coverage) + colour[c] * coverage
                    pixels[i + c] = UInt8(min(255, max(0, value.rounded())))
                }
            }
        }
    }

    /// Whether a group centred at `c` (fractions of the side) reads unambiguously as
    /// `position`: regions overlap (a left group may be high up), so the centroid must be in
    /// the position's wedge between the diagonals, away from the middle; a centred group must
    /// be near the middle.
    static func centroidFits(_ position: SyntheticPosition, _ c: (Double, Double)) -> Bool {
        let dx = c.0 - 0.5, dy = c.1 - 0.5
        let margin = 0.05
        switch position {
        case .center: return abs(dx) <= 0.1 && abs(dy) <= 0.1
        case .left: return -dx >= 0.2 && abs(dy) <= -dx - margin
        case .right: return dx >= 0.2 && abs(dy) <= dx - margin
        case .top: return -dy >= 0.2 && abs(dx) <= -dy - margin
        case .bottom: return dy >= 0.2 && abs(dx) <= dy - margin
        }
    }

    /// Signed distance from (px, py) to a simple polygon: negative inside. The distance is the
    /// nearest edge's; the sign flips at every edge a horizontal ray from the point crosses.
    static func signedDistance(_ px: Double, _ py: Double, polygon v: [(Double, Double)]) -> Double {
        var best = Double.infinity
        var inside = false
        var j = v.count - 1
        for i in 0..<v.count {
            let (ax, ay) = v[j], (bx, by) = v[i]
            let ex = bx - ax, ey = by - ay
            let wx = px - ax, wy = py - ay
            let t = min(1, max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)))
            let dx = wx - ex * t, dy = wy - ey * t
            best = min(best, dx * dx + dy * dy)
            if (ay > py) != (by > py) && px < ax + (py - ay) * ex / ey { inside.toggle() }
            j = i
        }
        return inside ? -best.squareRoot() : best.squareRoot()
    }
}
