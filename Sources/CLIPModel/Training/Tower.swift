import CLIPWeights

// Which checkpoint keys belong to which tower (OpenAI clip/model.py: `visual.*` is the image
// tower; token_embedding, positional_embedding, transformer, ln_final and text_projection the
// text tower; logit_scale belongs to neither). Locking a tower (LiT, Zhai et al. 2022) keeps
// its parameters constant; it is said once, when the model is built.

extension CLIP {
    /// One of the two encoders of a CLIP model.
    ///
    /// ```swift
    /// CLIP.Tower.image.keyPrefixes   // ["visual."]
    /// let model = try CLIP(configuration: .preset("ViT-B-32")!, seed: 0, lockedTowers: [.image])   // LiT
    /// model.lockedTowers             // [.image]
    /// ```
    public enum Tower: String, Codable, Sendable, CaseIterable, Comparable {
        case image
        case text

        /// The OpenAI checkpoint key prefixes of the tower's parameters.
        public var keyPrefixes: [String] {
            switch self {
            case .image: ["visual."]
            case .text: ["token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection"]
            }
        }

        /// Whether the checkpoint key `key` belongs to this tower.
        public func contains(key: String) -> Bool { keyPrefixes.contains { key.hasPrefix($0) } }

        public static func < (a: Tower, b: Tower) -> Bool { a.rawValue < b.rawValue }
    }

    /// A freshly initialised trainable model whose `lockedTowers` stay constant.
    public init(configuration: CLIPConfiguration, seed: UInt64, lockedTowers: Set<Tower>) throws {
        try self.init(
            configuration: configuration, seed: seed, frozenPrefixes: lockedTowers.sorted().flatMap(\.keyPrefixes))
    }

    /// A model built from loaded weights; with `trainable`, every tower except `lockedTowers`
    /// requires gradients.
    public init(
        state: StateDict, configuration: CLIPConfiguration? = nil, activation: Activation? = nil, trainable: Bool,
        lockedTowers: Set<Tower>
    ) throws {
        try self.init(
            state: state, configuration: configuration, activation: activation, trainable: trainable,
            frozenPrefixes: lockedTowers.sorted().flatMap(\.keyPrefixes))
    }

    /// The towers whose parameters do not train: empty for a model not built trainable.
    public var lockedTowers: Set<Tower> {
        guard isTrainable else { return [] }
        return Set(
            Tower.allCases.filter { tower in
                let parameters = namedParameters.filter { tower.contains(key: $0.key) }
                return !parameters.isEmpty && parameters.allSatisfy { !$0.variable.requiresGrad }
            })
    }
}
