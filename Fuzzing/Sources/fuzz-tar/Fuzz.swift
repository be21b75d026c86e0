import FuzzSupport

@testable import CLIPTraining

// The tar shard reader (ustar, GNU long names, PAX path/size records, base-256 sizes), through
// the dataset that groups members into samples. The input is written to a scratch file because
// the reader works with pread on a path.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput.withTemporaryFile(UnsafeRawBufferPointer(start: data, count: size)) { url in
        do {
            let dataset = try TarShardDataset(shards: [url])
            for index in 0..<dataset.count { blackHole(dataset.sample(at: index)) }
        } catch is DataError {
        } catch {
            fatalError("untyped error \(error)")
        }
    }
    return 0
}
