import CLIPDistributed
import Testing

@Suite struct ContiguousShardTests {
    @Test(arguments: [
        (10, 3, [0..<4, 4..<7, 7..<10]),
        (4, 4, [0..<1, 1..<2, 2..<3, 3..<4]),
        (2, 4, [0..<1, 1..<2, 2..<2, 2..<2]),
        (0, 2, [0..<0, 0..<0]),
        (7, 1, [0..<7]),
    ])
    func sharesAreContiguousAndInOrder(count: Int, worldSize: Int, expected: [Range<Int>]) {
        #expect(ContiguousShard.ranges(count: count, worldSize: worldSize) == expected)
    }

    @Test func argumentDigestSeesBoundaries() {
        #expect(ArgumentDigest.digest(["ab", "c"]) != ArgumentDigest.digest(["a", "bc"]))
        #expect(ArgumentDigest.digest(["train", "--steps", "5"]) == ArgumentDigest.digest(["train", "--steps", "5"]))
    }

    @Test func noLauncherMeansOneProcessAndNoLibrary() throws {
        #expect(MPILaunch.detect([:]) == nil)
        #expect(try MPICommunicator.join(environment: ["PATH": "/usr/bin"]) == nil)
        #expect(MPILaunch.detect(["OMPI_COMM_WORLD_SIZE": "4"])?.worldSize == 4)
    }

    @Test func launchedWithoutRuntimeIsAClearError() {
        let environment = ["OMPI_COMM_WORLD_SIZE": "2", "CLIP_MPI_LIBRARY": "/nonexistent/libmpi.so.40"]
        #expect {
            _ = try MPICommunicator.join(environment: environment)
        } throws: { error in
            guard case .runtimeMissing(let launcher, _) = error as? MPIError else { return false }
            return launcher.contains("OMPI_COMM_WORLD_SIZE=2")
        }
    }
}
