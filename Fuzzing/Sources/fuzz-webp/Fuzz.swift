import CLIPImage
import FuzzSupport

// The WebP decoder: see FuzzSupport/ImageDecoderFuzzing.swift.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzImageDecoder(data, size, format: .webp)
}
