import CLIPTensor

// Symbols: B batch, T tokens, I input width, O output width.

/// `nn.Linear`: y = x · Wᵀ + b with W stored (O, I).
public struct Linear: Sendable {
    public var weight: Tensor     // (O, I)
    public var bias: Tensor?      // (O)

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// Loads `<prefix>.weight` (and `<prefix>.bias` when `bias`).
    public init(_ store: ParameterStore, _ prefix: String, input: Int, output: Int, bias: Bool = true) throws {
        weight = try store.tensor("\(prefix).weight", shape: [output, input])
        self.bias = bias ? try store.tensor("\(prefix).bias", shape: [output]) : nil
    }

    /// (…, I) → (…, O)
    public func callAsFunction(_ x: Tensor) -> Tensor { Tensor.linear(x, weight: weight, bias: bias) }
}

/// `nn.LayerNorm` over the last dimension with eps 1e-5 (OpenAI's fp32 LayerNorm subclass).
public struct LayerNorm: Sendable {
    public var weight: Tensor     // (C)
    public var bias: Tensor       // (C)

    public init(_ store: ParameterStore, _ prefix: String, width: Int) throws {
        weight = try store.tensor("\(prefix).weight", shape: [width])
        bias = try store.tensor("\(prefix).bias", shape: [width])
    }

    /// (…, C) → (…, C)
    public func callAsFunction(_ x: Tensor) -> Tensor { Tensor.layerNorm(x, weight: weight, bias: bias, eps: 1e-5) }
}

/// `nn.Conv2d` (no groups or dilation) followed by nothing; weights (Co, Ci, kh, kw).
public struct Conv2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public var stride: Int
    public var padding: Int

    public init(_ store: ParameterStore, _ prefix: String, input: Int, output: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = false) throws {
        weight = try store.tensor("\(prefix).weight", shape: [output, input, kernel, kernel])
        self.bias = bias ? try store.tensor("\(prefix).bias", shape: [output]) : nil
        self.stride = stride
        self.padding = padding
    }

    /// (B, Ci, H, W) → (B, Co, Ho, Wo)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }
}

/// `nn.BatchNorm2d` in inference mode (running statistics), eps 1e-5.
public struct BatchNorm2d: Sendable {
    public var weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor

    public init(_ store: ParameterStore, _ prefix: String, channels: Int) throws {
        weight = try store.tensor("\(prefix).weight", shape: [channels])
        bias = try store.tensor("\(prefix).bias", shape: [channels])
        runningMean = try store.tensor("\(prefix).running_mean", shape: [channels])
        runningVar = try store.tensor("\(prefix).running_var", shape: [channels])
        store.skip("\(prefix).num_batches_tracked")
    }

    /// (B, C, H, W) → (B, C, H, W)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.batchNormInference(x, runningMean: runningMean, runningVar: runningVar, weight: weight, bias: bias, eps: 1e-5)
    }
}
