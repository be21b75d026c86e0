import Foundation
import Testing

/// `clip demo`, the README's first command: the bundled model ranks the bundled images.
@Test func demoRanksBundledImagesAgainstCaptions() throws {
    let r = try CLIRunner.run(["demo", "--top", "2"])
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n").map(String.init)
    #expect(lines.first?.hasPrefix("swift-clip demo:") == true, "\(r.stdout)")
    let imageLines = lines.filter { $0.hasSuffix(".png") }
    #expect(imageLines.count >= 4, "\(r.stdout)")
    #expect(lines.contains("best image for each caption:"))
    // Percentages are probabilities: each image's list starts with "  1." and a value ≤ 100.
    #expect(lines.filter { $0.hasPrefix("  1. ") }.count == imageLines.count)

    let custom = try CLIRunner.run([
        "demo", "--caption", "one small red circle", "--caption", "three large blue squares",
    ])
    #expect(custom.status == 0 && custom.stdout.contains("three large blue squares"), "\(custom.stderr)")
}
