import CLIP
import Foundation

// `mpirun -np N clip embed`: the inputs are split into contiguous shares of whole batches of
// 32 (EmbedCommand.batch), so every rank embeds exactly the batches one process would embed
// and the gathered rows are the same bits as one process's, in input order.

extension EmbedCommand {
    /// This rank's share embedded, and every rank's rows gathered on rank 0 ((N, E) images,
    /// (M, E) texts; empty tensors on the other ranks).
    func embedShares(_ world: MPICommunicator, _ imagePaths: [String], _ texts: [String], _ model: CLIP) throws
        -> (images: Tensor, texts: Tensor)
    {
        let width = model.configuration.embedDim
        var imageRows: [Float] = []
        let imageShare = Self.share(count: imagePaths.count, world)
        try embedImages(Array(imagePaths[imageShare]), model) { _, rows in imageRows += rows.scalars }
        let textShare = Self.share(count: texts.count, world)
        let textRows = textShare.isEmpty ? [] : try embedTexts(Array(texts[textShare]), model).scalars
        let allImages = try world.gather(imageRows) ?? []
        let allTexts = try world.gather(textRows) ?? []
        return (
            Tensor(shape: [allImages.count / width, width], scalars: allImages),
            Tensor(shape: [allTexts.count / width, width], scalars: allTexts)
        )
    }

    /// Rank's items: a contiguous run of whole batches.
    static func share(count: Int, _ world: MPICommunicator) -> Range<Int> {
        let batches = (count + batch - 1) / batch
        let mine = ContiguousShard.range(count: batches, rank: world.rank, worldSize: world.worldSize)
        return min(mine.lowerBound * batch, count)..<min(mine.upperBound * batch, count)
    }

    /// Hands precomputed rows to `emit` a batch at a time, as embedding would.
    static func emitRows(_ rows: Tensor, _ paths: [String], _ emit: ([String], Tensor) throws -> Void) throws {
        for start in stride(from: 0, to: paths.count, by: batch) {
            let end = min(start + batch, paths.count)
            try emit(Array(paths[start..<end]), rows.sliced(dim: 0, range: start..<end).contiguous())
        }
    }
}
