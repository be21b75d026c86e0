import CLIPTensor
import Foundation

// Parameter initialisation for training from scratch, following OpenAI clip/model.py
// CLIP.initialize_parameters and the PyTorch defaults for everything it leaves alone:
//   token embedding N(0, 0.02²), positional embedding N(0, 0.01²);
//   transformer blocks: in_proj N(0, C⁻¹), out_proj and c_proj N(0, C⁻¹/(2L)), c_fc N(0, (2C)⁻¹)
//   (applied to the vision transformer's blocks too, which OpenAI leaves at PyTorch defaults);
//   ViT class/positional embeddings and proj: C^-½ · N(0, 1) (with `pos_embed_type` sin_cos_2d
//   the positional embedding is open_clip's fixed sine-cosine table); text_projection N(0, C⁻¹);
//   attention pool: q/k/v/c weights N(0, D⁻¹), positional embedding D^-½ · N(0, 1);
//   convolutions and other Linear weights/biases U(±1/√fan_in) (kaiming_uniform, a = √5);
//   norms: weight 1, bias 0; BatchNorm bn3 weights 0 (each residual branch starts as identity);
//   running mean 0, running variance 1; attention biases 0; logit_scale = ln(1/0.07).

/// Deterministic initial values by checkpoint key, so that a parameter's initial value does not
/// depend on construction order.
public struct CLIPInitializer: Sendable {
    public let configuration: CLIPConfiguration
    public let seed: UInt64

    public init(configuration: CLIPConfiguration, seed: UInt64) {
        self.configuration = configuration
        self.seed = seed
    }

    /// The initial tensor for `key` with `shape`.
    public func make(_ key: String, _ shape: [Int]) -> Tensor {
        var rng = KeyedGenerator(seed: seed, key: key)
        let count = Tensor.elementCount(shape)
        func normal(_ std: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<count).map { _ in rng.normal() * std })
        }
        func uniform(_ bound: Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<count).map { _ in rng.uniform(-bound, bound) })
        }
        func constant(_ v: Float) -> Tensor { Tensor(repeating: v, shape: shape) }
        let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : max(shape.first ?? 1, 1)
        let isVision = key.hasPrefix("visual.")
        let width = Float(isVision ? visionWidth : configuration.text.width)
        let layers = Float(isVision ? visionLayers : configuration.text.layers)
        let name = key.split(separator: ".").last.map(String.init) ?? key

        if key == "visual.positional_embedding" && configuration.visionPositionalEmbedding == .sinCos2D {
            return Self.sinCos2DPositionalEmbedding(grid: Int((Double(shape[0] - 1)).squareRoot()), width: shape[1])
        }
        switch key {
        case "logit_scale": return constant(Float(Foundation.log(1 / 0.07)))
        case "token_embedding.weight": return normal(0.02)
        case "positional_embedding": return normal(0.01)
        case "text_projection": return normal(Float(configuration.text.width).squareRoot().reciprocal)
        case "visual.class_embedding", "visual.positional_embedding", "visual.proj":
            return normal(width.squareRoot().reciprocal)
        case "visual.attnpool.positional_embedding": return normal(Float(shape[1]).squareRoot().reciprocal)
        default: break
        }
        if key.hasSuffix("running_mean") { return constant(0) }
        if key.hasSuffix("running_var") { return constant(1) }
        if key.contains(".ln_") || key.hasPrefix("ln_") || key.contains(".bn") || key.contains("downsample.1") {
            if name == "bias" { return constant(0) }
            return constant(key.hasSuffix("bn3.weight") ? 0 : 1)
        }
        if key.contains(".attnpool.") {
            return name == "weight"
                ? normal(Float(shape[1]).squareRoot().reciprocal) : uniform(Float(fanIn).squareRoot().reciprocal)
        }
        if key.contains(".resblocks.") {
            let projStd = width.squareRoot().reciprocal * (2 * layers).squareRoot().reciprocal
            if key.hasSuffix("attn.in_proj_weight") { return normal(width.squareRoot().reciprocal) }
            if key.hasSuffix("attn.out_proj.weight") || key.hasSuffix("mlp.c_proj.weight") { return normal(projStd) }
            if key.hasSuffix("mlp.c_fc.weight") { return normal((2 * width).squareRoot().reciprocal) }
            if key.hasSuffix("in_proj_bias") || key.hasSuffix("out_proj.bias") { return constant(0) }
        }
        // Convolutions and remaining Linear layers: PyTorch's default kaiming_uniform(a = √5).
        return uniform(Float(fanIn).squareRoot().reciprocal)
    }

    /// open_clip's `get_2d_sincos_pos_embed(C, G, cls_token=True)` (MAE's): a zero row for the
    /// class token, then for the patch in row i, column j the C/2 features of column j followed
    /// by the C/2 features of row i, each [sin(p·ω_k) for k] ++ [cos(p·ω_k) for k] with
    /// ω_k = 10000^(−k/(C/4)), k < C/4; computed in Float64 like NumPy, rounded once.
    /// (N + 1, C) with N = G²; C must be a multiple of 4 (``CLIPConfiguration/validate()``).
    public static func sinCos2DPositionalEmbedding(grid g: Int, width c: Int) -> Tensor {
        let quarter = c / 4
        let omega = (0..<quarter).map { 1 / Foundation.pow(10000.0, Double($0) / Double(quarter)) }
        var values = [Float](repeating: 0, count: (g * g + 1) * c)
        for i in 0..<g {
            for j in 0..<g {
                let row = (1 + i * g + j) * c
                for (half, p) in [(0, Double(j)), (1, Double(i))] {
                    for k in 0..<quarter {
                        values[row + half * 2 * quarter + k] = Float(Foundation.sin(p * omega[k]))
                        values[row + half * 2 * quarter + quarter + k] = Float(Foundation.cos(p * omega[k]))
                    }
                }
            }
        }
        return Tensor(shape: [g * g + 1, c], scalars: values)
    }

    private var visionWidth: Int {
        switch configuration.vision {
        case .vit(_, _, let width, _, _): return width
        case .resnet(_, _, let width, _): return width * 32
        }
    }

    private var visionLayers: Int {
        switch configuration.vision {
        case .vit(_, _, _, let layers, _): return layers
        case .resnet: return 1
        }
    }
}

/// The shared SplitMix64 generator, seeded by the run seed and an FNV-1a hash of the key.
struct KeyedGenerator {
    private var random: SeededRandom

    init(seed: UInt64, key: String) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        random = SeededRandom(seed: seed ^ h)
    }

    /// Uniform in [0, 1) with 24 random bits.
    mutating func unit() -> Float { Float(random.next() >> 40) / Float(1 << 24) }

    mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * unit() }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Float {
        let u1 = max(Double(random.next() >> 11) / Double(1 << 53), 1e-300),
            u2 = Double(random.next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

extension Float {
    fileprivate var reciprocal: Float { 1 / self }
}
