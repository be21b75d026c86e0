import CLIPTensor
import Foundation

// AdamW (Loshchilov & Hutter), as torch.optim.AdamW computes it:
//   p ← p − lr·wd·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
// with open_clip's parameter groups: no weight decay on gains, biases, 1-D parameters,
// BatchNorm/LayerNorm parameters and the logit scale.

/// AdamW over a model's named parameters.
public final class AdamW {
    /// Hyper-parameters (open_clip's defaults: ViT β2 0.98, ε 1e-6; ResNet β2 0.999, ε 1e-8).
    public struct Hyperparameters: Codable, Sendable, Equatable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.98
        public var epsilon: Float = 1e-6
        public var weightDecay: Float = 0.2

        public init(beta1: Float = 0.9, beta2: Float = 0.98, epsilon: Float = 1e-6, weightDecay: Float = 0.2) {
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }

        /// open_clip's `get_default_params`: ViT models use β2 0.98 and ε 1e-6, others 0.999 and 1e-8.
        public static func openCLIPDefaults(isViT: Bool, weightDecay: Float = 0.2) -> Hyperparameters {
            isViT
                ? Hyperparameters(beta2: 0.98, epsilon: 1e-6, weightDecay: weightDecay)
                : Hyperparameters(beta2: 0.999, epsilon: 1e-8, weightDecay: weightDecay)
        }
    }

    public let hyperparameters: Hyperparameters
    public let parameters: [(key: String, variable: Variable)]
    /// First and second moments by parameter key.
    public private(set) var firstMoments: [String: Tensor] = [:]
    public private(set) var secondMoments: [String: Tensor] = [:]
    /// Completed steps.
    public private(set) var step = 0

    public init(parameters: [(key: String, variable: Variable)], hyperparameters: Hyperparameters) {
        self.parameters = parameters.filter { $0.variable.requiresGrad }
        self.hyperparameters = hyperparameters
    }

    /// open_clip's exclusion rule: `p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n`.
    public static func decays(key: String, shape: [Int]) -> Bool {
        !(shape.count < 2 || key.contains("bn") || key.contains("ln") || key.contains("bias")
            || key.contains("logit_scale"))
    }

    /// One update with learning rate `lr` from each parameter's accumulated `grad`
    /// (parameters without a gradient are left alone).
    public func update(learningRate lr: Float) {
        step += 1
        let h = hyperparameters
        let correction1 = 1 - Foundation.pow(h.beta1, Float(step))
        let correction2Sqrt = (1 - Foundation.pow(h.beta2, Float(step))).squareRoot()
        let stepSize = lr / correction1
        for (key, p) in parameters {
            guard let g = p.grad?.contiguous() else { continue }
            let value = p.value.contiguous().copy()  // the optimiser owns its parameters' memory
            let m = firstMoments[key] ?? Tensor(zeros: value.shape)
            let v = secondMoments[key] ?? Tensor(zeros: value.shape)
            let decay = AdamW.decays(key: key, shape: value.shape) ? lr * h.weightDecay : 0
            let n = value.count
            let pp = SendablePointer(value.baseAddress), gp = SendablePointer(g.baseAddress)
            let mp = SendablePointer(m.baseAddress), vp = SendablePointer(v.baseAddress)
            Parallel.forEach(n, grain: 16_384) { range in
                for i in range {
                    var x = pp.pointer[i]
                    x -= decay * x
                    let gi = gp.pointer[i]
                    let mi = h.beta1 * mp.pointer[i] + (1 - h.beta1) * gi
                    let vi = h.beta2 * vp.pointer[i] + (1 - h.beta2) * gi * gi
                    mp.pointer[i] = mi
                    vp.pointer[i] = vi
                    x -= stepSize * mi / (vi.squareRoot() / correction2Sqrt + h.epsilon)
                    pp.pointer[i] = x
                }
            }
            firstMoments[key] = m
            secondMoments[key] = v
            p.assign(value)
        }
    }

    /// Restores moments and the step count (resuming from a checkpoint).
    public func restore(step: Int, firstMoments: [String: Tensor], secondMoments: [String: Tensor]) {
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}
