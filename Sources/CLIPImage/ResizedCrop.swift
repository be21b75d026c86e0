/// torchvision's `F.resized_crop` on a PIL image (the heart of `RandomResizedCrop`), then
/// `convert("RGB")`: Pillow's `crop` of the box, then `resize((size, size), BICUBIC)` with
/// Pillow's own rules per mode (nearest for `1`/`P`, premultiplied alpha for `LA`/`RGBA`).
extension CLIPPreprocessor {
    /// The crop `left..<left+width` × `top..<top+height` of `image` resized to `size × size`
    /// and converted to RGB: `size * size * 3` bytes, ready for ``normalize(_:into:)``.
    ///
    /// ```swift
    /// let preprocessor = CLIPPreprocessor(size: 64)
    /// let rgb = preprocessor.resizedCrop(image, top: 4, left: 2, height: 90, width: 100)
    /// ```
    /// The box must lie inside the image (a programmer error otherwise; `RandomResizedCrop`
    /// only draws such boxes).
    public func resizedCrop(_ image: DecodedImage, top: Int, left: Int, height: Int, width: Int) -> [UInt8] {
        precondition(
            top >= 0 && left >= 0 && height > 0 && width > 0
                && top + height <= image.height && left + width <= image.width,
            "crop box outside the image")
        let bpp = image.mode.bytesPerPixel
        var pixels = [UInt8](repeating: 0, count: width * height * bpp)
        for y in 0..<height {
            let s = ((top + y) * image.width + left) * bpp
            pixels.replaceSubrange(
                (y * width * bpp)..<((y + 1) * width * bpp), with: image.pixels[s..<(s + width * bpp)])
        }
        let cropped = DecodedImage(
            mode: image.mode, width: width, height: height, pixels: pixels, palette: image.palette)
        let resized = Self.resize(
            cropped, to: (size, size), window: ResampleWindow(x: 0, y: 0, width: size, height: size))
        return PillowConvert.toRGB(resized, mode: image.mode, palette: image.palette)
    }
}
