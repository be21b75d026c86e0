import CLIPTensor
import Foundation

// OpenAI clip/model.py ModifiedResNet, Bottleneck and AttentionPool2d.
// Symbols: B batch, C channels, H×W feature map, W0 stem width, D = 32·W0 pooled width,
//          E embedding width.

/// A bias-free convolution followed by BatchNorm. For inference the pair is also folded into
/// one convolution with bias, w' = w · γ/√(σ² + ε), b' = β − μ · γ/√(σ² + ε), which saves a
/// pass over every feature map.
struct ConvNorm: Sendable {
    var conv: Conv2d
    var norm: BatchNorm2d
    /// The folded convolution (frozen models only); the weight is dropped where ``winograd``
    /// holds its transform instead (RN50: 45 MB).
    var folded: (weight: Tensor?, bias: Tensor)?
    /// The folded 3×3 weights transformed for the Winograd convolution (frozen models, 3×3
    /// stride 1 padding 1, ≥ 64 channels, where the packed GEMM runs, unless
    /// `CLIP_WINOGRAD=0`): about half a ResNet's multiply-adds are in these convolutions, and
    /// Winograd F(2×2, 3×3) needs 2.25× fewer of them, F(4×4, 3×3) 4× fewer (chosen per layer
    /// for the map it sees: ``WinogradTile/preferred(height:width:)``).
    var winograd: WinogradWeights?

    /// - Parameter map: the side of the square map the convolution sees at the model's image
    ///   size, which chooses the Winograd tile (nil: F(2×2, 3×3)).
    init(
        _ store: ParameterStore, conv: String, norm: String, input: Int, output: Int, kernel: Int,
        stride: Int = 1, padding: Int = 0, map: Int? = nil
    ) throws {
        self.conv = try Conv2d(
            store, conv, input: input, output: output, kernel: kernel, stride: stride, padding: padding)
        self.norm = try BatchNorm2d(store, norm, channels: output)
        if !store.trainable {
            let (weight, bias) = fold()
            // Measured per layer (RN50, 2 threads): 1.2–1.5× the direct convolution from 64
            // channels up; a 32-channel stem's transforms cost more than they save (0.5–0.65×).
            if kernel == 3 && stride == 1 && padding == 1 && input >= ConvNorm.winogradMinimumChannels
                && output >= ConvNorm.winogradMinimumChannels && ConvNorm.usesWinograd
            {
                let tile = ConvNorm.winogradTile ?? map.map { WinogradTile.preferred(height: $0, width: $0) } ?? .two
                winograd = WinogradWeights(weight, tile: tile)
                folded = (nil, bias)
            } else {
                folded = (weight, bias)
            }
        }
    }

    /// Fewest input and output channels for the Winograd path. Task-local, so a test can run
    /// the tiny fixture models (≤ 16 channels) through it against PyTorch without changing the
    /// models other tests load at the same time.
    @TaskLocal static var winogradMinimumChannels = 64

    /// The Winograd tile for every layer instead of the one its map prefers (tests).
    @TaskLocal static var winogradTile: WinogradTile?

    static let usesWinograd =
        WinogradWeights.isAvailable && ProcessInfo.processInfo.environment["CLIP_WINOGRAD"] != "0"

    private func fold() -> (weight: Tensor, bias: Tensor) {
        let gamma = norm.weight.value.scalars, beta = norm.bias.value.scalars
        let mean = norm.statistics.mean.scalars, variance = norm.statistics.variance.scalars
        let output = gamma.count
        var scale = [Float](repeating: 0, count: output), shift = scale
        for o in 0..<output {
            scale[o] = gamma[o] / (variance[o] + 1e-5).squareRoot()
            shift[o] = beta[o] - mean[o] * scale[o]
        }
        let w = conv.weight.value
        let perFilter = w.count / output
        var weights = w.scalars
        for o in 0..<output { for i in 0..<perFilter { weights[o * perFilter + i] *= scale[o] } }
        return (Tensor(shape: w.shape, scalars: weights), Tensor(shape: [output], scalars: shift))
    }

    /// (B, Ci, H, W) → (B, Co, Ho, Wo)
    /// conv → batch norm, then (+ residual) and ReLU when `relu`: one fused pass at inference.
    func callAsFunction(_ x: Variable, training: Bool, relu: Bool = false, residual: Variable? = nil) -> Variable {
        if let folded, !training {
            if let winograd {
                return Variable(
                    Tensor.winogradConvolution(
                        x.value, weights: winograd, bias: folded.bias, activation: relu ? .relu : .none,
                        residual: residual?.value))
            }
        }
        if let folded, let weight = folded.weight, !training {
            return Variable(
                Tensor.conv2d(
                    x.value, weight: weight, bias: folded.bias,
                    stride: (conv.stride, conv.stride), padding: (conv.padding, conv.padding),
                    activation: relu ? .relu : .none, residual: residual?.value))
        }
        var y = norm(conv(x), training: training)
        if let residual { y = y + residual }
        return relu ? Variable.relu(y) : y
    }
}

/// A bottleneck block whose stride is an average pool before the last 1×1 conv, with an
/// avg-pool + 1×1 conv + BN shortcut when shapes change.
public struct Bottleneck: Sendable {
    var conv1: ConvNorm, conv2: ConvNorm, conv3: ConvNorm
    var stride: Int
    var downsample: ConvNorm?

    /// - Parameter map: the side of the block's input map at the model's image size (conv2 sees
    ///   it too: the stride is a pool after conv2).
    init(_ store: ParameterStore, _ prefix: String, inplanes: Int, planes: Int, stride: Int, map: Int) throws {
        conv1 = try ConvNorm(
            store, conv: "\(prefix).conv1", norm: "\(prefix).bn1", input: inplanes, output: planes, kernel: 1)
        conv2 = try ConvNorm(
            store, conv: "\(prefix).conv2", norm: "\(prefix).bn2", input: planes, output: planes, kernel: 3, padding: 1,
            map: map)
        conv3 = try ConvNorm(
            store, conv: "\(prefix).conv3", norm: "\(prefix).bn3", input: planes, output: planes * 4, kernel: 1)
        self.stride = stride
        if stride > 1 || inplanes != planes * 4 {
            downsample = try ConvNorm(
                store, conv: "\(prefix).downsample.0", norm: "\(prefix).downsample.1",
                input: inplanes, output: planes * 4, kernel: 1)
        }
    }

    /// (B, Cin, H, W) → (B, 4·planes, H/stride, W/stride)
    func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        var out = conv1(x, training: training, relu: true)
        out = conv2(out, training: training, relu: true)
        if stride > 1 { out = Variable.avgPool2d(out, kernel: (stride, stride)) }
        var identity = x
        if let downsample {
            if stride > 1 { identity = Variable.avgPool2d(identity, kernel: (stride, stride)) }
            identity = downsample(identity, training: training)
        }
        return conv3(out, training: training, relu: true, residual: identity)
    }
}

/// Multi-head attention pooling: the mean token (plus positional embedding) attends over all
/// positions; only that query's output is computed.
public struct AttentionPool2d: Sendable {
    var positionalEmbedding: Variable  // (H·W + 1, D)
    var q: Linear, k: Linear, v: Linear, c: Linear
    var heads: Int

    init(_ store: ParameterStore, spatial: Int, width: Int, heads: Int, outputDim: Int) throws {
        positionalEmbedding = try store.parameter(
            "visual.attnpool.positional_embedding", shape: [spatial * spatial + 1, width])
        q = try Linear(store, "visual.attnpool.q_proj", input: width, output: width)
        k = try Linear(store, "visual.attnpool.k_proj", input: width, output: width)
        v = try Linear(store, "visual.attnpool.v_proj", input: width, output: width)
        c = try Linear(store, "visual.attnpool.c_proj", input: width, output: outputDim)
        self.heads = heads
        if !store.trainable && k.int8 == nil && v.int8 == nil && AttentionPool2d.foldsKeys {
            keysByHead = SingleQueryAttention.keysByHead(k.weight.value, heads: heads)
        }
    }

    /// Wk regrouped per head for ``SingleQueryAttention`` (frozen float models where the packed
    /// GEMM runs, unless `CLIP_FOLDED_POOL=0`): the pool's one query then never forms the keys
    /// and values of all H·W + 1 positions (RN50: 0.84 GFLOP per image).
    var keysByHead: Tensor?

    static let foldsKeys =
        SingleQueryAttention.isAvailable && ProcessInfo.processInfo.environment["CLIP_FOLDED_POOL"] != "0"

    /// (B, D, H, W) → (B, E)
    func callAsFunction(_ x: Variable) -> Variable {
        let (b, d) = (x.shape[0], x.shape[1])
        let n = x.shape[2] * x.shape[3]
        let tokens = Variable.transpose(Variable.reshape(x, [b, d, n]), 1, 2)  // (B, HW, D)
        let meanToken = Variable.reshape(Variable.mean(tokens, dim: 1), [b, 1, d])  // (B, 1, D)
        let seq = Variable.concatenate([meanToken, tokens], dim: 1) + positionalEmbedding  // (B, HW + 1, D)
        if let keysByHead, !seq.requiresGrad {
            let query = q(Variable.reshape(Variable.slice(seq, dim: 1, range: 0..<1), [b, d]))  // (B, D)
            let attended = SingleQueryAttention.attend(
                query: query.value, x: seq.value, keysByHead: keysByHead, valueWeight: v.weight.value,
                valueBias: v.bias?.value, heads: heads)  // (B, D)
            return c(Variable(attended))  // (B, E)
        }
        let query = q(Variable.slice(seq, dim: 1, range: 0..<1))  // (B, 1, D)
        let attended = Variable.attention(q: query, k: k(seq), v: v(seq), heads: heads, causal: false)  // (B, 1, D)
        return c(Variable.reshape(attended, [b, d]))  // (B, E)
    }
}

/// The modified ResNet image tower: a three-conv stem with average pooling, four stages of
/// bottlenecks, attention pooling.
public struct ModifiedResNet: Sendable {
    var stem: [ConvNorm]
    var stages: [[Bottleneck]]
    var pool: AttentionPool2d

    public init(_ store: ParameterStore, imageSize: Int, layers: [Int], width: Int, heads: Int, embedDim: Int) throws {
        stem = [
            try ConvNorm(
                store, conv: "visual.conv1", norm: "visual.bn1", input: 3, output: width / 2, kernel: 3, stride: 2,
                padding: 1),
            try ConvNorm(
                store, conv: "visual.conv2", norm: "visual.bn2", input: width / 2, output: width / 2, kernel: 3,
                padding: 1),
            try ConvNorm(
                store, conv: "visual.conv3", norm: "visual.bn3", input: width / 2, output: width, kernel: 3, padding: 1),
        ]
        var inplanes = width
        var map = imageSize / 4  // after the stride-2 stem and its 2×2 pool
        stages = []
        for (i, blocks) in layers.enumerated() {
            let planes = width << i
            var stage: [Bottleneck] = []
            for j in 0..<blocks {
                let stride = (i > 0 && j == 0) ? 2 : 1
                stage.append(
                    try Bottleneck(
                        store, "visual.layer\(i + 1).\(j)", inplanes: inplanes, planes: planes, stride: stride,
                        map: map))
                inplanes = planes * 4
                map /= stride
            }
            stages.append(stage)
        }
        pool = try AttentionPool2d(store, spatial: imageSize / 32, width: width * 32, heads: heads, outputDim: embedDim)
    }

    /// Pixels (B, 3, S, S) → unnormalised features (B, E). `training` uses batch statistics in
    /// BatchNorm and updates the running ones.
    public func callAsFunction(_ pixels: Variable, training: Bool = false) -> Variable {
        var x = pixels
        for layer in stem { x = layer(x, training: training, relu: true) }
        x = Variable.avgPool2d(x, kernel: (2, 2))
        for stage in stages { for block in stage { x = block(x, training: training) } }
        return pool(x)
    }
}
