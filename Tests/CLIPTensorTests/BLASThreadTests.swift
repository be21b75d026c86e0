import CLIPTensor
import Testing

/// OpenBLAS starts worker threads when the library loads, and each spins on `sched_yield` for
/// about 2^28 cycles before it sleeps; swift-clip runs BLAS on one thread, so they are joined
/// before `main` (Sources/CBLAS/clip_cblas.c).
@Suite struct BLASThreadTests {
    @Test func openBLASWorkerThreadsAreJoinedAtStart() throws {
        let started = BLAS.workerThreadsStarted
        print("OpenBLAS worker threads started: \(started.map(String.init) ?? "unknown (not OpenBLAS pthread)")")
        // Another BLAS (Accelerate, netlib) has no worker threads to join.
        guard let started else { return }
        #expect(!started)
        // BLAS products still run (one thread) after the workers are gone.
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], scalars: [1, 0, 0, 1, 1, 1])
        #expect(Tensor.matmul(a, b).scalars == [4, 5, 10, 11])
        #expect(BLAS.threadCount == 1)
        // Pinning BLAS to one thread (done before the first BLAS call) does not restart them.
        #expect(BLAS.workerThreadsStarted == false)
    }
}
