import Testing
@testable import CLIPTextCleaning

@Test func stubCompiles() {
    #expect(CLIPTextCleaner.clean("A") == "a")
}
