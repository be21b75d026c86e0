import CLIPTensor

// OpenAI clip/model.py ModifiedResNet, Bottleneck and AttentionPool2d.
// Symbols: B batch, C channels, H×W feature map, W0 stem width, D = 32·W0 pooled width,
//          E embedding width.

/// A bias-free convolution followed by inference-mode BatchNorm, folded into one convolution
/// with bias at load time: w' = w · γ/√(σ² + ε), b' = β − μ · γ/√(σ² + ε).
struct ConvBN: Sendable {
    var conv: Conv2d

    init(_ store: ParameterStore, conv: String, bn: String, input: Int, output: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0) throws {
        var c = try Conv2d(store, conv, input: input, output: output, kernel: kernel, stride: stride, padding: padding)
        let norm = try BatchNorm2d(store, bn, channels: output)
        let gamma = norm.weight.scalars, beta = norm.bias.scalars
        let mean = norm.runningMean.scalars, variance = norm.runningVar.scalars
        var scale = [Float](repeating: 0, count: output), shift = [Float](repeating: 0, count: output)
        for o in 0..<output {
            scale[o] = gamma[o] / (variance[o] + 1e-5).squareRoot()
            shift[o] = beta[o] - mean[o] * scale[o]
        }
        let perFilter = input * kernel * kernel
        var weights = c.weight.scalars
        for o in 0..<output { for i in 0..<perFilter { weights[o * perFilter + i] *= scale[o] } }
        c.weight = Tensor(shape: c.weight.shape, scalars: weights)
        c.bias = Tensor(shape: [output], scalars: shift)
        self.conv = c
    }

    /// (B, Ci, H, W) → (B, Co, Ho, Wo)
    func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}

/// A bottleneck block whose stride is an average pool before the last 1×1 conv
/// ("anti-aliased" ResNet-D style), with an avg-pool + 1×1 conv + BN shortcut when shapes change.
public struct Bottleneck: Sendable {
    var conv1: ConvBN, conv2: ConvBN, conv3: ConvBN
    var stride: Int
    var downsample: ConvBN?

    init(_ store: ParameterStore, _ prefix: String, inplanes: Int, planes: Int, stride: Int) throws {
        conv1 = try ConvBN(store, conv: "\(prefix).conv1", bn: "\(prefix).bn1", input: inplanes, output: planes, kernel: 1)
        conv2 = try ConvBN(store, conv: "\(prefix).conv2", bn: "\(prefix).bn2", input: planes, output: planes, kernel: 3, padding: 1)
        conv3 = try ConvBN(store, conv: "\(prefix).conv3", bn: "\(prefix).bn3", input: planes, output: planes * 4, kernel: 1)
        self.stride = stride
        if stride > 1 || inplanes != planes * 4 {
            downsample = try ConvBN(store, conv: "\(prefix).downsample.0", bn: "\(prefix).downsample.1",
                                    input: inplanes, output: planes * 4, kernel: 1)
        }
    }

    /// (B, Cin, H, W) → (B, 4·planes, H/stride, W/stride)
    func callAsFunction(_ x: Tensor) -> Tensor {
        var out = Tensor.relu(conv1(x))
        out = Tensor.relu(conv2(out))
        if stride > 1 { out = Tensor.avgPool2d(out, kernel: (stride, stride)) }
        out = conv3(out)
        var identity = x
        if let downsample {
            if stride > 1 { identity = Tensor.avgPool2d(identity, kernel: (stride, stride)) }
            identity = downsample(identity)
        }
        return Tensor.relu(out + identity)
    }
}

/// Multi-head attention pooling: the mean token (plus positional embedding) attends over all
/// positions; only that query's output is computed.
public struct AttentionPool2d: Sendable {
    var positionalEmbedding: Tensor      // (H·W + 1, D)
    var q: Linear, k: Linear, v: Linear, c: Linear
    var heads: Int

    init(_ store: ParameterStore, spatial: Int, width: Int, heads: Int, outputDim: Int) throws {
        positionalEmbedding = try store.tensor("visual.attnpool.positional_embedding", shape: [spatial * spatial + 1, width])
        q = try Linear(store, "visual.attnpool.q_proj", input: width, output: width)
        k = try Linear(store, "visual.attnpool.k_proj", input: width, output: width)
        v = try Linear(store, "visual.attnpool.v_proj", input: width, output: width)
        c = try Linear(store, "visual.attnpool.c_proj", input: width, output: outputDim)
        self.heads = heads
    }

    /// (B, D, H, W) → (B, E)
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, d) = (x.shape[0], x.shape[1])
        let n = x.shape[2] * x.shape[3]
        let tokens = x.reshaped([b, d, n]).transposed(1, 2)                   // (B, HW, D) view
        let meanToken = Tensor.mean(tokens, dim: 1).reshaped([b, 1, d])       // (B, 1, D)
        let seq = Tensor.concatenate([meanToken, tokens], dim: 1) + positionalEmbedding   // (B, HW + 1, D)
        let query = q(seq.sliced(dim: 1, range: 0..<1))                       // (B, 1, D)
        let attended = Tensor.scaledDotProductAttention(q: query, k: k(seq), v: v(seq), heads: heads)   // (B, 1, D)
        return c(attended.reshaped([b, d]))                                    // (B, E)
    }
}

/// The modified ResNet image tower: a three-conv stem with average pooling, four stages of
/// bottlenecks, attention pooling.
public struct ModifiedResNet: Sendable {
    var stem: [ConvBN]
    var stages: [[Bottleneck]]
    var pool: AttentionPool2d

    public init(_ store: ParameterStore, imageSize: Int, layers: [Int], width: Int, heads: Int, embedDim: Int) throws {
        stem = [
            try ConvBN(store, conv: "visual.conv1", bn: "visual.bn1", input: 3, output: width / 2, kernel: 3, stride: 2, padding: 1),
            try ConvBN(store, conv: "visual.conv2", bn: "visual.bn2", input: width / 2, output: width / 2, kernel: 3, padding: 1),
            try ConvBN(store, conv: "visual.conv3", bn: "visual.bn3", input: width / 2, output: width, kernel: 3, padding: 1),
        ]
        var inplanes = width
        stages = []
        for (i, blocks) in layers.enumerated() {
            let planes = width << i
            var stage: [Bottleneck] = []
            for j in 0..<blocks {
                stage.append(try Bottleneck(store, "visual.layer\(i + 1).\(j)", inplanes: inplanes, planes: planes,
                                            stride: (i > 0 && j == 0) ? 2 : 1))
                inplanes = planes * 4
            }
            stages.append(stage)
        }
        pool = try AttentionPool2d(store, spatial: imageSize / 32, width: width * 32, heads: heads, outputDim: embedDim)
    }

    /// Pixels (B, 3, S, S) → unnormalised features (B, E).
    public func callAsFunction(_ pixels: Tensor) -> Tensor {
        var x = pixels
        for layer in stem { x = Tensor.relu(layer(x)) }
        x = Tensor.avgPool2d(x, kernel: (2, 2))
        for stage in stages { for block in stage { x = block(x) } }
        return pool(x)
    }
}
