import CLIPTensor

// A weight that holds NaN or infinity would give null embeddings with a successful exit, so
// every weight is checked before anything computed from it is returned. fp16 weights read in
// place (OpenAI's releases, for fp32 inference on x86-64) can be checked in one of two passes:
// a scan of their own at load, or the pass of the kernels that read them. The second halves
// what a first embedding reads from memory: the ~176 MB of ViT-B/32's image tower are otherwise
// read once by the scan and again, no longer in any cache, by the first forward. A token
// embedding is read a few rows per prompt: checked as read, the rest is never touched.

/// When ``CLIP`` checks an fp16 checkpoint's weights for NaN and infinity.
///
/// Affected are the fp16 weights that float32 inference reads in place from the mapped file
/// and the token embedding (of which a prompt reads a few rows: OpenAI's ViT-B/32 stores 101 MB
/// of float32 there); every other weight is checked while it is loaded, whatever this says.
public enum WeightCheck: Sendable, Equatable {
    /// Every weight is scanned while the tower is built: a damaged file fails `load` (or the
    /// first use of a tower loaded later). The default.
    case atLoad
    /// Weights read in place are checked by the kernels as they read them, in the same pass.
    /// ``CLIP/encodeImage(_:maxBatch:)`` and ``CLIP/encodeText(_:maxBatch:)`` throw
    /// ``CLIPModelError/nonFiniteWeight(key:)`` naming the tensor instead of returning anything
    /// computed from it; ``CLIP/visual``, ``CLIP/text`` (whose callers get no such check) and
    /// ``CLIP/verifyWeights()`` scan what is still unchecked first. For one-off embeddings
    /// (`clip embed`, a search query): the first embedding comes sooner.
    case whenRead
}

/// The weights of one tower that were not scanned at load (``WeightCheck/whenRead``), by
/// checkpoint key, with the storage their readers report non-finite values to.
struct UncheckedWeights {
    private(set) var entries: [(key: String, storage: TensorStorage)] = []

    var isEmpty: Bool { entries.isEmpty }

    mutating func append(key: String, storage: TensorStorage) { entries.append((key, storage)) }

    /// Throws for the first weight (in construction order) a kernel found a NaN or infinity in.
    func throwIfReadNonFinite() throws {
        for entry in entries where entry.storage.hasReadNonFinite {
            throw CLIPModelError.nonFiniteWeight(key: entry.key)
        }
    }

    /// Scans every weight still unchecked (throwing for the first bad one, in construction
    /// order) and forgets them: they are checked from then on.
    mutating func scanAll() throws {
        for entry in entries where entry.storage.hasReadNonFinite || !entry.storage.valuesAreFinite {
            throw CLIPModelError.nonFiniteWeight(key: entry.key)
        }
        entries = []
    }

    /// The entries whose key `isMine` accepts (one tower's share of a store built for both).
    func filter(_ isMine: (String) -> Bool) -> UncheckedWeights {
        var part = UncheckedWeights()
        part.entries = entries.filter { isMine($0.key) }
        return part
    }
}
