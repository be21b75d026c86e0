import Testing

@Test func placeholder_CLIPImageTests() {}
