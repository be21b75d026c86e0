import CLIPTensor

// Basic layers over autodiff Variables. With a non-trainable store the parameters are
// constants and nothing is recorded, so inference pays nothing for differentiability.
// Symbols: B batch, T tokens, I input width, O output width, C channels.

/// `nn.Linear`: y = x · Wᵀ + b with W stored (O, I).
///
/// With ``int8`` set (a store whose ``ParameterStore/precision`` is `.int8` sets it at load),
/// the forward pass runs in int8 and records no gradient; `weight` keeps the float values.
public struct Linear: Sendable {
    public var weight: Variable  // (O, I)
    public var bias: Variable?  // (O)
    /// The int8 form of `weight` the forward pass uses instead, when set (inference only).
    public var int8: Int8Weights?

    public init(weight: Variable, bias: Variable?, int8: Int8Weights? = nil) {
        self.weight = weight
        self.bias = bias
        self.int8 = int8
    }

    /// Loads `<prefix>.weight` (and `<prefix>.bias` when `bias`).
    public init(_ store: ParameterStore, _ prefix: String, input: Int, output: Int, bias: Bool = true) throws {
        try self.init(
            store, weightKey: "\(prefix).weight", biasKey: bias ? "\(prefix).bias" : nil, input: input, output: output)
    }

    /// Loads the weight (O, I) at `weightKey` and the bias (O) at `biasKey`, quantising the
    /// weight when the store's precision is int8.
    public init(_ store: ParameterStore, weightKey: String, biasKey: String?, input: Int, output: Int) throws {
        weight = try store.parameter(weightKey, shape: [output, input])
        bias = try biasKey.map { try store.parameter($0, shape: [output]) }
        int8 = store.int8Weights(weightKey, weight: weight)
    }

    /// Whether the weight or the bias requires gradients.
    var requiresGrad: Bool { weight.requiresGrad || bias?.requiresGrad == true }

    /// (…, I) → (…, O)
    public func callAsFunction(_ x: Variable) -> Variable {
        if let int8 { return Variable(Tensor.int8Linear(x.value, weights: int8, bias: bias?.value)) }
        return Variable.linear(x, weight: weight, bias: bias)
    }

    /// act(x · Wᵀ + b) + residual, fused into one pass at inference: (…, I) → (…, O), residual (…, O).
    /// An int8 layer runs its int8 product first, then the activation and the residual.
    public func callAsFunction(_ x: Variable, activation: FusedActivation, residual: Variable? = nil) -> Variable {
        guard let int8 else {
            return Variable.linear(x, weight: weight, bias: bias, activation: activation, residual: residual)
        }
        var y = Tensor.int8Linear(x.value, weights: int8, bias: bias?.value)  // (…, O)
        switch activation {
        case .none: break
        case .quickGELU: y = Tensor.quickGELU(y)
        case .gelu: y = Tensor.gelu(y)
        case .relu: y = Tensor.relu(y)
        }
        return Variable(residual.map { y + $0.value } ?? y)
    }
}

/// `nn.LayerNorm` over the last dimension with eps 1e-5 (OpenAI's fp32 LayerNorm subclass).
public struct LayerNorm: Sendable {
    public var weight: Variable  // (C)
    public var bias: Variable  // (C)

    /// Whether the weight or the bias requires gradients.
    var requiresGrad: Bool { weight.requiresGrad || bias.requiresGrad }

    public init(_ store: ParameterStore, _ prefix: String, width: Int) throws {
        weight = try store.parameter("\(prefix).weight", shape: [width])
        bias = try store.parameter("\(prefix).bias", shape: [width])
    }

    /// (…, C) → (…, C)
    public func callAsFunction(_ x: Variable) -> Variable {
        Variable.layerNorm(x, weight: weight, bias: bias, eps: 1e-5)
    }
}

/// `nn.Conv2d` (no groups or dilation); weights (Co, Ci, kh, kw).
public struct Conv2d: Sendable {
    public var weight: Variable
    public var bias: Variable?
    public var stride: Int
    public var padding: Int

    public init(
        _ store: ParameterStore, _ prefix: String, input: Int, output: Int, kernel: Int,
        stride: Int = 1, padding: Int = 0, bias: Bool = false
    ) throws {
        weight = try store.parameter("\(prefix).weight", shape: [output, input, kernel, kernel])
        self.bias = bias ? try store.parameter("\(prefix).bias", shape: [output]) : nil
        self.stride = stride
        self.padding = padding
    }

    /// (B, Ci, H, W) → (B, Co, Ho, Wo)
    public func callAsFunction(_ x: Variable) -> Variable {
        Variable.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }
}

/// `nn.BatchNorm2d`, eps 1e-5, momentum 0.1: batch statistics (and running-statistics updates)
/// when training, running statistics otherwise.
public struct BatchNorm2d: Sendable {
    public var weight: Variable, bias: Variable
    public let statistics: RunningStatistics

    public init(_ store: ParameterStore, _ prefix: String, channels: Int) throws {
        weight = try store.parameter("\(prefix).weight", shape: [channels])
        bias = try store.parameter("\(prefix).bias", shape: [channels])
        statistics = try store.runningStatistics(prefix, channels: channels)
    }

    /// (B, C, H, W) → (B, C, H, W)
    public func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        guard training else {
            return Variable.batchNormInference(
                x, runningMean: statistics.mean, runningVar: statistics.variance,
                weight: weight, bias: bias)
        }
        let count = x.shape[0] * x.shape[2] * x.shape[3]
        return Variable.batchNormTraining(x, weight: weight, bias: bias) { mean, variance in
            statistics.update(batchMean: mean, batchVariance: variance, count: count)
        }
    }
}
