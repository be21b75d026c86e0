import CLIPTensor
import Foundation

// Float64 reference forwards of every differentiable op, written as plainly as possible
// (explicit index loops, no shared code with the kernels) so finite differences of them are
// an independent check of the backward kernels. Semantics follow PyTorch: broadcasting as
// NumPy, biased variance in layer/batch norm, eps 1e-5, F.normalize eps 1e-12.
//   B batch, C channels or width, T tokens, H heads, D head width

enum Ref {
    // MARK: Broadcasting and pointwise

    /// The index of `shape` that broadcasting maps output index `index` to.
    static func broadcastIndex(_ index: [Int], into shape: [Int]) -> [Int] {
        let lead = index.count - shape.count
        return shape.indices.map { d in shape[d] == 1 ? 0 : index[lead + d] }
    }

    /// Row-major offset of `index` in `shape`.
    static func flatOffset(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    static func binary(_ a: DTensor, _ b: DTensor, _ f: (Double, Double) -> Double) -> DTensor {
        let shape = Tensor.broadcastShapes(a.shape, b.shape)
        let values = indices(shape).map { i in
            f(a.at(broadcastIndex(i, into: a.shape)), b.at(broadcastIndex(i, into: b.shape)))
        }
        return DTensor(shape: shape, values: values)
    }

    static func map(_ x: DTensor, _ f: (Double) -> Double) -> DTensor {
        DTensor(shape: x.shape, values: x.values.map(f))
    }

    static func gelu(_ v: Double) -> Double { 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }
    static func quickGELU(_ v: Double) -> Double { v / (1 + Foundation.exp(-1.702 * v)) }

    /// Applies `f` to each row of the last dimension.
    static func rows(_ x: DTensor, _ f: ([Double]) -> [Double]) -> DTensor {
        let n = x.shape.last ?? 1
        var out: [Double] = []
        for r in 0..<(x.values.count / max(n, 1)) { out += f(Array(x.values[r * n..<(r + 1) * n])) }
        return DTensor(shape: x.shape, values: out)
    }

    static func softmax(_ x: DTensor) -> DTensor { rows(x, Naive.softmax) }

    static func sum(_ x: DTensor) -> DTensor { DTensor(shape: [], values: [x.values.reduce(0, +)]) }

    // MARK: Products

    /// (…, M, K) · (…, K, N) with broadcast batch dimensions.
    static func matmul(_ a: DTensor, _ b: DTensor) -> DTensor {
        let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        let batch = Tensor.broadcastShapes(aBatch, bBatch)
        var out: [Double] = []
        for bi in indices(batch) {
            let aBase = flatOffset(broadcastIndex(bi, into: aBatch), aBatch) * m * k
            let bBase = flatOffset(broadcastIndex(bi, into: bBatch), bBatch) * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += a.values[aBase + i * k + p] * b.values[bBase + p * n + j] }
                    out.append(s)
                }
            }
        }
        return DTensor(shape: batch + [m, n], values: out)
    }

    /// x (…, I) · wᵀ (O, I) + bias (O).
    static func linear(_ x: DTensor, _ w: DTensor, _ bias: DTensor?) -> DTensor {
        let (o, i) = (w.shape[0], w.shape[1])
        let rows = x.values.count / i
        var out: [Double] = []
        for r in 0..<rows {
            for j in 0..<o {
                var s = bias?.values[j] ?? 0
                for p in 0..<i { s += x.values[r * i + p] * w.values[j * i + p] }
                out.append(s)
            }
        }
        return DTensor(shape: Array(x.shape.dropLast()) + [o], values: out)
    }

    // MARK: Convolution and pooling

    static func conv2d(_ x: DTensor, _ w: DTensor, _ bias: DTensor?, stride: (Int, Int), padding: (Int, Int)) -> DTensor
    {
        let (b, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let ho = (h + 2 * padding.0 - kh) / stride.0 + 1, wo = (wd + 2 * padding.1 - kw) / stride.1 + 1
        // Flat row-major offsets: finite differences call this thousands of times.
        var out: [Double] = []
        out.reserveCapacity(b * co * ho * wo)
        for n in 0..<b {
            for o in 0..<co {
                for y in 0..<ho {
                    for xx in 0..<wo {
                        var s = bias?.values[o] ?? 0
                        for c in 0..<ci {
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let iy = y * stride.0 - padding.0 + i, ix = xx * stride.1 - padding.1 + j
                                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                                        s +=
                                            x.values[((n * ci + c) * h + iy) * wd + ix]
                                            * w.values[((o * ci + c) * kh + i) * kw + j]
                                    }
                                }
                            }
                        }
                        out.append(s)
                    }
                }
            }
        }
        return DTensor(shape: [b, co, ho, wo], values: out)
    }

    static func avgPool2d(_ x: DTensor, kernel: (Int, Int), stride: (Int, Int)) -> DTensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h - kernel.0) / stride.0 + 1, wo = (w - kernel.1) / stride.1 + 1
        var out: [Double] = []
        for n in 0..<b {
            for ch in 0..<c {
                for y in 0..<ho {
                    for xx in 0..<wo {
                        var s = 0.0
                        for i in 0..<kernel.0 {
                            for j in 0..<kernel.1 {
                                s += x.values[((n * c + ch) * h + y * stride.0 + i) * w + xx * stride.1 + j]
                            }
                        }
                        out.append(s / Double(kernel.0 * kernel.1))
                    }
                }
            }
        }
        return DTensor(shape: [b, c, ho, wo], values: out)
    }

    // MARK: Normalisation

    /// Per-channel batch mean and biased variance of x (B, C, …).
    static func batchStatistics(_ x: DTensor) -> (mean: [Double], variance: [Double]) {
        let c = x.shape[1]
        var groups = [[Double]](repeating: [], count: c)
        for i in indices(x.shape) { groups[i[1]].append(x.at(i)) }
        let mean = groups.map { $0.reduce(0, +) / Double($0.count) }
        let variance = zip(groups, mean).map { g, m in g.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(g.count) }
        return (mean, variance)
    }

    static func batchNorm(
        _ x: DTensor, mean: [Double], variance: [Double], weight: DTensor, bias: DTensor, eps: Double = 1e-5
    ) -> DTensor {
        let values = indices(x.shape).map { i -> Double in
            let c = i[1]
            return (x.at(i) - mean[c]) / (variance[c] + eps).squareRoot() * weight.values[c] + bias.values[c]
        }
        return DTensor(shape: x.shape, values: values)
    }

    static func batchNormTraining(_ x: DTensor, weight: DTensor, bias: DTensor) -> DTensor {
        let (mean, variance) = batchStatistics(x)
        return batchNorm(x, mean: mean, variance: variance, weight: weight, bias: bias)
    }

    static func layerNorm(_ x: DTensor, weight: DTensor, bias: DTensor, eps: Double = 1e-5) -> DTensor {
        rows(x) { row in
            let n = Double(row.count)
            let mean = row.reduce(0, +) / n
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
            return row.indices.map { i in
                (row[i] - mean) / (variance + eps).squareRoot() * weight.values[i] + bias.values[i]
            }
        }
    }

    static func l2Normalized(_ x: DTensor) -> DTensor {
        rows(x) { row in
            let norm = max(row.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
            return row.map { $0 / norm }
        }
    }

    // MARK: Attention

    /// Attention on (B, T, C) tensors, heads split along C; causal keeps keys j ≤ i + Tk − Tq.
    static func attention(q: DTensor, k: DTensor, v: DTensor, heads: Int, causal: Bool) -> DTensor {
        let (b, tq, c) = (q.shape[0], q.shape[1], q.shape[2])
        let tk = k.shape[1], d = c / heads
        var out = [Double](repeating: 0, count: b * tq * c)
        for n in 0..<b {
            for h in 0..<heads {
                for i in 0..<tq {
                    var scores = [Double](repeating: 0, count: tk)
                    for j in 0..<tk {
                        var s = 0.0
                        for p in 0..<d {
                            s += q.values[(n * tq + i) * c + h * d + p] * k.values[(n * tk + j) * c + h * d + p]
                        }
                        scores[j] = causal && j > i + tk - tq ? -.infinity : s / Double(d).squareRoot()
                    }
                    let p = Naive.softmax(scores)
                    for e in 0..<d {
                        var s = 0.0
                        for j in 0..<tk { s += p[j] * v.values[(n * tk + j) * c + h * d + e] }
                        out[(n * tq + i) * c + h * d + e] = s
                    }
                }
            }
        }
        return DTensor(shape: [b, tq, c], values: out)
    }

    // MARK: Layout

    /// out[index] = x[source(index)] for every index of `shape`.
    static func gather(_ x: DTensor, shape: [Int], _ source: ([Int]) -> [Int]) -> DTensor {
        DTensor(shape: shape, values: indices(shape).map { x.at(source($0)) })
    }

    static func reshape(_ x: DTensor, _ shape: [Int]) -> DTensor { DTensor(shape: shape, values: x.values) }

    static func transpose(_ x: DTensor, _ a: Int, _ b: Int) -> DTensor {
        var shape = x.shape
        shape.swapAt(a, b)
        return gather(x, shape: shape) { i in
            var j = i
            j.swapAt(a, b)
            return j
        }
    }

    static func slice(_ x: DTensor, dim: Int, range: Range<Int>) -> DTensor {
        var shape = x.shape
        shape[dim] = range.count
        return gather(x, shape: shape) { i in
            var j = i
            j[dim] += range.lowerBound
            return j
        }
    }

    static func select(_ x: DTensor, dim: Int, index: Int) -> DTensor {
        var shape = x.shape
        shape.remove(at: dim)
        return gather(x, shape: shape) { i in
            var j = i
            j.insert(index, at: dim)
            return j
        }
    }

    static func concatenate(_ parts: [DTensor], dim: Int) -> DTensor {
        var shape = parts[0].shape
        shape[dim] = parts.map { $0.shape[dim] }.reduce(0, +)
        let values = indices(shape).map { i -> Double in
            var j = i, part = 0
            while j[dim] >= parts[part].shape[dim] {
                j[dim] -= parts[part].shape[dim]
                part += 1
            }
            return parts[part].at(j)
        }
        return DTensor(shape: shape, values: values)
    }

    static func broadcast(_ x: DTensor, to shape: [Int]) -> DTensor {
        gather(x, shape: shape) { broadcastIndex($0, into: x.shape) }
    }

    static func mean(_ x: DTensor, dim: Int) -> DTensor {
        var shape = x.shape
        let n = shape.remove(at: dim)
        let values = indices(shape).map { i -> Double in
            (0..<n).reduce(0.0) { s, t in
                var j = i
                j.insert(t, at: dim)
                return s + x.at(j)
            } / Double(n)
        }
        return DTensor(shape: shape, values: values)
    }

    static func embedding(_ weight: DTensor, ids: [Int32], idsShape: [Int]) -> DTensor {
        let c = weight.shape[1]
        return DTensor(shape: idsShape + [c], values: ids.flatMap { id in (0..<c).map { weight.at([Int(id), $0]) } })
    }

    static func gatherRows(_ x: DTensor, indices rows: [Int]) -> DTensor {
        gather(x, shape: [x.shape[0], x.shape[2]]) { i in [i[0], rows[i[0]], i[1]] }
    }

    // MARK: Loss

    /// Mean over rows of −log softmax(logits)[row, target] (a scalar).
    static func crossEntropy(_ logits: DTensor, targets: [Int]) -> DTensor {
        let k = logits.shape[1]
        var total = 0.0
        for (r, t) in targets.enumerated() {
            let row = Array(logits.values[r * k..<(r + 1) * k])
            let m = row.max() ?? 0
            total += m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +)) - row[t]
        }
        return DTensor(shape: [], values: [total / Double(targets.count)])
    }
}
