import CLIPTensor
import CLIPWeights
import Foundation

// Instant start: a model loaded for one tower converts that tower's weights only; the other
// tower stays unread pages of the memory-mapped file until something asks for it, and is then
// built exactly once (under a lock: a server's first image and text requests may race).
// Symbols: as in CLIP.swift.

/// The two towers of a ``CLIP``, each built now or on first use from the checkpoint.
final class LazyTowers: @unchecked Sendable {
    // Safe to share: every mutable field is read and written under `lock`.
    private let lock = NSLock()
    private var image: ImageEncoder?
    private var text: TextEncoder?
    private var imageParts: BuiltParts?
    private var textParts: BuiltParts?
    /// The checkpoint the unbuilt towers come from; nil once both are built (or for a fresh model).
    private var state: StateDict?
    private let configuration: CLIPConfiguration
    /// The arithmetic of the linear layers of towers built from `state`.
    private let precision: Precision
    /// When the fp16 weights of towers built from `state` are checked.
    private let weightCheck: WeightCheck

    /// What building one tower handed out, in construction order.
    struct BuiltParts {
        var parameters: [(key: String, variable: Variable)]
        var statistics: [(prefix: String, statistics: RunningStatistics)]
        /// Weights not scanned at load (``WeightCheck/whenRead``).
        var unchecked = UncheckedWeights()
    }

    /// Both towers already built from one store (training, fresh initialisation, eager loads).
    init(image: ImageEncoder, text: TextEncoder, store: ParameterStore, configuration: CLIPConfiguration) {
        self.image = image
        self.text = text
        self.configuration = configuration
        precision = store.precision
        weightCheck = store.weightCheck
        imageParts = BuiltParts(
            parameters: store.parameters.filter { CLIP.Tower.image.contains(key: $0.key) },
            statistics: store.statistics,
            unchecked: store.uncheckedWeights.filter { CLIP.Tower.image.contains(key: $0) })
        textParts = BuiltParts(
            parameters: store.parameters.filter { CLIP.Tower.text.contains(key: $0.key) }, statistics: [],
            unchecked: store.uncheckedWeights.filter { CLIP.Tower.text.contains(key: $0) })
    }

    /// The towers in `now` built at once (strict for their keys); the others when first used.
    init(
        state: StateDict, configuration: CLIPConfiguration, now: Set<CLIP.Tower>, precision: Precision,
        weightCheck: WeightCheck
    ) throws {
        self.state = state
        self.configuration = configuration
        self.precision = precision
        self.weightCheck = weightCheck
        for tower in CLIP.Tower.allCases.filter(now.contains) { try build(tower) }
    }

    /// Throws ``CLIPModelError/nonFiniteWeight(key:)`` when a kernel met NaN or infinity in
    /// one of `tower`'s weights not scanned at load (call after computing with the tower).
    func throwIfReadNonFinite(_ tower: CLIP.Tower) throws {
        lock.lock()
        defer { lock.unlock() }
        try (tower == .image ? imageParts : textParts)?.unchecked.throwIfReadNonFinite()
    }

    /// Scans `tower`'s weights not scanned at load, if it is built (once: they count as
    /// checked afterwards).
    func scanUnchecked(_ tower: CLIP.Tower) throws {
        lock.lock()
        defer { lock.unlock() }
        switch tower {
        case .image: try imageParts?.unchecked.scanAll()
        case .text: try textParts?.unchecked.scanAll()
        }
    }

    /// The image tower, built on first use.
    func imageEncoder() throws -> ImageEncoder {
        lock.lock()
        defer { lock.unlock() }
        if let image { return image }
        try build(.image)
        return image!
    }

    /// The text tower, built on first use.
    func textEncoder() throws -> TextEncoder {
        lock.lock()
        defer { lock.unlock() }
        if let text { return text }
        try build(.text)
        return text!
    }

    /// The towers built so far.
    var built: Set<CLIP.Tower> {
        lock.lock()
        defer { lock.unlock() }
        return Set([image.map { _ in CLIP.Tower.image }, text.map { _ in CLIP.Tower.text }].compactMap { $0 })
    }

    /// The parameters of the built towers, image tower first (the order of OpenAI's `state_dict()`).
    var parameters: [(key: String, variable: Variable)] {
        lock.lock()
        defer { lock.unlock() }
        return (imageParts?.parameters ?? []) + (textParts?.parameters ?? [])
    }

    /// BatchNorm statistics of the built image tower (ResNets).
    var statistics: [(prefix: String, statistics: RunningStatistics)] {
        lock.lock()
        defer { lock.unlock() }
        return imageParts?.statistics ?? []
    }

    /// Builds `tower` from `state` with a store of its own; every key of the tower's namespace
    /// must be used. Called with `lock` held (or from init).
    private func build(_ tower: CLIP.Tower) throws {
        guard let state else {
            preconditionFailure("a fresh or eagerly loaded model has both towers built")
        }
        switch tower {
        case .image:
            let store = ParameterStore(state)
            store.precision = precision
            store.weightCheck = weightCheck
            image = try CLIP.buildImageEncoder(store, configuration)
            try store.checkAllUsed { CLIP.Tower.image.contains(key: $0) }
            imageParts = BuiltParts(
                parameters: store.parameters, statistics: store.statistics, unchecked: store.uncheckedWeights)
        case .text:
            let loaded = try CLIP.loadTextEncoder(
                state, configuration: configuration.text, embedDim: configuration.embedDim,
                activation: configuration.activation, precision: precision, weightCheck: weightCheck)
            text = loaded.encoder
            textParts = BuiltParts(parameters: loaded.parameters, statistics: [], unchecked: loaded.unchecked)
        }
        // The checkpoint (and its map) is released once nothing is left to build from it;
        // converted tensors own their memory, mapped float32 ones keep their own reference.
        if image != nil && text != nil { self.state = nil }
    }
}
