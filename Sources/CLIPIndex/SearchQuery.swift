import Foundation

/// A search query: weighted texts and images whose unit embeddings are added or subtracted, as in
/// rclip (`"2:cat" + ./img.jpg - fruit`). The query vector is Σ sign·weight·unit(embedding),
/// normalised again, so the scores are cosines.
///
/// ```swift
/// let query = try SearchQuery(arguments: ["2:cat", "+", "./img.jpg", "-", "fruit"])
/// // terms: +2 text "cat", +1 image ./img.jpg, −1 text "fruit"
/// ```
public struct SearchQuery: Sendable, Equatable {
    public enum Subject: Sendable, Equatable {
        case text(String)
        case image(URL)
    }

    public struct Term: Sendable, Equatable {
        /// Signed weight: `- 2:cat` is −2.
        public var weight: Float
        public var subject: Subject

        public init(weight: Float = 1, subject: Subject) {
            self.weight = weight
            self.subject = subject
        }
    }

    public var terms: [Term]

    public init(terms: [Term]) { self.terms = terms }

    /// Parses command-line terms. `+` and `-` (separate arguments) join terms; a term is an image
    /// when it starts with `./`, `../`, `/` or `~/`, else a text; `W:term` weights it by W.
    /// Adjacent plain words without an operator between them form one text (`a dog` = `"a dog"`).
    /// `images` (from `--image F`) are added with weight 1.
    public init(arguments: [String], images: [String] = []) throws {
        var terms: [Term] = []
        var sign: Float = 1
        var expectTerm = true
        for argument in arguments {
            if argument == "+" || argument == "-" {
                guard !expectTerm || terms.isEmpty else { throw IndexError.badQuery("two operators in a row") }
                sign = argument == "-" ? -1 : 1
                expectTerm = true
                continue
            }
            var (weight, body) = try Self.weighted(argument)
            if body.isEmpty { throw IndexError.badQuery("empty term '\(argument)'") }
            weight *= sign
            let subject = Self.subject(body)
            if !expectTerm, case .text(let previous) = terms.last?.subject, case .text = subject,
                weight == 1, terms.last?.weight == 1 || terms.last?.weight == -1
            {
                terms[terms.count - 1].subject = .text(previous + " " + body)
                continue
            }
            terms.append(Term(weight: weight, subject: subject))
            sign = 1
            expectTerm = false
        }
        if expectTerm && !terms.isEmpty { throw IndexError.badQuery("the query ends with an operator") }
        for image in images { terms.append(Term(weight: 1, subject: .image(Self.imageURL(image)))) }
        guard !terms.isEmpty else { throw IndexError.badQuery("no query terms") }
        self.terms = terms
    }

    /// Whether any term is an image (so the image tower is needed, not only the text tower).
    public var hasImages: Bool { terms.contains { if case .image = $0.subject { true } else { false } } }

    /// The texts to embed, in term order.
    public var texts: [String] { terms.compactMap { if case .text(let t) = $0.subject { t } else { nil } } }

    /// The images to embed, in term order.
    public var images: [URL] { terms.compactMap { if case .image(let u) = $0.subject { u } else { nil } } }

    /// The unit query vector from the embeddings of ``texts`` and ``images`` (in that order,
    /// normalised or not: each is normalised here before weighting).
    public func vector(texts textVectors: [[Float]], images imageVectors: [[Float]]) throws -> [Float] {
        guard textVectors.count == texts.count, imageVectors.count == images.count,
            let width = (textVectors.first ?? imageVectors.first)?.count
        else { throw IndexError.badQuery("one embedding per term is needed") }
        var sum = [Float](repeating: 0, count: width)
        var nextText = 0, nextImage = 0
        for term in terms {
            let v: [Float]
            switch term.subject {
            case .text:
                v = textVectors[nextText]
                nextText += 1
            case .image:
                v = imageVectors[nextImage]
                nextImage += 1
            }
            guard v.count == width else { throw IndexError.dimensionMismatch(expected: width, found: v.count) }
            let norm = max(sqrt(v.reduce(0) { $0 + $1 * $1 }), 1e-12)
            for i in 0..<width { sum[i] += term.weight * v[i] / norm }
        }
        let norm = sqrt(sum.reduce(0) { $0 + $1 * $1 })
        guard norm > 1e-12 else { throw IndexError.badQuery("the terms cancel out (the query vector is zero)") }
        return sum.map { $0 / norm }
    }

    /// `2:cat` → (2, "cat"); `cat` → (1, "cat"). A prefix that is not a number is part of the text.
    static func weighted(_ argument: String) throws -> (Float, String) {
        guard let colon = argument.firstIndex(of: ":"), let weight = Float(argument[..<colon]), weight.isFinite
        else { return (1, argument) }
        return (weight, String(argument[argument.index(after: colon)...]))
    }

    static func subject(_ body: String) -> Subject {
        ["./", "../", "/", "~/"].contains { body.hasPrefix($0) } ? .image(imageURL(body)) : .text(body)
    }

    static func imageURL(_ path: String) -> URL {
        let expanded = path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst(1) : path
        return URL(fileURLWithPath: expanded).standardizedFileURL
    }
}
