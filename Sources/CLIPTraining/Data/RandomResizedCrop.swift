import CLIPImage
import CLIPTensor
import Foundation

/// open_clip's training augmentation (open_clip/transform.py `image_transform(is_train=True)`):
/// torchvision's `RandomResizedCrop(size, scale=(0.9, 1.0), ratio=(3/4, 4/3),
/// interpolation=BICUBIC)`, then `convert("RGB")`, `ToTensor`, `Normalize`. The box is drawn
/// with torchvision's `get_params` algorithm (ten tries of area and log-uniform aspect ratio,
/// then a centred fallback) from a ``SeededRandom`` instead of torch's generator, so runs are
/// reproducible but the boxes are not torch's. The crop and resize are Pillow-exact
/// (``CLIPPreprocessor/resizedCrop(_:top:left:height:width:)``).
///
/// ```swift
/// let crop = RandomResizedCrop()                       // open_clip's defaults
/// var random = SeededRandom(seed: 0, streams: 1, 7)
/// let box = crop.box(width: 640, height: 480, random: &random)
/// ```
public struct RandomResizedCrop: Sendable, Equatable, Codable {
    /// Fraction of the image area the crop covers, drawn uniformly.
    public var scale: ClosedRange<Double>
    /// Aspect ratio (width / height) range, drawn log-uniformly.
    public var ratio: ClosedRange<Double>

    /// open_clip's `AugmentationCfg` defaults: scale (0.9, 1.0), torchvision's ratio (3/4, 4/3).
    public init(scale: ClosedRange<Double> = 0.9...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        precondition(scale.lowerBound > 0 && ratio.lowerBound > 0, "scale and ratio must be positive")
        self.scale = scale
        self.ratio = ratio
    }

    /// A crop box (torchvision's `i, j, h, w`).
    public struct Box: Sendable, Equatable {
        public var top: Int, left: Int, height: Int, width: Int
        public init(top: Int, left: Int, height: Int, width: Int) {
            self.top = top
            self.left = left
            self.height = height
            self.width = width
        }
    }

    /// torchvision's `RandomResizedCrop.get_params`.
    public func box(width: Int, height: Int, random: inout SeededRandom) -> Box {
        let area = Double(width * height)
        let logRatio = (log(ratio.lowerBound), log(ratio.upperBound))
        for _ in 0..<10 {
            let targetArea = area * random.nextDouble(in: scale.lowerBound, scale.upperBound)
            let aspect = exp(random.nextDouble(in: logRatio.0, logRatio.1))
            // Python's round(): half to even.
            let w = Int((targetArea * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((targetArea / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let top = random.nextInt(below: height - h + 1)
                let left = random.nextInt(below: width - w + 1)
                return Box(top: top, left: left, height: h, width: w)
            }
        }
        // Fallback: the largest centred box within the ratio range.
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return Box(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Draws a box and returns the `size × size` RGB crop of `image` (before normalisation).
    public func apply(_ image: DecodedImage, preprocessor: CLIPPreprocessor, random: inout SeededRandom) -> [UInt8] {
        let b = box(width: image.width, height: image.height, random: &random)
        return preprocessor.resizedCrop(image, top: b.top, left: b.left, height: b.height, width: b.width)
    }
}
