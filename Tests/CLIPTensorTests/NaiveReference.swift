import CLIPTensor
import Foundation

// Straightforward Double-precision references the kernels are checked against. They read
// tensors element by element through their strides, independently of the kernels' own
// layout handling.

extension Tensor {
    /// Element at a multi-index, read through the strides.
    func at(_ index: [Int]) -> Double {
        var off = offset
        for (i, s) in zip(index, strides) { off += i * s }
        return Double(storage.base[off])
    }
}

/// All multi-indices of `shape` in row-major order.
func indices(_ shape: [Int]) -> [[Int]] {
    var result: [[Int]] = []
    let n = shape.reduce(1, *)
    result.reserveCapacity(n)
    var idx = [Int](repeating: 0, count: shape.count)
    for _ in 0..<n {
        result.append(idx)
        var d = shape.count - 1
        while d >= 0 {
            idx[d] += 1
            if idx[d] < shape[d] { break }
            idx[d] = 0
            d -= 1
        }
    }
    return result
}

enum Naive {
    static func values(_ t: Tensor) -> [Double] { indices(t.shape).map { t.at($0) } }

    static func matmul2D(_ a: Tensor, _ b: Tensor) -> [Double] {
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += a.at([i, p]) * b.at([p, j]) }
                out[i * n + j] = s
            }
        }
        return out
    }

    static func conv2d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: (Int, Int)) -> [Double] {
        let (b, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let ho = (h + 2 * padding.0 - kh) / stride.0 + 1, wo = (wd + 2 * padding.1 - kw) / stride.1 + 1
        var out: [Double] = []
        for n in 0..<b {
            for o in 0..<co {
                for y in 0..<ho {
                    for xx in 0..<wo {
                        var s = bias.map { $0.at([o]) } ?? 0
                        for c in 0..<ci {
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let iy = y * stride.0 - padding.0 + i, ix = xx * stride.1 - padding.1 + j
                                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                                        s += x.at([n, c, iy, ix]) * w.at([o, c, i, j])
                                    }
                                }
                            }
                        }
                        out.append(s)
                    }
                }
            }
        }
        return out
    }

    static func softmax(_ row: [Double]) -> [Double] {
        let m = row.max() ?? 0
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Attention on (B, T, C) tensors, heads split along C: ``Ref/attention(q:k:v:heads:causal:)``
    /// (the gradient checks' Float64 reference) read through the tensors' strides.
    static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool) -> [Double] {
        Ref.attention(q: DTensor(q), k: DTensor(k), v: DTensor(v), heads: heads, causal: causal).values
    }
}
